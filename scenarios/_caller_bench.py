"""pyperf worker script of the ``caller`` scenario: ``python scenarios/_caller_bench.py --factory F.pickle -o OUT.json``.

Run by :mod:`scenarios.caller` as a subprocess, never imported by a test: pyperf's
``Runner`` parses ``sys.argv`` and re-launches this file for its calibration and
worker processes (one ``Runner`` per process). Each record shape is one pyperf
benchmark, ``bench_time_func`` timing ``loops`` calls of one logging call on a
logger created once per worker process; the logger is flushed after each timed
batch, outside the timing, so a queue never carries one sample's records into the next.
A ``stdlib-<workload>@<front>`` shape times pyperformance's bm_logging workloads through
stdlib ``logging`` instead (:func:`stdlib_logger`).
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

if __name__ == "__main__":  # run as a script by pyperf: make the project importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scenarios import _fronts as fronts  # noqa: E402
from scenarios._records import RECORD_SHAPES, record_for  # noqa: E402


#: pyperformance's bm_logging message, and its three workloads as stdlib calls.
MESSAGE = "some important information to be logged"
STDLIB_WORKLOADS: dict[str, Callable[[Any], None]] = {
    "silent": lambda logger: logger.debug(MESSAGE),
    "simple": lambda logger: logger.warning(MESSAGE),
    "format": lambda logger: logger.warning("important: %s", MESSAGE),
}


def stdlib_logger(log: Any, front: str) -> Any:
    """The stdlib-style logger a ``stdlib-<workload>@<front>`` shape calls, set up as bm_logging does
    (level WARNING, ``propagate=False``, one handler).

    ``own``: a peer's own logger (``log.stdlib_logger``: stdlib's handlers, picologging as a drop-in);
    ``bridge`` and ``accelerated``: :func:`scenarios._fronts.stdlib_logger`.
    """
    if front == "own":
        logger = log.stdlib_logger
        logger.setLevel(logging.WARNING)
        return logger
    return fronts.stdlib_logger(log, front, logging.WARNING)


def _stdlib_call(log: Any, shape: str) -> Callable[[], None]:
    workload, _, front = shape.removeprefix("stdlib-").partition("@")
    logger, run = stdlib_logger(log, front), STDLIB_WORKLOADS[workload]
    return lambda: run(logger)


def time_calls(log: Any, shape: str) -> Callable[[int], float]:
    """pyperf's time function for ``shape``: seconds for ``loops`` calls, the flush after them untimed."""
    if shape.startswith("stdlib-"):
        return _time_stdlib(log, _stdlib_call(log, shape))
    msg, fields = record_for(shape)
    call = log.debug if shape == "filtered" else log.info

    def timed(loops: int) -> float:
        counter = time.perf_counter
        start = counter()
        for _ in range(loops):
            call(msg, **fields)
        elapsed = counter() - start
        log.flush(timeout=30.0)
        return elapsed

    return timed


def _time_stdlib(log: Any, call: Callable[[], None]) -> Callable[[int], float]:
    def timed(loops: int) -> float:
        counter = time.perf_counter
        start = counter()
        for _ in range(loops):
            call()
        elapsed = counter() - start
        log.flush(timeout=30.0)
        return elapsed

    return timed


def main() -> None:
    import pyperf  # type: ignore[import-untyped]

    runner = pyperf.Runner(add_cmdline_args=_pass_to_workers)
    runner.argparser.add_argument("--factory", required=True, help="pickled backend factory(path=..., level=...)")
    runner.argparser.add_argument("--shapes", default=",".join(RECORD_SHAPES), help="comma-separated record shapes")
    runner.argparser.add_argument("--logdir", default=None, help="where worker processes put their log files")
    args = runner.parse_args()
    with open(args.factory, "rb") as file:
        factory = pickle.load(file)
    if not args.worker:  # the parent only spawns workers and collects their values
        for shape in args.shapes.split(","):
            runner.bench_time_func(f"caller[{shape}]", _unused)
        return
    directory = tempfile.mkdtemp(prefix="logbench-caller-", dir=args.logdir)
    log = factory(path=os.path.join(directory, "caller.log"), level="INFO")
    try:
        log.flush(timeout=10.0)
        for shape in args.shapes.split(","):
            runner.bench_time_func(f"caller[{shape}]", time_calls(log, shape))
    finally:
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


def _pass_to_workers(command: list[str], args: Any) -> None:
    """pyperf's hook: the options its worker processes need (it passes only its own)."""
    command.extend(["--factory", args.factory, "--shapes", args.shapes])
    if args.logdir:
        command.extend(["--logdir", args.logdir])


def _unused(loops: int) -> float:
    raise RuntimeError("the pyperf parent process never times")


if __name__ == "__main__":
    main()
