"""overhead — what logging costs a realistic application, against the 5% target.

Workload: a pure-Python request handler (``scenarios._workload``), a fixed amount of
work per unit (``BUILTIN_ROUNDS``: about 20 µs on the reference machine; each record's
``unit_us`` says what it took here), so runs of one commit measure the same work; with
``unit_target_us`` the handler is calibrated at the start to take about that long instead.
Rates: a sweep from 1 line per 20 units to 5 lines per unit (:data:`RATES`; the
quick suite measures :data:`QUICK_RATES`). ``rate=1/unit`` is the CI gate's case.

Measurement, per rate: repeated A/B *pairs* in this one process, the order
alternating each pair, the rates (and fronts) taking turns pair by pair so that
each rate's pairs spread over the whole cell (this VM's speed flips for seconds). One half of a pair ("block") runs ``units`` units logging
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

Precision: each half starts after a short untimed warm-up through its logger
and a full collection, so a cold first call or a collection left over from the
other half does not land in one half of a pair (the collector stays on while
timed: collections caused by a backend's allocations are the application's cost). Pairs continue until ``min_pairs`` are done and the per-rate
time budget is spent (or ``max_pairs``); the gate's case gets the most pairs.
Each record's detail gives its interval's half-width: ``null``'s own row (null
against null) is what the run can resolve.

Rounds (:mod:`scenarios._rounds`): with ``rounds=K`` each case does a K-th of its pairs and budget
in this process; :func:`merge_rounds` pools the K processes' pairs (each record keeps its per-pair
values as ``samples``), judges the pooled intervals again and recomputes the sustainable rate. The
harness spreads the K processes over the run, so a slow spell of the machine that lasts about a
cell lands in a third of the pairs instead of all of them.

Sustainable rate: ``sustainable_lines_per_s`` is the highest *measured* rate,
in lines per second of the application's work (lines per unit / unit time),
whose whole wall-overhead interval lies below the target; never extrapolated.
It is 0 (verdict ``fail``) when no measured rate passes.

Fronts (:mod:`scenarios._fronts`): a program that logs through stdlib ``logging``
pays stdlib's machinery too. For a logbench backend the scenario also measures
``front_rates`` (default: the gate's rate, with the pairs and budget of any other
rate: only the native front is the gate) with the same calls made through a
``logging.Logger`` whose handler is the backend's (``front=bridge``) and through the
same logger accelerated by ``loggers.accelerate`` (``front=accelerated``): case
``rate=1/unit,front=bridge``. A is the same ``null`` native logger throughout, so the
three fronts' overheads compare directly: each is what logging that way costs the
program. The sustainable rate is the native front's. A peer has only its native front.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import loggers

from . import _workload
from ._common import Factory, backend_name, children_cpu_s, open_ready, remove_logs, scratch_dir
from ._fronts import FRONTS, front_case, has_stdlib_front, split_case, through
from ._results import ResultRecord
from ._rounds import pool, share
from ._stats import median, paired_overhead_pct, verdict

__all__ = ["GATE_CASE", "QUICK_RATES", "RATES", "lines_per_s", "merge_rounds", "run_overhead", "sustainable_rate"]

#: case -> (every n-th unit logs, lines per logging unit), lowest rate first.
RATES: dict[str, tuple[int, int]] = {
    "rate=1/20units": (20, 1), "rate=1/10units": (10, 1), "rate=1/4units": (4, 1), "rate=1/2units": (2, 1),
    "rate=1/unit": (1, 1), "rate=2/unit": (1, 2), "rate=5/unit": (1, 5),
}
QUICK_RATES = ("rate=1/10units", "rate=1/2units", "rate=1/unit", "rate=5/unit")
GATE_CASE = "rate=1/unit"
TARGET_PCT = 5.0
MIN_UNITS = 300
WARMUP_UNITS = 50


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
    unit_target_us: float | None = None,
    rates: tuple[str, ...] | None = None,
    target_pct: float = TARGET_PCT,
    workload: str | None = None,
    record: str | None = None,
    fronts: tuple[str, ...] = FRONTS,
    front_rates: tuple[str, ...] = (GATE_CASE,),
    rounds: int = 1,
) -> list[ResultRecord]:
    """Measure wall and CPU overhead of ``factory``'s logger over ``null`` at each rate.

    Args:
        factory: ``factory(path=..., **options) -> Logger`` for the backend under test.
        backend: name for the records (guessed from the factory if None).
        quick: small defaults for CI: :data:`QUICK_RATES`, blocks of 2000 units, 15+ pairs (0.9 s budget) at
            rate=1/unit (the CI gate's case) and 7+ at the other rates (7 pairs: the interval is [min, max],
            98% coverage).
        units: units per block; min_pairs/max_pairs/budget_s: pairs per rate and time budget (the gate's
            case gets 3x the budget and at least 15 pairs quick, 25 full).
        unit_target_us: calibrate the built-in handler to about this many µs per unit in this process
            (default: its fixed unit, ``scenarios._workload.BUILTIN_ROUNDS``).
        rates: cases of :data:`RATES` (default: all of them; quick: :data:`QUICK_RATES`).
        workload: ``package.module:callable``, the user's zero-argument unit of work, instead of the
            built-in request handler (then no calibration: a unit is one call of it).
        record: a record shape of :mod:`scenarios._records` or ``package.module:callable`` returning
            ``(msg, fields)``, logged instead of the handler's six-field record.
        fronts: of :data:`scenarios._fronts.FRONTS`; ``native`` at ``rates``, the stdlib fronts at
            ``front_rates`` (only for a logbench backend; see the module docstring).
        rounds: this process is one of ``rounds`` (:mod:`scenarios._rounds`): each case does its share
            of the pairs and budget; :func:`merge_rounds` pools the rounds' pairs.
    Raises:
        ValueError: a workload or record that cannot be imported, is not callable, or raises;
            an unknown front or rate.
        block_s: if set (quick: 0.08 s), a backend whose warm-up shows a block of ``units`` would take
            longer gets fewer units per block (at least ``MIN_UNITS``), the same for A and B.
    Returns:
        Per rate (and front): ``wall_overhead_pct``, ``cpu_overhead_pct`` (median, 95% interval, verdict)
        and ``unit_us``; then one ``sustainable_lines_per_s`` record (case ``sweep``).
    """
    name = backend_name(factory, backend)
    units = units or (2000 if quick else 10000)
    max_pairs = max_pairs or (25 if quick else 81)
    budget_s = budget_s if budget_s is not None else (0.3 if quick else 8.0)
    rates = rates or (QUICK_RATES if quick else tuple(RATES))
    block_s = block_s if block_s is not None else (0.08 if quick else None)
    _check_cases(rates, fronts, front_rates)
    work = Work.resolve(workload, record, unit_target_us)
    null_factory = functools.partial(loggers.create, "null")
    records: list[ResultRecord] = []
    with scratch_dir(workdir) as tmp:
        series = []
        for front, case in _plan(factory, tmp, rates, fronts, front_rates):
            gate = case == GATE_CASE and front == "native"  # the gate's own case gets the most pairs
            least = share(min_pairs or ((15 if quick else 25) if gate else (7 if quick else 21)), rounds)
            series.append(_Series(front, case, through(factory, front), least,
                                  max(share(max_pairs * (3 if gate else 1), rounds), least),
                                  budget_s * (3 if gate else 1) / rounds))
        _measure_pairs(null_factory, series, tmp, units, work, block_s)
        for one in series:
            records += _records(name, front_case(one.case, one.front), one.pairs, one.units, work, target_pct)
    records.append(sustainable_rate(name, records, target_pct))
    return records


def merge_rounds(rounds: Sequence[Sequence[ResultRecord]]) -> list[ResultRecord]:
    """One cell's records from its ``rounds`` processes, pooled (:func:`scenarios._rounds.pool`): each
    case's overheads over every round's A/B pairs, their verdicts against :data:`TARGET_PCT` again, and
    the sustainable rate from the pooled figures."""
    pooled = [record for record in pool(rounds) if record.metric != "sustainable_lines_per_s"]
    judged = [dataclasses.replace(record, verdict=verdict(record.low, record.high, TARGET_PCT))
              if record.metric.endswith("_overhead_pct") and record.low is not None and record.high is not None
              else record for record in pooled]
    return [*judged, sustainable_rate(judged[0].backend, judged)] if judged else judged


def _check_cases(rates: tuple[str, ...], fronts: tuple[str, ...], front_rates: tuple[str, ...]) -> None:
    """ValueError for a rate not in :data:`RATES` or a front not in :data:`scenarios._fronts.FRONTS`."""
    for case in (*rates, *front_rates):
        if case not in RATES:
            raise ValueError(f"overhead: unknown rate {case!r} (expected one of {', '.join(RATES)})")
    for front in fronts:
        if front not in FRONTS:
            raise ValueError(f"overhead: unknown front {front!r} (expected one of {', '.join(FRONTS)})")


def _plan(factory: Factory, tmp: str, rates: tuple[str, ...], fronts: tuple[str, ...],
          front_rates: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(front, rate case)`` in measuring order: native at ``rates``, then each stdlib front the backend has."""
    plan = [("native", case) for case in rates] if "native" in fronts else []
    stdlib = [front for front in fronts if front != "native"]
    if stdlib and _has_stdlib_front(factory, tmp):
        plan += [(front, case) for front in stdlib for case in front_rates]
    return plan


