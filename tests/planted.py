"""Planted defects: backends that are wrong on purpose, so tests can show a scenario catches them.

Each factory is a module-level function (picklable by reference, usable by the
harness as ``planted:<name>`` with ``tests/`` on ``PYTHONPATH``) with the
factory signature ``factory(path=..., **options) -> Logger``. Other helpers add
their own planted backends here: add, don't overwrite.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Mapping
from typing import Any

import loggers
from loggers._sink import FileSink
from loggers.sync import SyncBackend

SLEEP_S = 0.001


class SleepyBackend(SyncBackend):
    """``sync`` that sleeps ``SLEEP_S`` inside every call, holding the sink lock: a slow caller path."""

    name = "planted-sleepy"

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        with self._sink.lock:
            time.sleep(SLEEP_S)
        super()._handoff(ts_ns, level, msg, fields)


def sleepy(path: Any = None, **options: Any) -> loggers.Logger:
    """Factory of :class:`SleepyBackend` (options as for ``sync``)."""
    opts = loggers.Options(path=str(path), **options) if path is not None else loggers.Options(**options)
    return SleepyBackend(opts)


def broken(path: Any = None, **options: Any) -> loggers.Logger:
    """A factory that always raises: the harness must turn the cell into a failed-cell record."""
    raise RuntimeError("planted: this backend cannot be created")


def hanging(path: Any = None, **options: Any) -> loggers.Logger:
    """A factory that never returns: the harness's per-cell timeout must end the cell."""
    while True:
        time.sleep(1.0)


# -- planted for the crash / rotation / memory / loop_lag scenarios ----------------------------


class DropEvery100Backend(SyncBackend):
    """``sync`` that claims ``crash_durability = "returned"`` but writes nothing for every 100th call.

    The dropped record is counted in ``stats()["dropped"]`` (so the counters stay
    consistent): the defect is the broken promise, which the crash and rotation
    scenarios must see as lost records.
    """

    name = "planted-drop-every-100"
    crash_durability = "returned"

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        with self._sink.lock:
            calls = getattr(self, "_calls", 0) + 1
            self._calls = calls
            if calls % 100 == 0:
                self._counters.emitted += 1
                self._counters.dropped += 1
                return
        super()._handoff(ts_ns, level, msg, fields)


def drop_every_100(path: Any = None, **options: Any) -> loggers.Logger:
    """Factory of :class:`DropEvery100Backend` (options as for ``sync``)."""
    return DropEvery100Backend(loggers.Options(path=str(path), **options))


def swallows_sigterm(path: Any = None, **options: Any) -> loggers.Logger:
    """``sync``, created with a SIGTERM handler that does nothing installed first: a graceful stop installed
    after it chains to it, and the process survives the signal (the crash scenario must call that a defect).

    Only in the crash scenario's app (the scenario's probe creates one in the test process too)."""
    import signal
    import sys

    main_spec = getattr(sys.modules["__main__"], "__spec__", None)
    if main_spec is not None and main_spec.name == "scenarios._crash_app":
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
    return loggers.create("sync", path, **options)


class _RenamedFileSink(FileSink):
    """A sink whose rotation renames the file but does not reopen it.

    The rest of the batch that triggered the rotation is written into the
    renamed file (``.1``), which so grows past ``max_bytes``; the next batch's
    identity check finds the path gone and opens a new file.
    """

    def _rotate(self) -> None:
        base = self.path
        first_gap = 1
        while first_gap < self.backup_count and os.path.lexists(f"{base}.{first_gap}"):
            first_gap += 1
        for index in range(first_gap - 1, 0, -1):
            os.replace(f"{base}.{index}", f"{base}.{index + 1}")
        os.replace(base, f"{base}.1")
        self.rotations += 1  # planted bug: no self._reopen() here


class RenamedFileBackend(SyncBackend):
    """``sync`` over :class:`_RenamedFileSink`: writes into a renamed file after each rotation."""

    name = "planted-renamed-file"

    def __init__(self, options: loggers.Options) -> None:
        super().__init__(options)
        self._sink.close()
        assert options.path is not None
        self._sink = _RenamedFileSink(
            options.path, max_bytes=options.max_bytes, backup_count=options.backup_count, fsync=options.fsync
        )


def renamed_file(path: Any = None, **options: Any) -> loggers.Logger:
    """Factory of :class:`RenamedFileBackend` (options as for ``sync``)."""
    return RenamedFileBackend(loggers.Options(path=str(path), **options))


class SecondThreadHangsBackend(SyncBackend):
    """``sync`` that hangs forever in any thread other than the first one to log: a library that
    deadlocks as soon as two threads log (like picologging#207). Single-threaded use works."""

    name = "planted-second-thread-hangs"

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        import threading

        first = self.__dict__.setdefault("_first_thread", threading.get_ident())
        if first != threading.get_ident():
            threading.Event().wait()  # never set: this call never returns
        super()._handoff(ts_ns, level, msg, fields)


