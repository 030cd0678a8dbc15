"""The crash scenario's stop cases: a process pool of the application ends, cleanly or by SIGTERM.

``pool/<method>/close``, ``pool/<method>/terminate``
    A ``multiprocessing.Pool`` started by ``fork``, ``spawn`` or ``forkserver``
    runs every task (each logs ``records`` records), then ``close(); join()``,
    or ``terminate()`` (SIGTERM to every worker, at its default action).
``executor/<method>/shutdown``
    The same tasks in a ``concurrent.futures.ProcessPoolExecutor``, then
    ``shutdown(wait=True)``.
``process/<method>/join``
    One ``multiprocessing.Process`` per task; each returns and is joined.

No case terminates a pool whose workers installed ``drain_on_signals``: an
idle worker is about to block in its task queue's lock when ``terminate()``
comes, and a signal that lands just before that wait is handled only once the
main thread runs Python code again, which an idle worker never does (it hung
``join()`` in about 1 run of 10 here). ``close(); join()`` is the lossless
way to end a pool (``docs/stopping.md``).

The app is :mod:`scenarios._stop_app`. Promise: a clean end (close, shutdown,
join) keeps every record; a SIGTERM left at its
default action is judged like SIGKILL (``crash_durability`` ``"returned"``:
every record, since every call returned before the pool ended; ``"flushed"``:
none, since the tasks never flush). A promised record lost, a torn line (other
than a file ending mid-record after a kill) or a duplicate is a ``defect``.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

from ._proc import BackendInfo, Factory, child_env, descendants, wait_until_quiet
from ._stop_app import StopSpec
from .verify import LineParser, verify_log_files

METHODS = ("fork", "spawn", "forkserver")
POOL_ENDINGS = ("close", "terminate")
STOP_CASES = (
    tuple(f"pool/{method}/{ending}" for method in METHODS for ending in POOL_ENDINGS)
    + tuple(f"executor/{method}/shutdown" for method in METHODS)
    + tuple(f"process/{method}/join" for method in METHODS)
)
#: The quick suite's share (CI time: each case starts an interpreter and its workers, ~0.5-1 s, for every
#: backend and peer): the clean ends that lost records before workers drained on exit, under fork and forkserver
#: (the default from 3.14). The full run covers every case; tests/test_stopping.py every clean end of every backend.
QUICK_STOP_CASES = ("pool/fork/close", "pool/forkserver/close", "executor/forkserver/shutdown")
LOG_NAME = "app.log"


def stop_spec(case: str, factory: Factory, tmp: str, *, workers: int, tasks: int, records: int) -> StopSpec:
    """The app's spec for ``case`` (one of ``STOP_CASES``), its files under ``tmp``."""
    runner, method, ending = case.split("/")
    return StopSpec(
        factory, os.path.join(tmp, "logs", LOG_NAME), os.path.join(tmp, "pids"), runner, method, ending,
        workers=workers, tasks=tasks, records=records,
    )


def run_stop_case(
    factory: Factory,
    info: BackendInfo,
    case: str,
    *,
    workdir: str | None,
    workers: int,
    tasks: int,
    records: int,
    timeout: float,
    parse_line: LineParser | None,
) -> dict[str, Any]:
    """One run of the stop app for ``case``; counts, verdict and a detail text (or ``{"failed": ...}``)."""
    with tempfile.TemporaryDirectory(prefix="logbench-stop-", dir=workdir) as tmp:
        os.makedirs(os.path.join(tmp, "logs"))
        spec = stop_spec(case, factory, tmp, workers=workers, tasks=tasks, records=records)
        spec_path, stderr_path = os.path.join(tmp, "spec.pickle"), os.path.join(tmp, "stderr")
        with open(spec_path, "wb") as file:
            pickle.dump(spec, file)
        start = time.monotonic()
        with open(stderr_path, "wb") as stderr:
            app = subprocess.Popen(
                [sys.executable, "-m", "scenarios._stop_app", spec_path],
                env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
            )
        try:
            app.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(app)
            return {"failed": f"the application did not end within {timeout:g} s (killed with its workers)"}
        took = time.monotonic() - start
        if app.returncode != 0:
            with open(stderr_path, "rb") as file:
                text = file.read()[-2000:].decode(errors="replace")
            return {"failed": f"the application exited with {app.returncode}: {text}"}
        # Every process that could still write is in the pids file: a short settle suffices.
        quiet = wait_until_quiet(_pids(spec.pids_path), os.path.dirname(spec.log_path), timeout=timeout, settle=0.05)
        return _count(info, spec, took, quiet, parse_line)


def _kill_tree(app: subprocess.Popen[bytes]) -> None:
    """SIGKILL the app and every descendant (hung workers would outlive it)."""
    stuck = descendants(app.pid)
    app.kill()
    app.wait()
    for pid in stuck:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _pids(path: str) -> list[int]:
    try:
        with open(path) as file:
            return [int(line) for line in file if line.strip()]
    except FileNotFoundError:
        return []


def _count(
    info: BackendInfo, spec: StopSpec, took: float, quiet: bool, parse_line: LineParser | None
) -> dict[str, Any]:
    logs = os.path.dirname(spec.log_path)
    files = info.files_for(spec.log_path)
    expected: dict[object, int] = {task: spec.records for task in range(spec.tasks)}
    seen = verify_log_files(logs, LOG_NAME, expected, parse_line=parse_line, files=files)
    killed = spec.ending == "terminate"
    if not killed:
        promise, promised_lost = "every record (clean end)", seen.lost
    elif info.crash_durability == "returned":
        promise, promised_lost = "every returned record (SIGTERM at its default action)", seen.lost
    else:
        promise, promised_lost = "no record: nothing was flushed (SIGTERM at its default action)", 0
    cut_by_kill = seen.cut_tails if killed else 0
    defect = bool(promised_lost or seen.torn_lines - cut_by_kill or seen.duplicated)
    total = spec.tasks * spec.records
    detail = (
        f"{spec.runner} of {spec.workers} ({spec.method}), {spec.tasks} tasks x {spec.records} records, "
        f"then {spec.ending} ({took:.2f} s); "
        f"persisted {seen.found} of {total}; lost {seen.lost}; promised ({info.crash_durability}: {promise}) "
        f"and lost {promised_lost}; torn {seen.torn_lines}, duplicated {seen.duplicated}"
    )
    if cut_by_kill:
        detail += f"; {cut_by_kill} file(s) end mid-record: a write cut short by the kill"
    if not quiet:
        detail += "; a writer process was still busy when counting started"
    return {
        "lost": seen.lost, "torn": seen.torn_lines, "duplicates": seen.duplicated, "defect": defect, "detail": detail,
    }