def _has_stdlib_front(factory: Factory, tmp: str) -> bool:
    log = factory(path=os.path.join(tmp, "probe.log"))
    try:
        return has_stdlib_front(log)
    finally:
        log.close()
        remove_logs(os.path.join(tmp, "probe.log"))


@dataclasses.dataclass(frozen=True)
class Work:
    """One unit of the application's work and the record it logs (see :mod:`scenarios._workload`)."""

    rounds: int
    unit: Callable[[], object] | None
    record: tuple[str, dict[str, Any]] | None
    label: str

    @classmethod
    def resolve(cls, workload: str | None, record: str | None, unit_target_us: float | None = None) -> Work:
        """The user's ``workload``, or the built-in handler (its fixed unit, or calibrated to ``unit_target_us``
        when given); ``record`` resolved.

        Raises ValueError for a workload or record that does not import, is not callable, or raises.
        """
        from ._records import resolve_record

        unit = _workload.resolve_workload(workload) if workload else None
        shape = resolve_record(record) if record else None
        if unit is not None:
            rounds, label = 0, f"workload {workload}"
        elif unit_target_us is None:
            rounds, label = _workload.BUILTIN_ROUNDS, f"built-in handler, rounds={_workload.BUILTIN_ROUNDS}"
        else:
            rounds = _workload.calibrate(unit_target_us)[0]
            label = f"built-in handler, rounds={rounds} (calibrated to {unit_target_us:g} us)"
        return cls(rounds, unit, shape, f"{label}; record {record or 'built-in (6 fields)'}")

    def run(self, log: Any, units: int, every: int, per_unit: int) -> int:
        return _workload.run_units(log, units, self.rounds, every=every, per_unit=per_unit,
                                   unit=self.unit, record=self.record)


