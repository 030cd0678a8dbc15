"""Fresh-process plumbing for the memory, crash, rotation and loop_lag scenarios.

Every measurement runs in its own process so that no state (imports, caches,
allocator arenas, threads, open files) leaks between measurements:

* :func:`run_child` runs a top-level function in a ``spawn`` child and returns
  its (picklable) result; the backend factory travels pickled.
* :func:`probe` reads a backend's class attributes from one throw-away logger
  (including the verifier hooks ``line_parser`` and ``log_files``).
* :func:`wait_until_quiet` waits for writer processes that outlive the
  application (``subprocess``/``mmap`` backends) before files are counted.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from typing import Any

SPAWN = multiprocessing.get_context("spawn")
Factory = Callable[..., Any]


class ChildFailed(RuntimeError):
    """A measuring child crashed, timed out or raised; the message says which."""


@dataclasses.dataclass(frozen=True)
class BackendInfo:
    """What a scenario needs to know about a backend, read from its class."""

    name: str
    accepts: frozenset[str]
    writes_file: bool
    crash_durability: str
    #: The class's verifier hooks (``Logger.line_parser``, ``Logger.log_files``); None: logbench defaults.
    line_parser: Callable[[bytes], tuple[object, int] | None] | None = None
    log_files: Callable[[str], list[str]] | None = None

    def files_for(self, path: str) -> list[str] | None:
        """The files the backend wrote for ``path``, oldest first; None: let the verifier scan ``path.N``."""
        return None if self.log_files is None else self.log_files(path)

    @property
    def has_queue(self) -> bool:
        """True when the backend takes an overflow policy (it queues records)."""
        return "overflow" in self.accepts

    @property
    def rotates(self) -> bool:
        return self.writes_file and "max_bytes" in self.accepts


def probe(factory: Factory) -> BackendInfo:
    """Create one logger of ``factory`` in a temporary directory, read its class, close it."""
    with tempfile.TemporaryDirectory(prefix="logbench-probe-") as tmp:
        logger = factory(path=os.path.join(tmp, "probe.log"))
        try:
            cls = type(logger)
        finally:
            logger.close()
    return BackendInfo(
        name=str(getattr(cls, "name", "") or cls.__name__),
        accepts=frozenset(getattr(cls, "accepts", frozenset())),
        writes_file=bool(getattr(cls, "writes_file", True)),
        crash_durability=str(getattr(cls, "crash_durability", "flushed")),
        line_parser=getattr(cls, "line_parser", None),
        log_files=getattr(cls, "log_files", None),
    )


def refusal(factory: Factory, **options: Any) -> str | None:
    """None if ``factory`` accepts ``options``; else why it refused them (for a "not supported" record)."""
    with tempfile.TemporaryDirectory(prefix="logbench-probe-") as tmp:
        try:
            logger = factory(path=os.path.join(tmp, "probe.log"), **options)
        except (TypeError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"
        logger.close()
    return None


def run_child(target: Callable[..., Any], *args: Any, timeout: float) -> Any:
    """Run ``target(*args)`` in a fresh spawned process and return its result.

    ``target`` must be a module-level function and ``args`` picklable. The
    child is not daemonic (a backend may start processes of its own).

    Raises:
        ChildFailed: the child raised (message: its traceback), died without
            answering (message: exit code) or did not answer within ``timeout``
            seconds (it and its descendants are then killed).
    """

    def wait(receiver: Connection) -> str | None:
        return None if receiver.poll(timeout) else f"measuring child did not finish within {timeout:g} s (killed)"

    return run_in_child(target, args, wait=wait)


def run_in_child(
    target: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    wait: Callable[[Connection], str | None],
    stuck: type[ChildFailed] = ChildFailed,
    name: str = "logbench-measure",
) -> Any:
    """The one child runner: ``target(*args)`` in a ``spawn`` child, its result back over a pipe.

    ``wait(receiver)`` returns None once the child answered, else why it is stuck: the
    child and its descendants are then killed and ``stuck(reason)`` is raised.

    Raises:
        ChildFailed: stuck (as ``stuck``), raised (message: its traceback) or died without a result.
    """
    receiver, sender = SPAWN.Pipe(duplex=False)
    process = SPAWN.Process(target=_child_main, args=(sender, target, args), name=name)
    process.start()
    sender.close()
    try:
        reason = wait(receiver)
        if reason is not None:
            kill_tree(process.pid)
            raise stuck(reason)
        try:
            ok, payload = receiver.recv()
        except EOFError:
            process.join(5)
            raise ChildFailed(f"measuring child died without a result (exit code {process.exitcode})") from None
    finally:
        process.join(10)
        if process.is_alive():
            kill_tree(process.pid)
            process.join()
        receiver.close()
    if not ok:
        raise ChildFailed(str(payload))
    return payload


def _child_main(sender: Connection, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        result: tuple[bool, Any] = (True, target(*args))
    except BaseException:  # report everything, including SystemExit, to the parent
        result = (False, traceback.format_exc())
    sender.send(result)
    sender.close()


def kill_tree(pid: int | None) -> None:
    """SIGKILL ``pid`` and every descendant (e.g. a backend's writer process)."""
    import signal

    if pid is None:
        return
    for victim in [*descendants(pid), pid]:
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_until_quiet(pids: Iterable[int], directory: str, *, timeout: float = 10.0, settle: float = 0.2) -> bool:
    """Wait until ``pids`` have exited and the files in ``directory`` stopped growing.

    A writer process can keep writing after the application died; counting
    before it is done would report its in-flight records as lost. Returns
    False if ``timeout`` seconds passed first (counting then proceeds anyway).
    """
    deadline = time.monotonic() + timeout
    for pid in pids:
        while _alive(pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
    last = _directory_size(directory)
    stable_since = time.monotonic()
    while time.monotonic() - stable_since < settle:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
        size = _directory_size(directory)
        if size != last:
            last, stable_since = size, time.monotonic()
    return True


def descendants(pid: int) -> list[int]:
    """Process ids of every descendant of ``pid`` (empty if it is gone)."""
    import psutil  # type: ignore[import-untyped, unused-ignore]

    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _alive(pid: int) -> bool:
    import psutil  # type: ignore[import-untyped, unused-ignore]

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _directory_size(directory: str) -> int:
    total = 0
    with os.scandir(directory) as entries:
        for entry in entries:
            try:
                total += entry.stat(follow_symlinks=False).st_size
            except FileNotFoundError:
                pass
    return total


def child_env() -> dict[str, str]:
    """Environment for a ``python -m`` child: this process's ``sys.path`` as ``PYTHONPATH``."""
    import sys

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(entry or os.getcwd() for entry in sys.path)
    return env


def receive_result(proc: Any, receiver: Any, label: str, deadline: float, timeout: float) -> tuple[bool, Any]:
    """One child's ``(ok, payload)`` from its pipe by ``deadline``; ``(False, why)`` if none came.

    A child that sent nothing in time, or whose pipe closed (it died: joined for up to 5 s to read
    its exit code), yields a failure text naming ``label``.
    """
    if not receiver.poll(max(0.0, deadline - time.monotonic())):
        return False, f"{label}: no result within {timeout:g} s"
    try:
        ok, payload = receiver.recv()
    except EOFError:
        proc.join(5)
        return False, f"{label}: died (exit code {proc.exitcode})"
    return bool(ok), payload

