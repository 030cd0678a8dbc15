"""overhead — what logging costs a realistic application, against the 5% target.

Workload: a pure-Python request handler (``scenarios._workload``), calibrated at
the start so one unit takes about ``unit_target_us`` (20 µs) on this machine.
Rates: 1 line per unit, 1 line per 10 units, 5 lines per unit.

Measurement, per rate: repeated A/B *pairs* in this one process, the order
alternating each pair. One half of a pair ("block") runs ``units`` units logging
through a fresh logger, then the final ``flush()``; the timed part is the units
plus that flush, which returns only once every record reached the OS, so a
backend that defers work to a writer pays for all of it. Creating the logger
with a first ``flush()`` (the writer is up) and the ``close()`` after the timed
part are fixed per-logger costs paid once in an application's life: timing them
in a block of a few milliseconds would charge them to a few hundred records, so
they are kept out and the median ``close()`` time is given in the detail instead.
A is the ``null`` backend, B the backend under test. Per pair:
``overhead = B / A - 1`` for wall time (``perf_counter``) and for total CPU
(``process_time``, which covers every thread, plus the CPU of child processes:
live ones via psutil, reaped ones via ``getrusage(RUSAGE_CHILDREN)``). Median and distribution-free 95% interval of the per-pair values
(``scenarios._stats``); verdict ``pass``/``fail``/``inconclusive`` against 5%.

Pairs continue until ``min_pairs`` are done and the per-rate time budget is
spent (or ``max_pairs``): quick mode keeps the whole scenario to a few seconds.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import loggers

from . import _workload
from ._common import Factory, backend_name, children_cpu_s, open_ready, remove_logs, scratch_dir
from ._results import ResultRecord
from ._stats import median, paired_overhead_pct, verdict

__all__ = ["RATES", "run_overhead"]

#: case -> (every n-th unit logs, lines per logging unit)
RATES: dict[str, tuple[int, int]] = {"rate=1/unit": (1, 1), "rate=1/10units": (10, 1), "rate=5/unit": (1, 5)}
TARGET_PCT = 5.0
MIN_UNITS = 300


def run_overhead(
    factory: Factory,
    *,
    backend: str | None = None,
    quick: bool = False,
    workdir: str | None = None,
    units: int | None = None,
    min_pairs: int | None = None,
    max_pairs: int | None = None,
    budget_s: float | None = None,
    block_s: float | None = None,
    unit_target_us: float = 20.0,
    rates: tuple[str, ...] = tuple(RATES),
    target_pct: float = TARGET_PCT,
) -> list[ResultRecord]:
    """Measure wall and CPU overhead of ``factory``'s logger over ``null`` at each rate.

    Args:
        factory: ``factory(path=..., **options) -> Logger`` for the backend under test.
        backend: name for the records (guessed from the factory if None).
        quick: small defaults for CI: blocks of 2000 units, 9+ pairs at rate=1/unit (the CI gate's case)
            and 7+ at the other rates (7 pairs: the interval is [min, max], 98% coverage).
        units: units per block; min_pairs/max_pairs/budget_s: pairs per rate and time budget.
        block_s: if set (quick: 0.08 s), a backend whose warm-up shows a block of ``units`` would take
            longer gets fewer units per block (at least ``MIN_UNITS``), the same for A and B.
    Returns:
        Per rate: ``wall_overhead_pct``, ``cpu_overhead_pct`` (median, 95% interval, verdict) and ``unit_us``.
    """
    name = backend_name(factory, backend)
    units = units or (2000 if quick else 10000)
    max_pairs = max_pairs or (25 if quick else 81)
    budget_s = budget_s if budget_s is not None else (0.4 if quick else 8.0)
    block_s = block_s if block_s is not None else (0.08 if quick else None)
    rounds, _ = _workload.calibrate(unit_target_us)
    null_factory = functools.partial(loggers.create, "null")
    records: list[ResultRecord] = []
    with scratch_dir(workdir) as tmp:
        for case in rates:
            every, per_unit = RATES[case]
            least = min_pairs or (21 if not quick else 9 if case == "rate=1/unit" else 7)
            used, pairs = _measure_pairs(null_factory, factory, tmp, units, rounds, every, per_unit,
                                         least, max(max_pairs, least), budget_s, block_s)
            records += _records(name, case, pairs, used, rounds, target_pct)
    return records


def _measure_pairs(
    base: Factory, test: Factory, tmp: str, units: int, rounds: int, every: int, per_unit: int,
    min_pairs: int, max_pairs: int, budget_s: float, block_s: float | None,
) -> tuple[int, list[tuple[tuple[float, ...], tuple[float, ...]]]]:
    """(units per block used, ``[(base_block, test_block), ...]``), the order alternating each pair.

    Each block is ``_block``'s tuple: (wall s, CPU s, close s, flush s).
    """
    warm = max(units // 4, 1)
    _block(base, os.path.join(tmp, "warmup.log"), warm, rounds, every, per_unit)
    warm_wall, _, _, warm_flush = _block(test, os.path.join(tmp, "warmup.log"), warm, rounds, every, per_unit)
    warm_s = max(warm_wall - warm_flush, 0.0)  # the per-unit cost, without the fixed final flush
    if block_s:  # a slow backend gets shorter blocks (both halves alike), so the budget holds
        units = max(min(units, int(block_s / max(warm_s / warm, 1e-9))), min(units, MIN_UNITS))
    pairs: list[tuple[tuple[float, ...], tuple[float, ...]]] = []
    deadline = time.monotonic() + budget_s
    for i in range(max_pairs):
        if i >= min_pairs and time.monotonic() > deadline:
            break
        path = os.path.join(tmp, f"pair{i}.log")
        if i % 2 == 0:
            a = _block(base, path, units, rounds, every, per_unit)
            b = _block(test, path, units, rounds, every, per_unit)
        else:
            b = _block(test, path, units, rounds, every, per_unit)
            a = _block(base, path, units, rounds, every, per_unit)
        pairs.append((a, b))
    return units, pairs


def _block(
    factory: Factory, path: str, units: int, rounds: int, every: int, per_unit: int
) -> tuple[float, float, float, float]:
    """(wall s, CPU s) of ``units`` units logging through a fresh logger with the final flush,
    the wall seconds the (untimed) ``close()`` took, and those of the final flush alone."""
    log = open_ready(factory, path)
    children0 = children_cpu_s()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    _workload.run_units(log, units, rounds, every=every, per_unit=per_unit)
    flush0 = time.perf_counter()
    log.flush()
    wall1 = time.perf_counter()
    cpu1 = time.process_time()
    children1 = children_cpu_s()
    log.close()
    closed = time.perf_counter() - wall1
    remove_logs(path)
    return wall1 - wall0, (cpu1 - cpu0) + (children1 - children0), closed, wall1 - flush0


def _records(
    name: str, case: str, pairs: list[Any], units: int, rounds: int, target_pct: float
) -> list[ResultRecord]:
    base_wall = [a[0] for a, _ in pairs]
    close_ms = median([b[2] for _, b in pairs]) * 1e3
    flush_ms = median([b[3] for _, b in pairs]) * 1e3
    detail = (f"{len(pairs)} A/B pairs of {units} units (rounds={rounds}), null as A; final flush() timed "
              f"({flush_ms:.2f} ms median), close() not timed ({close_ms:.2f} ms median)")
    records = []
    for metric, idx in (("wall_overhead_pct", 0), ("cpu_overhead_pct", 1)):
        base = [max(a[idx], 1e-9) for a, _ in pairs]
        est = paired_overhead_pct(base, [b[idx] for _, b in pairs])
        records.append(ResultRecord(
            "overhead", name, case, metric, est.value, "%", low=est.low, high=est.high,
            verdict=verdict(est.low, est.high, target_pct),
            detail=f"{detail}; interval coverage {est.coverage:.3f}",
        ))
    records.append(ResultRecord("overhead", name, case, "unit_us", median(base_wall) / units * 1e6, "us",
                                detail="median wall time of one unit with the null backend, logging included"))
    return records
