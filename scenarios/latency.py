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

``flush``/``close`` are not timed here (the overhead and throughput scenarios
include them). Percentiles are nearest-rank over all calls. Each case stops
early when its time budget (``budget_s``) is spent, checked every 64 calls, so a
slow backend cannot stretch the quick suite; the detail gives the calls measured.
"""

from __future__ import annotations

import os
import time
from array import array
from typing import Any

from ._common import Factory, backend_name, open_ready, scratch_dir
from ._results import ResultRecord
from ._stats import percentile

__all__ = ["CASES", "PERCENTILES", "run_latency"]

CASES = ("steady", "rotating", "paced")
#: metric -> percentile (100 = max)
PERCENTILES = {"p50_ns": 50.0, "p90_ns": 90.0, "p99_ns": 99.0, "p99_9_ns": 99.9, "max_ns": 100.0}


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
) -> list[ResultRecord]:
    """Per-call caller latency of ``factory``'s logger for each case.

    Args:
        calls: calls per case (quick: 20 000; else 200 000).
        rate_per_s: the paced case's rate (10 000/s); it runs ``calls // 4`` calls.
        rotate_bytes: ``max_bytes`` of the rotating case.
        budget_s: seconds per case at most (quick: 0.5; else 20).
    Returns:
        Per case the metrics of ``PERCENTILES`` in ns (or one "not supported" record).
    """
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
            try:
                if case == "paced":
                    samples = _paced(log, max(calls // 4, 1), rate, budget)
                else:
                    samples = _steady(log, calls, budget)
            finally:
                log.close()
            stats = log.stats()
            detail = f"{len(samples)} calls; rotations={stats.get('rotations', 0)} dropped={stats.get('dropped', 0)}"
            if case == "paced":
                detail += f"; {rate:g}/s, measured from the intended start (coordinated-omission corrected)"
            records += _percentile_records(name, case, samples, detail)
    return records


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


def _percentile_records(name: str, case: str, samples: array[int], detail: str) -> list[ResultRecord]:
    ordered = sorted(samples)
    return [
        ResultRecord("latency", name, case, metric, percentile(ordered, pct), "ns", detail=detail)
        for metric, pct in PERCENTILES.items()
    ]
