"""latency — how long one logging call holds up the caller: p50 … p99.9 and max.

Cases (each with a fresh logger in a scratch directory):

``steady``
    ``calls`` back-to-back ``info()`` calls, each timed with ``perf_counter_ns``.
``rotating``
    The same with ``max_bytes`` small (``rotate_bytes``) so the file rotates
    every few hundred records: the calls that rotate show in the tail. A backend
    that does not take ``max_bytes`` gets status "not supported".
``paced``
    Calls at a fixed rate (``rate_per_s``). Coordinated omission corrected
    (LOG4J2-1179): call ``i`` is *due* at ``start + i / rate`` and its latency is
    measured from that due time, not from when it actually started, so a stall
    also counts against every call that had to wait behind it. The pacing spins
    on the clock (a sleep is far coarser than the interval).

Repetitions: each case runs ``repeats`` (9) short repetitions of ``calls // repeats`` calls through
its one logger, with an untimed ``flush()`` between them, so a scheduler stall lands in one repetition
instead of deciding the whole figure. Each percentile is computed per repetition (nearest rank) and
reported as the median over the repetitions with its distribution-free 95% interval
(``scenarios._stats.median_interval``; 9 repetitions: ``[2nd, 8th]`` of the sorted values, coverage
0.961). Tails are treated honestly: one stall moves one repetition's p99.9 and max, which the median
ignores and the interval shows; on top, the ``stalls`` record counts stall episodes over the pooled
repetitions (runs of consecutive calls over ``STALL_NS``, 1 ms; in the paced case the
coordinated-omission correction makes one stall a run of late calls), with the count per repetition
in its detail; ``stalled_calls_pct`` is the largest share of one repetition's calls over ``STALL_NS``
(in the paced case a stall of 5 ms makes 50 late calls, so it can reach p90, not only the tails).

Calibration: before each repetition, :mod:`scenarios._calibrate` times a fixed encode + write (no
backend involved) in the case's directory, in the paced case paced at the case's rate, in the
rotating case under a ``flock`` with a ``stat`` of the path (what a size-rotating write shared
between processes pays); ``calibration_ns`` per case is its median over the repetitions with its
interval. ``compare`` judges the case's timings relative to it as well, so a machine or kernel that
got slower between two runs is not called a regression of the backend.

``flush``/``close`` are not timed here (the overhead and throughput scenarios
include them). Each repetition stops early when its share of the time budget
(``budget_s / repeats``) is spent, checked every 64 calls, so a slow backend
cannot stretch the quick suite; the detail gives the calls measured.
"""

from __future__ import annotations

import os
import time
from array import array
from collections.abc import Sequence
from typing import Any

from ._calibrate import CALIBRATION_CALLS, Calibration, calibration_record
from ._common import Factory, backend_name, open_ready, scratch_dir
from ._results import ResultRecord
from ._stats import median_interval, percentile

__all__ = ["CASES", "PERCENTILES", "REPEATS", "STALL_NS", "run_latency", "stall_episodes"]

CASES = ("steady", "rotating", "paced")
#: metric -> percentile (100 = max)
PERCENTILES = {"p50_ns": 50.0, "p90_ns": 90.0, "p99_ns": 99.0, "p99_9_ns": 99.9, "max_ns": 100.0}
#: repetitions per case: 9 gives the [2nd, 8th] order statistics as a 96% interval of the median
REPEATS = 9
#: a call (or, paced, a lateness) over this is a stall
STALL_NS = 1_000_000