def lines_per_s(case: str, unit_us: float) -> float:
    """The application's logging rate of ``case`` (a front suffix allowed): lines per unit over the unit's time."""
    every, per_unit = RATES[split_case(case)[0]]
    return per_unit / every / (unit_us * 1e-6)


def sustainable_rate(name: str, records: list[ResultRecord], target_pct: float = TARGET_PCT) -> ResultRecord:
    """The highest measured lines/s whose whole wall-overhead interval is below ``target_pct``.

    Reads the per-rate ``wall_overhead_pct`` and ``unit_us`` records of one backend's native
    front; only measured points count (no interpolation, no extrapolation). The value is 0
    (verdict ``fail``, the reason in the detail) when no measured rate passes.
    """
    unit_us = {r.case: r.value for r in records
               if r.metric == "unit_us" and r.value and split_case(r.case)[1] == "native"}
    points = sorted(
        (lines_per_s(r.case, unit_us[r.case]), r) for r in records
        if r.metric == "wall_overhead_pct" and r.case in unit_us and r.high is not None
    )
    passing = [(rate, r) for rate, r in points if r.high is not None and r.high < target_pct]
    measured = "; ".join(f"{r.case} = {rate:,.0f} lines/s: {r.value:+.1f}% [{r.low:+.1f}, {r.high:+.1f}]"
                         for rate, r in points)
    if not passing:
        return ResultRecord("overhead", name, "sweep", "sustainable_lines_per_s", 0.0, "lines/s",
                            verdict="fail", detail=f"no measured rate is wholly below {target_pct:g}%: {measured}")
    rate, best = passing[-1]
    return ResultRecord("overhead", name, "sweep", "sustainable_lines_per_s", rate, "lines/s", verdict="pass",
                        detail=f">= {rate:,.0f} lines/s at {target_pct:g}% ({best.case}); measured: {measured}")


@dataclasses.dataclass
class _Series:
    """One case's A/B pairs (``(base_block, test_block)``, each ``_block``'s tuple), measured a pair at a time."""

    front: str
    case: str
    test: Factory
    least: int
    most: int
    budget_s: float
    units: int = 0
    spent_s: float = 0.0
    pairs: list[tuple[tuple[float, ...], tuple[float, ...]]] = dataclasses.field(default_factory=list)

    def wants_more(self) -> bool:
        """At least ``least`` pairs; then more while its time budget lasts, up to ``most``."""
        done = len(self.pairs)
        return done < self.least or (done < self.most and self.spent_s < self.budget_s)


