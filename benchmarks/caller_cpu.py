"""Caller thread CPU per ``log.info`` call, and the backend's own threads' CPU per record.

    python benchmarks/caller_cpu.py [--backends null,mmap,subprocess] [--calls 30000] [--runs 5]

For each backend: a fresh logger (default options) in a temporary directory,
a warm-up of ``--warmup`` calls and a flush, then ``--runs`` runs of
``--calls`` calls of ``log.info("user login", user_id=i, ok=True,
path="/api/v1/items")``. Each run is timed with ``time.thread_time_ns()`` of
the calling thread around the loop (CPU time: not disturbed by other
processes' scheduling, only by cache and frequency effects), followed by an
untimed ``flush`` so the next run starts with an empty hand-off. Printed:
the median and range over runs of ns per call.

"background": the CPU time of the backend's own threads in this process
(threads named ``logbench-*``: the ``subprocess`` sender, the queued
backends' writer thread, ack readers) over each run *and* its flush, per
record. Those threads hold the GIL while they run Python code and release
it only around system calls, so this is an upper bound of the GIL time
they take from the application per record (it includes the kernel time of
their ``send``/``write`` calls). Writer processes (``mmap``,
``subprocess``) are not counted: they run in parallel on another core.

Not a pyperf benchmark on purpose: it pins one figure the docs cite
(``docs/hot-path.md``). Run it under ``flock /tmp/logbench-heavy.lock``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import loggers

DEFAULT_BACKENDS = "null,thread-queue,subprocess,mmap"


def background_cpu_ns(own: set[int]) -> int:
    """Total CPU time of this process's ``logbench-*`` threads (not in ``own``, the ones before)."""
    total = 0
    for thread in threading.enumerate():
        if thread.name.startswith("logbench-") and thread.ident is not None and thread.ident not in own:
            try:
                total += time.clock_gettime_ns(time.pthread_getcpuclockid(thread.ident))
            except (OSError, ProcessLookupError):  # the thread ended between enumerate() and now
                pass
    return total


def measure(backend: str, calls: int, runs: int, warmup: int) -> tuple[list[float], list[float]]:
    """ns per call of the caller thread and of the background threads, one figure per run."""
    before = {t.ident for t in threading.enumerate() if t.ident is not None}
    with tempfile.TemporaryDirectory(prefix="logbench-cpu-") as directory:
        log = loggers.create(backend, path=os.path.join(directory, "app.log"))
        info = log.info
        try:
            for i in range(warmup):
                info("user login", user_id=i, ok=True, path="/api/v1/items")
            log.flush()
            caller, background = [], []
            for _ in range(runs):
                bg0 = background_cpu_ns(before)
                start = time.thread_time_ns()
                for i in range(calls):
                    info("user login", user_id=i, ok=True, path="/api/v1/items")
                elapsed = time.thread_time_ns() - start
                log.flush()
                caller.append(elapsed / calls)
                background.append((background_cpu_ns(before) - bg0) / calls)
        finally:
            log.close()
    return caller, background


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):7.0f} ns  [{min(values):.0f} .. {max(values):.0f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default=DEFAULT_BACKENDS, help="comma-separated (default: %(default)s)")
    parser.add_argument("--calls", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=10_000)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; {args.runs} runs x {args.calls} calls after {args.warmup} warm-up calls")
    print(f"{'backend':<14}{'caller thread CPU per call (median [min .. max])':<50}background threads' CPU per record")
    for backend in args.backends.split(","):
        caller, background = measure(backend, args.calls, args.runs, args.warmup)
        print(f"{backend:<14}{summary(caller):<50}{summary(background)}")


if __name__ == "__main__":
    main()