def run_latency(
    factory: Factory,
    *,
    backend: str | None = None,
    quick: bool = False,
    workdir: str | None = None,
    calls: int | None = None,
    rate_per_s: float | None = None,
    rotate_bytes: int = 64 * 1024,
    cases: tuple[str, ...] = CASES,
    budget_s: float | None = None,
    repeats: int = REPEATS,
) -> list[ResultRecord]:
    """Per-call caller latency of ``factory``'s logger for each case, repeated ``repeats`` times.

    Args:
        calls: calls per case over all repetitions (quick: 20 000; else 200 000).
        rate_per_s: the paced case's rate (10 000/s); it runs ``calls // 4`` calls.
        rotate_bytes: ``max_bytes`` of the rotating case.
        budget_s: seconds per case at most, shared by the repetitions (quick: 0.5; else 20).
        repeats: repetitions per case (at least 1).
    Returns:
        Per case the metrics of ``PERCENTILES`` in ns (median over repetitions, ``low``/``high`` its
        95% interval), ``stalls`` (count, pooled), ``stalled_calls_pct`` (the worst repetition's share
        of stalled calls) and ``calibration_ns`` (the machine's speed beside them), or one
        "not supported" record.
    Raises:
        ValueError: ``repeats`` below 1.
    """
    if repeats < 1:
        raise ValueError(f"repeats: expected at least 1, got {repeats!r}")
    name = backend_name(factory, backend)
    calls = calls or (20_000 if quick else 200_000)
    rate = rate_per_s or 10_000.0
    budget = budget_s if budget_s is not None else (0.5 if quick else 20.0)
    records: list[ResultRecord] = []
    with scratch_dir(workdir) as tmp:
        for case in cases:
            path = os.path.join(tmp, f"{case}.log")
            options: dict[str, Any] = {"max_bytes": rotate_bytes, "backup_count": 2} if case == "rotating" else {}
            try:
                log = open_ready(factory, path, **options)
            except TypeError as exc:
                records.append(ResultRecord("latency", name, case, "p99_9_ns", None, "ns",
                                            status="not supported", detail=f"TypeError: {exc}"))
                continue
            per_rep = max((calls // 4 if case == "paced" else calls) // repeats, 1)
            reps, machine = [], []
            try:
                with Calibration(tmp) as calibration:
                    for _ in range(repeats):
                        machine.append(calibration.sample(int(1e9 / rate) if case == "paced" else 0,
                                                          locked=case == "rotating"))
                        reps.append(_repetition(log, case, per_rep, rate, budget / repeats))
            finally:
                log.close()
            stats = log.stats()
            detail = (f"{repeats} repetitions of up to {per_rep} calls ({sum(len(r) for r in reps)} calls); "
                      f"rotations={stats.get('rotations', 0)} dropped={stats.get('dropped', 0)}")
            if case == "paced":
                detail += f"; {rate:g}/s, measured from the intended start (coordinated-omission corrected)"
            records += _percentile_records(name, case, reps, detail)
            records.append(_calibration_record(name, case, machine))
    return records


def _calibration_record(name: str, case: str, samples: list[int]) -> ResultRecord:
    """The machine's speed in this case (paced and rotating cases calibrate their own way)."""
    how = {"paced": f"{CALIBRATION_CALLS // 4} paced", "rotating": f"{CALIBRATION_CALLS} flock + stat +"}.get(
        case, f"{CALIBRATION_CALLS}")
    return calibration_record("latency", name, case, samples, how)


def _repetition(log: Any, case: str, calls: int, rate: float, budget_s: float) -> array[int]:
    """One repetition of ``case``, then an untimed ``flush()`` so the next one starts with nothing queued."""
    samples = _paced(log, calls, rate, budget_s) if case == "paced" else _steady(log, calls, budget_s)
    log.flush(timeout=10.0)
    return samples


def stall_episodes(samples: Sequence[int], stall_ns: int = STALL_NS) -> int:
    """Runs of consecutive samples over ``stall_ns``: one stall, however many calls waited behind it."""
    episodes, inside = 0, False
    for sample in samples:
        over = sample > stall_ns
        episodes += over and not inside
        inside = over
    return episodes


def _steady(log: Any, calls: int, budget_s: float) -> array[int]:
    """Latency in ns of up to ``calls`` back-to-back calls (fewer if ``budget_s`` runs out)."""
    samples = array("q", bytes(8 * calls))
    now = time.perf_counter_ns
    info = log.info
    stop_at = now() + int(budget_s * 1e9)
    for i in range(calls):
        t0 = now()
        info("request handled", seq=i, user=42, path="/api/orders", status=200)
        t1 = now()
        samples[i] = t1 - t0
        if i % 64 == 63 and t1 > stop_at:
            return samples[: i + 1]
    return samples


def _paced(log: Any, calls: int, rate: float, budget_s: float) -> array[int]:
    """Latency in ns of each call measured from its due time ``start + i / rate`` (stops after ``budget_s``)."""
    samples = array("q", bytes(8 * calls))
    now = time.perf_counter_ns
    info = log.info
    interval = 1e9 / rate
    start = now() + 1_000_000
    stop_at = start + int(budget_s * 1e9)
    for i in range(calls):
        due = start + int(i * interval)
        while now() < due:
            pass
        info("request handled", seq=i, user=42, path="/api/orders", status=200)
        t1 = now()
        samples[i] = t1 - due
        if i % 64 == 63 and t1 > stop_at:
            return samples[: i + 1]
    return samples


def _percentile_records(name: str, case: str, reps: list[array[int]], detail: str) -> list[ResultRecord]:
    """Per metric: the median over repetitions of the per-repetition percentile, with its interval."""
    ordered = [sorted(rep) for rep in reps]
    records = []
    for metric, pct in PERCENTILES.items():
        est = median_interval([percentile(rep, pct) for rep in ordered])
        records.append(ResultRecord("latency", name, case, metric, est.value, "ns", low=est.low, high=est.high,
                                    detail=f"{detail}; median of per-repetition values, "
                                           f"interval coverage {est.coverage:.3f}"))
    per_rep = [stall_episodes(rep) for rep in reps]
    records.append(ResultRecord("latency", name, case, "stalls", sum(per_rep), "count",
                                detail=f"episodes of calls over {STALL_NS / 1e6:g} ms, pooled over repetitions; "
                                       f"per repetition {per_rep}; {detail}"))
    shares = [100.0 * sum(1 for sample in rep if sample > STALL_NS) / max(len(rep), 1) for rep in reps]
    records.append(ResultRecord("latency", name, case, "stalled_calls_pct", max(shares), "%",
                                detail=f"the largest share of one repetition's calls over {STALL_NS / 1e6:g} ms "
                                       f"(a repetition whose calls were 10% stalled has a stall for its p90); "
                                       f"per repetition {[round(x, 2) for x in shares]}"))
    return records
