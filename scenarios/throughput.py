"""throughput — records per second end to end, with 1, 2, 4 and 8 producer threads.

Each case: a fresh logger; ``threads`` producers wait on a barrier, then each
logs ``records // threads`` records as fast as it can, or fewer if the case's
time budget (``budget_s``, checked every 64 records) runs out first, so a slow
backend cannot stretch the quick suite; the clock stops when ``close()`` has returned (every accepted record handed to the OS). The figure
is delivered records (logged minus ``stats()["dropped"]``) per second of that
span, so a backend that drops under pressure does not look fast for it; drops
are noted in the detail.

Repetitions: each case is ``repeats`` (5) independent repetitions, each with its own fresh logger
and ``records // repeats`` records (its share of the budget, ``budget_s / repeats``); the figure is
the median records/s over them with its distribution-free 95% interval
(``scenarios._stats.median_interval``; 5 repetitions: ``[min, max]``, coverage 0.938; each
repetition opens and closes a logger, which is what the quick suite's budget limits). A short
repetition pays its ``close()`` over fewer records than one long run did, so the figures are a little
lower than a single 20 000-record run's; they are comparable with each other, which the gate needs.

Calibration: in the single-producer case (the one ``compare`` judges; more producers are
``contended`` on this machine), :mod:`scenarios._calibrate` times a fixed encode + write before each
repetition and after the last; ``calibration_ns`` (threads=1) is their median with its interval, and
``records_per_calibration`` the relative twin of records/s (per repetition, times the mean calibration
beside it), by which ``compare`` also judges that case.

Multi-thread cases run in a spawned child watched by :mod:`scenarios._watchdog`
(all repetitions of a case in one child):
a backend that deadlocks when threads log at once (the producers stop making
progress for ``stall_s`` seconds) is killed and its case recorded as status
``failed`` with detail ``"deadlock: no progress in <stall_s>s"``, instead of
hanging the whole cell.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ._calibrate import CALIBRATION_CALLS, METRIC, Calibration, around, calibration_record, relative_record
from ._common import Factory, backend_name, open_ready, scratch_dir
from ._proc import ChildFailed
from ._results import ResultRecord
from ._rounds import pool, share
from ._stats import median, median_interval
from ._watchdog import CLOSING, PHASE, WORKING, run_watched

__all__ = ["REPEATS", "THREADS", "merge_rounds", "run_throughput"]

THREADS = (1, 2, 4, 8)
#: repetitions per case: 5 gives [min, max] as a 94% interval of the median
REPEATS = 5


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
    repeats: int = REPEATS,
    rounds: int = 1,
) -> list[ResultRecord]:
    """End-to-end records/s of ``factory``'s logger for each producer thread count.

    Args:
        records: records per case, split evenly over the repetitions and threads (quick: 20 000;
            else 200 000).
        budget_s: producing stops early after this many seconds per case, shared by the
            repetitions (quick: 0.4; else 10).
        stall_s: a multi-thread case whose producers make no progress this long is
            killed and recorded as failed (quick: 3; else 10).
        repeats: independent repetitions per case (at least 1).
        rounds: this process is one of ``rounds`` (:mod:`scenarios._rounds`): it does its share of the
            repetitions, records and budget; :func:`merge_rounds` pools the rounds' records.
    Returns:
        One ``records_per_s`` record per case ``threads=<n>``: median over the repetitions,
        ``low``/``high`` its 95% interval.
    Raises:
        ValueError: ``repeats`` below 1.
    """
    if repeats < 1:
        raise ValueError(f"repeats: expected at least 1, got {repeats!r}")
    name = backend_name(factory, backend)
    total = share(records or (20_000 if quick else 200_000), rounds)
    repeats = share(repeats, rounds)
    budget = (budget_s if budget_s is not None else (0.4 if quick else 10.0)) / rounds / repeats
    stall = stall_s if stall_s is not None else (3.0 if quick else 10.0)
    results: list[ResultRecord] = []
    with scratch_dir(workdir) as tmp:
        for n in threads:
            per_thread = max(total // repeats // n, 1)
            path = os.path.join(tmp, f"threads{n}")  # repetition r logs to <path>-rep<r>.log
            try:
                if n == 1:  # calibrated: the single-producer figure is the one compare judges
                    with Calibration(tmp) as calibration:
                        machine: list[int] = []
                        reps = _case(None, factory, path, n, per_thread, budget, repeats,
                                     before_each=lambda: machine.append(calibration.sample()))
                        machine.append(calibration.sample())  # after the last repetition
                    results.append(calibration_record("throughput", name, f"threads={n}", machine,
                                                      str(CALIBRATION_CALLS), "before each repetition and after the last"))
                    results.append(relative_record("throughput", name, f"threads={n}", "records_per_s",
                                                   _rates(reps), around(machine, repeats), per_time=True,
                                                   over=f"the mean {METRIC} just before and after it"))
                else:
                    reps = run_watched(_case, n, factory, path, n, per_thread, budget, repeats, stall_s=stall)
            except ChildFailed as exc:
                results.append(ResultRecord(
                    "throughput", name, f"threads={n}", "records_per_s", None, "records/s",
                    status="failed", detail=str(exc)[-2000:],
                ))
                continue
            results.append(_record(name, n, reps))
    return results


def merge_rounds(rounds: Sequence[Sequence[ResultRecord]]) -> list[ResultRecord]:
    """One cell's records from its ``rounds`` processes, pooled (:func:`scenarios._rounds.pool`): each
    case's rates, twin and calibration over every round's repetitions."""
    return pool(rounds)


def _record(name: str, threads: int, reps: list[tuple[int, float, int]]) -> ResultRecord:
    """The case's record from its repetitions' ``(logged, seconds, dropped)``."""
    est = median_interval(_rates(reps))
    logged, dropped = sum(r[0] for r in reps), sum(r[2] for r in reps)
    return ResultRecord(
        "throughput", name, f"threads={threads}", "records_per_s", est.value, "records/s", low=est.low, high=est.high,
        samples=est.samples, detail=(f"{logged} records, {dropped} dropped, in {len(reps)} repetitions of "
                f"{median([r[1] for r in reps]):.3f} s (median) until close() returned; "
                f"interval coverage {est.coverage:.3f}"),
    )


def _rates(reps: list[tuple[int, float, int]]) -> list[float]:
    """Delivered records/s of each repetition's ``(logged, seconds, dropped)``."""
    return [(logged - dropped) / elapsed for logged, elapsed, dropped in reps]


def _case(
    heartbeat: Any, factory: Factory, path: str, threads: int, per_thread: int, budget_s: float, repeats: int,
    before_each: Callable[[], object] | None = None,
) -> list[tuple[int, float, int]]:
    """One case's repetitions (in this process, or in a watched child): ``[(logged, seconds, dropped), ...]``.
    ``before_each`` runs before each repetition's logger is opened (the calibration)."""
    reps = []
    for rep in range(repeats):
        if before_each is not None:
            before_each()
        log = open_ready(factory, f"{path}-rep{rep}.log")
        logged, elapsed = _run(log, threads, per_thread, budget_s, heartbeat)
        reps.append((logged, elapsed, int(log.stats().get("dropped", 0))))
    return reps


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
