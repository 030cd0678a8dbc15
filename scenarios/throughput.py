"""throughput — records per second end to end, with 1, 2, 4 and 8 producer threads.

Each case: a fresh logger; ``threads`` producers wait on a barrier, then each
logs ``records // threads`` records as fast as it can, or fewer if the case's
time budget (``budget_s``, checked every 64 records) runs out first, so a slow
backend cannot stretch the quick suite; the clock stops when ``close()`` has returned (every accepted record handed to the OS). The figure
is delivered records (logged minus ``stats()["dropped"]``) per second of that
span, so a backend that drops under pressure does not look fast for it; drops
are noted in the detail.

Multi-thread cases run in a spawned child watched by :mod:`scenarios._watchdog`:
a backend that deadlocks when threads log at once (the producers stop making
progress for ``stall_s`` seconds) is killed and its case recorded as status
``failed`` with detail ``"deadlock: no progress in <stall_s>s"``, instead of
hanging the whole cell.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from ._common import Factory, backend_name, open_ready, scratch_dir
from ._proc import ChildFailed
from ._results import ResultRecord
from ._watchdog import CLOSING, PHASE, WORKING, run_watched

__all__ = ["THREADS", "run_throughput"]

THREADS = (1, 2, 4, 8)


def run_throughput(
    factory: Factory,
    *,
    backend: str | None = None,
    quick: bool = False,
    workdir: str | None = None,
    records: int | None = None,
    threads: tuple[int, ...] = THREADS,
    budget_s: float | None = None,
    stall_s: float | None = None,
) -> list[ResultRecord]:
    """End-to-end records/s of ``factory``'s logger for each producer thread count.

    Args:
        records: records per case, split evenly over the threads (quick: 20 000; else 200 000).
        budget_s: producing stops early after this many seconds (quick: 0.4; else 10).
        stall_s: a multi-thread case whose producers make no progress this long is
            killed and recorded as failed (quick: 3; else 10).
    Returns:
        One ``records_per_s`` record per case ``threads=<n>``.
    """
    name = backend_name(factory, backend)
    total = records or (20_000 if quick else 200_000)
    budget = budget_s if budget_s is not None else (0.4 if quick else 10.0)
    stall = stall_s if stall_s is not None else (3.0 if quick else 10.0)
    results: list[ResultRecord] = []
    with scratch_dir(workdir) as tmp:
        for n in threads:
            per_thread = max(total // n, 1)
            path = os.path.join(tmp, f"threads{n}.log")
            try:
                if n == 1:
                    logged, elapsed, dropped = _case(None, factory, path, n, per_thread, budget)
                else:
                    logged, elapsed, dropped = run_watched(_case, n, factory, path, n, per_thread, budget, stall_s=stall)
            except ChildFailed as exc:
                results.append(ResultRecord(
                    "throughput", name, f"threads={n}", "records_per_s", None, "records/s",
                    status="failed", detail=str(exc)[-2000:],
                ))
                continue
            delivered = logged - dropped
            results.append(ResultRecord(
                "throughput", name, f"threads={n}", "records_per_s", delivered / elapsed, "records/s",
                detail=f"{logged} records, {dropped} dropped, {elapsed:.3f} s until close() returned",
            ))
    return results


def _case(
    heartbeat: Any, factory: Factory, path: str, threads: int, per_thread: int, budget_s: float
) -> tuple[int, float, int]:
    """One case (in this process, or in a watched child): (logged, seconds, dropped)."""
    log = open_ready(factory, path)
    logged, elapsed = _run(log, threads, per_thread, budget_s, heartbeat)
    return logged, elapsed, int(log.stats().get("dropped", 0))


def _run(log: Any, threads: int, per_thread: int, budget_s: float, heartbeat: Any = None) -> tuple[int, float]:
    """(records logged, seconds from the start barrier until ``close()`` returned).

    ``heartbeat`` (a watched child's progress slots, or None): each producer stores its
    count there every 64 records; the phase slot says when producing and closing start.
    """
    barrier = threading.Barrier(threads + 1)
    counts = [0] * threads
    clock = time.perf_counter

    def produce(tid: int) -> None:
        info = log.info
        barrier.wait()
        stop_at = clock() + budget_s
        i = 0
        while i < per_thread:
            info("request handled", seq=i, thread=tid, user=42, path="/api/orders")
            i += 1
            if i % 64 == 0:
                if heartbeat is not None:
                    heartbeat[tid] = i
                if clock() > stop_at:
                    break
        counts[tid] = i

    workers = [threading.Thread(target=produce, args=(t,), name=f"producer-{t}") for t in range(threads)]
    for worker in workers:
        worker.start()
    if heartbeat is not None:
        heartbeat[PHASE] = WORKING
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    if heartbeat is not None:
        heartbeat[PHASE] = CLOSING
    log.close()
    return sum(counts), time.perf_counter() - start