def _measure_pairs(base: Factory, series: list[_Series], tmp: str, units: int, work: Work,
                   block_s: float | None) -> None:
    """Fill each series' ``pairs``, the series taking turns pair by pair, each pair's order alternating.

    This VM flips between a fast and a slow state for seconds: one rate measured in one go could spend
    all its pairs in either, so the rates' pairs are spread over the whole cell instead. Each series is
    first warmed up (an untimed block of A and of B) and, with ``block_s``, a slow backend gets shorter
    blocks (both halves alike; at least ``MIN_UNITS``), so the budget holds.
    """
    for one in series:
        one.units = _warmed_up_units(base, one, tmp, units, work, block_s)
    while any(one.wants_more() for one in series):
        for one in series:
            if not one.wants_more():
                continue
            start = time.monotonic()
            every, per_unit = RATES[one.case]
            path = os.path.join(tmp, f"pair{len(one.pairs)}.log")
            if len(one.pairs) % 2 == 0:
                a = _block(base, path, one.units, work, every, per_unit)
                b = _block(one.test, path, one.units, work, every, per_unit)
            else:
                b = _block(one.test, path, one.units, work, every, per_unit)
                a = _block(base, path, one.units, work, every, per_unit)
            one.pairs.append((a, b))
            one.spent_s += time.monotonic() - start


def _warmed_up_units(base: Factory, one: _Series, tmp: str, units: int, work: Work, block_s: float | None) -> int:
    """Units per block for ``one``, after an untimed warm-up block of A and of B at its rate."""
    every, per_unit = RATES[one.case]
    warm = max(units // 4, 1)
    gc.collect()
    _block(base, os.path.join(tmp, "warmup.log"), warm, work, every, per_unit)
    warm_wall, _, _, warm_flush = _block(one.test, os.path.join(tmp, "warmup.log"), warm, work, every, per_unit)
    warm_s = max(warm_wall - warm_flush, 0.0)  # the per-unit cost, without the fixed final flush
    if block_s:
        return max(min(units, int(block_s / max(warm_s / warm, 1e-9))), min(units, MIN_UNITS))
    return units


def _block(
    factory: Factory, path: str, units: int, work: Work, every: int, per_unit: int
) -> tuple[float, float, float, float]:
    """(wall s, CPU s) of ``units`` units logging through a fresh logger with the final flush,
    the wall seconds the (untimed) ``close()`` took, and those of the final flush alone.

    Untimed before the timed part: a warm-up of :data:`WARMUP_UNITS` units through the
    same logger (flushed), then a full collection, so each half starts with the collector
    in the same state. The collector stays on while timed: the collections a backend's
    allocations (or its queue's live records) cause are a cost the application pays.
    """
    log = open_ready(factory, path)
    work.run(log, min(WARMUP_UNITS, units), every, per_unit)
    log.flush()
    gc.collect()
    wall, cpu, flush = _timed_units(log, units, work, every, per_unit)
    closing = time.perf_counter()
    log.close()
    closed = time.perf_counter() - closing
    remove_logs(path)
    return wall, cpu, closed, flush


def _timed_units(log: Any, units: int, work: Work, every: int, per_unit: int) -> tuple[float, float, float]:
    """(wall s, CPU s incl. child processes, final flush wall s) of ``units`` units and the final flush."""
    children0 = children_cpu_s()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    work.run(log, units, every, per_unit)
    flush0 = time.perf_counter()
    log.flush()
    wall1 = time.perf_counter()
    cpu1 = time.process_time()
    children1 = children_cpu_s()
    return wall1 - wall0, (cpu1 - cpu0) + (children1 - children0), wall1 - flush0


def _records(
    name: str, case: str, pairs: list[Any], units: int, work: Work, target_pct: float
) -> list[ResultRecord]:
    base_wall = [a[0] for a, _ in pairs]
    close_ms = median([b[2] for _, b in pairs]) * 1e3
    flush_ms = median([b[3] for _, b in pairs]) * 1e3
    detail = (f"{len(pairs)} A/B pairs of {units} units ({work.label}), null as A; final flush() timed "
              f"({flush_ms:.2f} ms median), close() not timed ({close_ms:.2f} ms median)")
    records = []
    for metric, idx in (("wall_overhead_pct", 0), ("cpu_overhead_pct", 1)):
        base = [max(a[idx], 1e-9) for a, _ in pairs]
        est = paired_overhead_pct(base, [b[idx] for _, b in pairs])
        records.append(ResultRecord(
            "overhead", name, case, metric, est.value, "%", low=est.low, high=est.high, samples=est.samples,
            verdict=verdict(est.low, est.high, target_pct),
            detail=f"{detail}; interval coverage {est.coverage:.3f}, half-width {(est.high - est.low) / 2:.2f} points",
        ))
    records.append(ResultRecord("overhead", name, case, "unit_us", median(base_wall) / units * 1e6, "us",
                                samples=tuple(wall / units * 1e6 for wall in base_wall), detail="median wall time of one unit with the null backend, logging included"))
    return records
