"""Caller CPU per stdlib ``logging`` call: pyperformance's bm_logging workloads, per handler and front end.

    python benchmarks/stdlib_front.py [--calls 20000] [--rounds 5] [--rows stringio,file,sync,...]

The three workloads of pyperformance's ``bm_logging`` on a ``logging.Logger`` with
``propagate=False``, level WARNING and one handler: ``silent`` (``debug(MESSAGE)``, filtered
out), ``simple`` (``warning(MESSAGE)``) and ``format`` (``warning("important: %s", MESSAGE)``).
Rows: stdlib's ``StreamHandler(io.StringIO())``, ``FileHandler`` and ``WatchedFileHandler``
(``watched``: a ``stat`` per record, to follow a rename, as logbench's sink does), each logbench backend
through ``log.handler()`` (the bridge) and, where ``loggers.accelerate`` exists, the same
accelerated, and picologging's ``FileHandler`` (when installed). Each figure is the calling
thread's CPU time (``time.thread_time_ns``) over ``--calls`` calls after a warm-up, the
backend flushed after each batch (untimed); the rounds are interleaved (every row once per
round, in turn) and the median over rounds is printed with its range.

``--emit``: instead, what the bridge itself adds (issue 17: at most 300 ns over the native API):
per backend, the calling thread's CPU per call of ``handler.handle(record)`` on a prebuilt
``LogRecord`` (what stdlib calls for each handler: no record built, no caller found) against
the same record through the native API, ``log.warning(MESSAGE, logger="bench")``, into the same
logger, interleaved per round; prints both, their difference and its range over the rounds.

Run it under ``flock -x /tmp/logbench-heavy.lock``; ``docs/stdlib-front.md`` cites its output.
"""

from __future__ import annotations

import argparse
import functools
import io
import logging
import logging.handlers
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

if "LOGBENCH_TREE" in os.environ:  # measure another checkout (e.g. main, for the "before" figures)
    sys.path.insert(0, os.environ["LOGBENCH_TREE"])
else:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import loggers

MESSAGE = "some important information to be logged"
BACKENDS = ("sync", "thread-queue", "subprocess", "mmap")
WORKLOADS: dict[str, Callable[[Any], None]] = {
    "silent": lambda logger: logger.debug(MESSAGE),
    "simple": lambda logger: logger.warning(MESSAGE),
    "format": lambda logger: logger.warning("important: %s", MESSAGE),
}


def make_row(row: str, directory: str) -> tuple[Any, Callable[[], None]]:
    """(the logger to call, flush) for one row; the logger as bm_logging sets it up."""
    path = os.path.join(directory, row.replace(" ", "_") + ".log")
    if row.startswith("picologging"):
        import picologging  # type: ignore[import-not-found]

        logger: Any = picologging.Logger("bench", picologging.WARNING)
        handler: Any = picologging.FileHandler(path)
        logger.addHandler(handler)
        return logger, handler.flush
    logger = logging.Logger("bench", logging.WARNING)
    logger.propagate = False
    if row == "stringio":
        handler = logging.StreamHandler(io.StringIO())
        flush = handler.flush
    elif row == "file":
        handler = logging.FileHandler(path)
        flush = handler.flush
    elif row == "watched":  # FileHandler plus a stat per record: it follows a rename, as logbench's sink does
        handler = logging.handlers.WatchedFileHandler(path)
        flush = handler.flush
    else:
        backend, _, front = row.partition(" ")
        log = loggers.create(backend, path=path)
        handler = log.handler()
        flush = log.flush  # type: ignore[assignment]
        if front == "accelerated":
            loggers.accelerate(logger)
    logger.addHandler(handler)
    return logger, flush


def measure_one(logger: Any, flush: Callable[[], None], workload: str, calls: int) -> float:
    return measure_one_call(functools.partial(WORKLOADS[workload], logger), flush, calls)


def default_rows() -> list[str]:
    rows = ["stringio", "file", "watched"]
    for backend in BACKENDS:
        rows.append(f"{backend} bridge")
        if hasattr(loggers, "accelerate") or "accelerate" in getattr(loggers, "__all__", ()):
            rows.append(f"{backend} accelerated")
    try:
        import picologging  # noqa: F401

        rows.append("picologging file")
    except ImportError:
        pass
    return rows


def measure_emit(backends: list[str], calls: int, rounds: int) -> None:
    """Print, per backend, the bridge's ``handle(record)`` against the native call (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="logbench-emit-") as directory:
        for backend in backends:
            log = loggers.create(backend, path=os.path.join(directory, f"{backend}.log"))
            handler = log.handler()
            record = logging.LogRecord("bench", logging.WARNING, __file__, 1, MESSAGE, (), None)
            sides: dict[str, Callable[[], None]] = {
                "native": lambda log=log: log.warning(MESSAGE, logger="bench"),  # the bridge's fields
                "bridge": lambda handler=handler, record=record: handler.handle(record),
            }
            times: dict[str, list[float]] = {name: [] for name in sides}
            for round_ in range(rounds):
                for name in (sides if round_ % 2 == 0 else reversed(sides)):
                    times[name].append(measure_one_call(sides[name], log.flush, calls))
            log.close()
            native, bridge = (statistics.median(times[name]) for name in sides)
            deltas = [b - a for a, b in zip(times["native"], times["bridge"])]
            print(f"{backend:<14} native {native:7.0f}  bridge handle(record) {bridge:7.0f}  "
                  f"difference {statistics.median(deltas):6.0f} ns [{min(deltas):.0f}..{max(deltas):.0f}]")


def measure_one_call(call: Callable[[], None], flush: Callable[[], object], calls: int) -> float:
    """Caller thread CPU ns per ``call()`` over ``calls`` calls after a warm-up, flushed untimed."""
    for _ in range(calls // 10):
        call()
    flush()
    start = time.thread_time_ns()
    for _ in range(calls):
        call()
    elapsed = time.thread_time_ns() - start
    flush()
    return elapsed / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", default=None, help="comma-separated rows (default: all)")
    parser.add_argument("--emit", action="store_true", help="the bridge's handle(record) against the native call")
    args = parser.parse_args()
    if args.emit:
        print(f"python {sys.version.split()[0]}; caller CPU ns per call, median of {args.rounds} interleaved "
              f"rounds x {args.calls} calls")
        measure_emit(["null", *BACKENDS], args.calls, args.rounds)
        logger, flush = make_row("stringio", tempfile.gettempdir())
        speed = statistics.median(measure_one(logger, flush, "simple", args.calls) for _ in range(args.rounds))
        print(f"machine: stdlib StreamHandler(StringIO) simple {speed:.0f} ns (the issue's machine: 4,294 ns)")
        return
    rows = args.rows.split(",") if args.rows else default_rows()
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="logbench-front-") as directory:
        made = {row: make_row(row, directory) for row in rows}
        for _ in range(args.rounds):
            for row in rows:
                for workload in WORKLOADS:
                    results.setdefault((row, workload), []).append(measure_one(*made[row], workload, args.calls))
    print(f"python {sys.version.split()[0]}; caller CPU ns per call, median [min..max] of {args.rounds} interleaved "
          f"rounds x {args.calls} calls")
    print(f"{'row':<26}" + "".join(f"{w:>26}" for w in WORKLOADS))
    for row in rows:
        cells = []
        for workload in WORKLOADS:
            values = results[(row, workload)]
            cells.append(f"{statistics.median(values):>8.0f} [{min(values):.0f}..{max(values):.0f}]")
        print(f"{row:<26}" + "".join(f"{cell:>26}" for cell in cells))


if __name__ == "__main__":
    main()