def second_thread_hangs(path: Any = None, **options: Any) -> loggers.Logger:
    """Factory of :class:`SecondThreadHangsBackend` (options as for ``sync``)."""
    return SecondThreadHangsBackend(loggers.Options(path=str(path), **options))


class ChattyBackend(SyncBackend):
    """``sync`` that writes a line to stderr for every record: failures reported per record, not once per kind."""

    name = "planted-chatty"

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        os.write(2, b"planted-chatty: a report for every record\n")
        super()._handoff(ts_ns, level, msg, fields)


def chatty(path: Any = None, **options: Any) -> loggers.Logger:
    """Factory of :class:`ChattyBackend` (options as for ``sync``)."""
    opts = loggers.Options(path=str(path), **options) if path is not None else loggers.Options(**options)
    return ChattyBackend(opts)


# -- planted regressions for the regression gate (tests/test_regression_gate.py) ---------------------

STALL_ONCE_S = 0.005
STALL_ONCE_AT = 300


_stall_once_calls = itertools.count(1)


class StallOnceBackend(SyncBackend):
    """``sync`` that sleeps ``STALL_ONCE_S`` on the ``STALL_ONCE_AT``-th call made through any of its loggers in
    this process, and never again: one scheduler-like stall (a scenario may use a fresh logger per repetition)."""

    name = "planted-stall-once"

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        if next(_stall_once_calls) == STALL_ONCE_AT:
            time.sleep(STALL_ONCE_S)
        super()._handoff(ts_ns, level, msg, fields)


def stall_once(path: Any = None, **options: Any) -> loggers.Logger:
    """Factory of :class:`StallOnceBackend` (options as for ``sync``)."""
    return StallOnceBackend(loggers.Options(path=str(path), **options))


HICCUP_S = 20e-6
HICCUP_EVERY = 100


class HiccupBackend(SyncBackend):
    """``sync`` that sleeps ``HICCUP_S`` (20 µs asked; the kernel gives ~60 µs) every ``HICCUP_EVERY`` calls:
    a regression that only the tail percentiles show."""

    name = "planted-hiccup"

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        calls = self.__dict__.get("_calls", 0) + 1
        self._calls = calls
        if calls % HICCUP_EVERY == 0:
            time.sleep(HICCUP_S)
        super()._handoff(ts_ns, level, msg, fields)


def hiccup(path: Any = None, **options: Any) -> loggers.Logger:
    """Factory of :class:`HiccupBackend` (options as for ``sync``)."""
    return HiccupBackend(loggers.Options(path=str(path), **options))


EXTRA_BYTES = 20 * 2**20


class BloatedBackend(SyncBackend):
    """``sync`` that holds ``EXTRA_BYTES`` (20 MiB, every page written) from creation to ``close()``."""

    name = "planted-bloated"

    def __init__(self, options: loggers.Options) -> None:
        super().__init__(options)
        self._ballast: bytearray | None = bytearray(b"\x01") * EXTRA_BYTES

    def close(self) -> None:
        self._ballast = None
        super().close()


def bloated(path: Any = None, **options: Any) -> loggers.Logger:
    """Factory of :class:`BloatedBackend` (options as for ``sync``)."""
    return BloatedBackend(loggers.Options(path=str(path), **options))


SLOWER_BY = 0.30
_sync_call_ns: list[float] = []


def _sync_call_cost_ns() -> float:
    """CPU-bound cost of one plain ``sync`` call here (best of five batches of 2000), measured once per process."""
    if not _sync_call_ns:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="logbench-planted-") as tmp:
            log = SyncBackend(loggers.Options(path=os.path.join(tmp, "calibrate.log")))
            best = float("inf")
            for _ in range(5):
                start = time.perf_counter_ns()
                for seq in range(2000):
                    log.info("request handled", seq=seq, user=42, path="/api/orders", status=200)
                best = min(best, (time.perf_counter_ns() - start) / 2000)
            log.close()
        _sync_call_ns.append(best)
    return _sync_call_ns[0]


class SlowerBackend(SyncBackend):
    """``sync`` that spins ``SLOWER_BY`` (30%) of a plain ``sync`` call's measured cost in every call."""

    name = "planted-slower"

    def __init__(self, options: loggers.Options) -> None:
        super().__init__(options)
        self._extra_ns = int(_sync_call_cost_ns() * SLOWER_BY)

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        until = time.perf_counter_ns() + self._extra_ns
        while time.perf_counter_ns() < until:
            pass
        super()._handoff(ts_ns, level, msg, fields)


def slower(path: Any = None, **options: Any) -> loggers.Logger:
    """Factory of :class:`SlowerBackend` (options as for ``sync``)."""
    return SlowerBackend(loggers.Options(path=str(path), **options))
