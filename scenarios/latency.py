"""latency — how long one logging call holds up the caller: p50 … p99.9 and max.

Cases (each with its own logger in a scratch directory):

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

Repetitions: each case runs ``repeats`` (9) short repetitions of ``calls // repeats`` calls, each on
a fresh logger (created and flushed untimed, its last records flushed untimed, closed), so a scheduler
stall lands in one repetition instead of deciding the whole figure. The cases take turns, repetition
by repetition (steady 1, rotating 1, paced 1, steady 2, ...), so each case's repetitions spread over
the whole cell. Both because one logger's repetitions are not independent on this VM: a
``thread-queue`` logger's steady p50 read ~330 or ~600 ns and mostly kept to one for its life (its
writer thread's placement), and the machine flips between a fast and a slow state for about as long
as one case takes. Each percentile is computed per repetition (nearest rank) and
reported as the median over the repetitions with its distribution-free 95% interval
(``scenarios._stats.median_interval``; 9 repetitions: ``[2nd, 8th]`` of the sorted values, coverage
0.961). Tails are treated honestly: one stall moves one repetition's p99.9 and max, which the median
ignores and the interval shows; on top, the ``stalls`` record counts stall episodes over the pooled
repetitions (runs of consecutive calls over ``STALL_NS``, 1 ms; in the paced case the
coordinated-omission correction makes one stall a run of late calls), with the count per repetition
in its detail; ``stalled_calls_pct`` is the largest share of one repetition's calls a stall decided
(``stalled_calls``: over ``STALL_NS``, and the calls right behind one still over a tenth of it; in the
paced case a stall of 5 ms makes 50 late calls, so it can reach p90, not only the tails).

Calibration: each repetition runs in ``CHUNKS`` (8) chunks of its calls (fewer for a repetition under
``8 * MIN_CHUNK`` calls; a paced chunk starts its own schedule), and before each chunk
:mod:`scenarios._calibrate` times a block of a fixed encode + write, no backend involved
(``CALIBRATION_WRITES``, 1024 per repetition, ~8 ms; paced, 256 at the case's rate, ~26 ms), in the
case's directory, in the rotating case under a ``flock`` with a ``stat`` of the path (what a
size-rotating write shared between processes pays). A repetition's calibration writes show the
machine at the moments its calls were timed (this VM flips between speeds within a second);
``calibration_ns`` per case is the median of their per-repetition p50 with its interval. Each
percentile also has a relative twin (``p50_per_calibration`` ... ``max_per_calibration``): per
repetition the percentile over the same percentile of that repetition's calibration writes (a tail
against the machine's tail), median and interval. After each block of calibration writes the chunk
also times back-to-back calls of a ``null`` logger (:data:`NULL_CALLS` per repetition), the
interpreter's speed at that moment, and each percentile has a second twin against them
(``p50_per_null`` ... ``max_per_null``).

Rounds (:mod:`scenarios._rounds`): with ``rounds=K`` this process does a K-th of the repetitions,
calls and budget, and :func:`merge_rounds` pools the K processes' repetitions (the harness spreads
them over the run: a slow spell of the machine lasts about a cell). ``compare`` judges the case's timings relative to
the machine that way too, so a machine or kernel that got slower, between two runs or within one, is
not called a regression of the backend.

``flush``/``close`` are not timed here (the overhead and throughput scenarios
include them). Each repetition stops early when its share of the time budget
(``budget_s / repeats``) is spent, checked every 64 calls, so a slow backend
cannot stretch the quick suite; the detail gives the calls measured.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import loggers

from ._calibrate import Calibration, calibration_record, relative_record
from ._common import Factory, backend_name, open_ready, scratch_dir
from ._results import ResultRecord
from ._rounds import pool, share
from ._stats import median_interval, percentile

__all__ = ["CASES", "PERCENTILES", "REPEATS", "STALL_NS", "TWIN_DECIDES_CASES", "TWIN_DECIDES_FROM",
           "TWIN_DECIDES_METRICS", "merge_rounds", "run_latency", "stall_episodes", "stalled_calls"]

CASES = ("steady", "rotating", "paced")
#: metric -> percentile (100 = max)
PERCENTILES = {"p50_ns": 50.0, "p90_ns": 90.0, "p99_ns": 99.0, "p99_9_ns": 99.9, "max_ns": 100.0}
#: repetitions per case: 9 gives the [2nd, 8th] order statistics as a 96% interval of the median
REPEATS = 9
#: a call (or, paced, a lateness) over this is a stall
STALL_NS = 1_000_000
#: calibration writes per repetition: enough that their p99 is the 10th slowest, not the 3rd (a tail's twin is
#: measured against it); paced writes wait for their due time like the case's calls, so fewer there
CALIBRATION_WRITES = 1024
PACED_CALIBRATION_WRITES = 256
#: the figure whose relative twin follows the machine closely enough to decide alone (``compare``): the steady
#: case's p50 (the p50 of 1024 calibration writes is well measured; their p99.9 and max are one or two writes).
#: Over 12 gate-test sets on 2026-12-02 its same-commit twin moved 1.52-1.69 (1.11x) where the ns figure moved
#: 9.9-19.2 us (1.94x) and the planted 30% slowdown moved the twin beyond its intervals in every set. The
#: steady p90 and the rotating p50/p90 twins, which decided alone before, moved up to 1.20x, 1.22x and 1.47x
#: there and made all 7 same-commit false alarms of those sets (docs/regression-gate.md); the paced case's twins
#: follow less still (a paced write waits its due time, so fewer calibration writes). Elsewhere a regression
#: must show in ns (beyond ``null``'s drift) and in the twin.
TWIN_DECIDES_CASES = ("steady",)
TWIN_DECIDES_METRICS = ("p50_ns",)
#: ... and only for a backend whose calls cost at least this share of a calibration write in both runs: a call
#: doing the same kind of work (encoding and writing in the caller, as ``sync`` does). A call far cheaper
#: (a queue hand-off: ``thread-queue`` 0.13, ``mmap`` 0.4) is interpreter-bound, moves with the CPU more
#: than with the write path, and is judged in ns, relative to ``null`` and to the twin together.
TWIN_DECIDES_FROM = 0.5
#: calls of a ``null`` logger timed back to back per repetition, split over its chunks beside the calibration
#: writes: the interpreter's speed at those moments (a cheap call such as a queue hand-off moves with it, not
#: with the write path: ``thread-queue``'s steady p50 went 400 -> 721 ns between same-commit runs with its
#: calibration twin up 16%, 2026-12-06), the reference of the ``*_per_null`` twins
NULL_CALLS = 1024
#: a repetition's calls run in up to this many chunks of at least MIN_CHUNK calls, each after a block of
#: calibration writes
CHUNKS = 8
MIN_CHUNK = 64


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
    rounds: int = 1,
) -> list[ResultRecord]:
    """Per-call caller latency of ``factory``'s logger for each case, repeated ``repeats`` times.

    Args:
        calls: calls per case over all repetitions (quick: 20 000; else 200 000).
        rate_per_s: the paced case's rate (10 000/s); it runs ``calls // 4`` calls.
        rotate_bytes: ``max_bytes`` of the rotating case.
        budget_s: seconds per case at most, shared by the repetitions (quick: 0.5; else 20).
        repeats: repetitions per case (at least 1).
        rounds: this process is one of ``rounds`` (:mod:`scenarios._rounds`): it does its share of the
            repetitions, calls and budget; :func:`merge_rounds` pools the rounds' records.
    Returns:
        Per case the metrics of ``PERCENTILES`` in ns (median over repetitions, ``low``/``high`` its
        95% interval), each with its relative twin (``scenarios._calibrate.relative_record``),
        ``stalls`` (count, pooled), ``stalled_calls_pct`` (the worst repetition's share of calls a
        stall decided) and ``calibration_ns`` (the machine's speed beside them), or one "not
        supported" record.
    Raises:
        ValueError: ``repeats`` below 1.
    """
    if repeats < 1:
        raise ValueError(f"repeats: expected at least 1, got {repeats!r}")
    name = backend_name(factory, backend)
    calls = share(calls or (20_000 if quick else 200_000), rounds)
    rate = rate_per_s or 10_000.0
    budget = (budget_s if budget_s is not None else (0.5 if quick else 20.0)) / rounds
    repeats = share(repeats, rounds)
    records: dict[str, list[ResultRecord]] = {}
    live = list(cases)  # the cases the backend takes
    reps: dict[str, list[array[int]]] = {case: [] for case in cases}
    machine: dict[str, list[list[int]]] = {case: [] for case in cases}
    nulls: dict[str, list[list[int]]] = {case: [] for case in cases}
    counts: dict[str, dict[str, int]] = {case: {"rotations": 0, "dropped": 0} for case in cases}
    per_rep = {case: max((calls // 4 if case == "paced" else calls) // repeats, 1) for case in cases}
    with scratch_dir(workdir) as tmp, Calibration(tmp) as calibration, _null_logger(tmp) as null_log:
        for _ in range(repeats):  # the cases take turns, repetition by repetition, each on a fresh logger
            for case in list(live):
                try:
                    log = _open_case(factory, tmp, case, rotate_bytes)
                except TypeError as exc:
                    live.remove(case)
                    records[case] = [ResultRecord("latency", name, case, "p99_9_ns", None, "ns",
                                                  status="not supported", detail=f"TypeError: {exc}")]
                    continue
                try:
                    samples, beside, interpreter = _repetition(log, case, per_rep[case], rate, budget / repeats,
                                                               _calibrator(calibration, case, rate), null_log)
                finally:
                    log.close()
                reps[case].append(samples)
                machine[case].append(beside)  # sorted
                nulls[case].append(interpreter)  # sorted
                stats = log.stats()
                for key in counts[case]:
                    counts[case][key] += int(stats.get(key, 0))
    for case in live:
        detail = (f"{repeats} repetitions of up to {per_rep[case]} calls ({sum(len(r) for r in reps[case])} "
                  f"calls), each on a fresh logger, taking turns with the other cases; "
                  f"rotations={counts[case]['rotations']} dropped={counts[case]['dropped']}")
        if case == "paced":
            detail += f"; {rate:g}/s, measured from the intended start (coordinated-omission corrected)"
        records[case] = [*_percentile_records(name, case, reps[case], machine[case], nulls[case], detail),
                         _calibration_record(name, case, [int(percentile(m, 50.0)) for m in machine[case]])]
    return [record for case in cases for record in records[case]]


def merge_rounds(rounds: Sequence[Sequence[ResultRecord]]) -> list[ResultRecord]:
    """One cell's records from its ``rounds`` processes, pooled (:func:`scenarios._rounds.pool`): the
    percentiles, their twins and the calibration over every round's repetitions, the stall episodes
    summed, ``stalled_calls_pct`` the worst repetition's of any round."""
    return pool(rounds, {"stalled_calls_pct": max})


def _open_case(factory: Factory, tmp: str, case: str, rotate_bytes: int) -> Any:
    """A ready logger for one repetition of ``case``, on the case's file (a rotating case's repetitions continue
    its rotation); TypeError when the backend does not take the case's options (``max_bytes`` for ``rotating``)."""
    path = os.path.join(tmp, f"{case}.log")
    options: dict[str, Any] = {"max_bytes": rotate_bytes, "backup_count": 2} if case == "rotating" else {}
    return open_ready(factory, path, **options)


def _calibrator(calibration: Calibration, case: str, rate: float) -> Callable[[int], list[int]]:
    """``calibrate(writes)`` for ``case``: paced at the case's rate, under a lock with a ``stat`` when rotating."""
    def calibrate(writes: int) -> list[int]:
        return calibration.times(writes, int(1e9 / rate) if case == "paced" else 0, locked=case == "rotating")
    return calibrate


def _calibration_record(name: str, case: str, samples: list[int]) -> ResultRecord:
    """The machine's speed in this case (paced and rotating cases calibrate their own way)."""
    writes = _calibration_writes(case)
    how = {"paced": f"{writes} paced", "rotating": f"{writes} flock + stat +"}.get(case, f"{writes}")
    return calibration_record("latency", name, case, samples, how,
                              f"in up to {CHUNKS} blocks between the chunks of each repetition, p50 per repetition")


def _calibration_writes(case: str) -> int:
    """Calibration writes per repetition of ``case``."""
    return PACED_CALIBRATION_WRITES if case == "paced" else CALIBRATION_WRITES


def _repetition(log: Any, case: str, calls: int, rate: float, budget_s: float,
                calibrate: Callable[[int], list[int]], null_log: Any) -> tuple[array[int], list[int], list[int]]:
    """One repetition of ``case`` in up to ``CHUNKS`` chunks of at least ``MIN_CHUNK`` calls, each after a
    block of ``calibrate(writes)`` (``_calibration_writes(case)`` in all) and a block of back-to-back calls
    of ``null_log`` (:data:`NULL_CALLS` in all), then an untimed ``flush()`` so the next one starts with
    nothing queued: ``(latencies, the calibration writes' ns, sorted, the null calls' ns, sorted)``.

    The machine on this VM flips between speeds within a second; calibrating between the chunks of the
    repetition measures it at the moments the calls were timed, so the relative twin cancels a flip.
    A paced chunk starts its own schedule (a backlog at a chunk's end is not carried into the next).
    """
    chunks = max(1, min(CHUNKS, calls // MIN_CHUNK))
    samples: array[int] = array("q")
    machine: list[int] = []
    interpreter: list[int] = []
    for chunk in range(chunks):
        machine += calibrate(_calibration_writes(case) // chunks)
        interpreter += _steady(null_log, NULL_CALLS // chunks, 1.0)
        part = calls // chunks + (calls % chunks if chunk == chunks - 1 else 0)
        timed = _paced(log, part, rate, budget_s / chunks) if case == "paced" else _steady(log, part, budget_s / chunks)
        samples += timed
        if len(timed) < part:  # the budget ran out
            break
    log.flush(timeout=10.0)
    machine.sort()
    interpreter.sort()
    return samples, machine, interpreter


@contextlib.contextmanager
def _null_logger(tmp: str) -> Iterator[Any]:
    """A ready ``null`` logger (the harness's baseline: it writes nothing) for the calls timed beside each chunk."""
    log = open_ready(functools.partial(loggers.create, "null"), os.path.join(tmp, "null-beside.log"))
    try:
        yield log
    finally:
        log.close()


def stall_episodes(samples: Sequence[int], stall_ns: int = STALL_NS) -> int:
    """Runs of consecutive samples over ``stall_ns``: one stall, however many calls waited behind it."""
    episodes, inside = 0, False
    for sample in samples:
        over = sample > stall_ns
        episodes += over and not inside
        inside = over
    return episodes


def stalled_calls(samples: Sequence[int], stall_ns: int = STALL_NS, settle_ns: int = STALL_NS // 10) -> int:
    """Calls that a stall decided: each over ``stall_ns``, and the calls right after one that are still
    over ``settle_ns`` (in the paced case the calls that waited behind the stall, the coordinated-omission
    ramp down from it; in the steady case the next call is back to normal at once)."""
    count, behind = 0, False
    for sample in samples:
        if sample > stall_ns:
            behind = True
        elif sample <= settle_ns:
            behind = False
        count += behind
    return count


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


def _percentile_records(name: str, case: str, reps: list[array[int]], machine: list[list[int]],
                        nulls: list[list[int]], detail: str) -> list[ResultRecord]:
    """Per metric: the median over repetitions of the per-repetition percentile, with its interval, and
    its relative twins: each repetition's percentile over the same percentile of its calibration writes
    (``machine``, sorted, one list per repetition), so a tail is measured against the machine's tail,
    and over that of the ``null`` calls timed beside it (``nulls``: the interpreter's speed)."""
    ordered = [sorted(rep) for rep in reps]
    records = []
    for metric, pct in PERCENTILES.items():
        figures = [percentile(rep, pct) for rep in ordered]
        est = median_interval(figures)
        records.append(ResultRecord("latency", name, case, metric, est.value, "ns", low=est.low, high=est.high,
                                    samples=est.samples, detail=f"{detail}; median of per-repetition values, "
                                           f"interval coverage {est.coverage:.3f}"))
        beside = [float(percentile(writes, pct)) for writes in machine]
        records.append(relative_record("latency", name, case, metric, figures, beside,
                                       over=f"the same percentile of its {len(machine[0])} calibration writes"))
        interpreter = [float(max(percentile(calls, pct), 1)) for calls in nulls]
        records.append(relative_record("latency", name, case, metric, figures, interpreter, reference="null",
                                       over=f"the same percentile of {len(nulls[0])} null-logger calls timed beside it"))
    per_rep = [stall_episodes(rep) for rep in reps]
    records.append(ResultRecord("latency", name, case, "stalls", sum(per_rep), "count",
                                detail=f"episodes of calls over {STALL_NS / 1e6:g} ms, pooled over repetitions; "
                                       f"per repetition {per_rep}; {detail}"))
    shares = [100.0 * stalled_calls(rep) / max(len(rep), 1) for rep in reps]
    records.append(ResultRecord("latency", name, case, "stalled_calls_pct", max(shares), "%",
                                detail=f"the largest share of one repetition's calls a stall decided (over "
                                       f"{STALL_NS / 1e6:g} ms, and the calls after one still over "
                                       f"{STALL_NS / 1e7:g} ms; a repetition whose calls were 10% stalled has a "
                                       f"stall for its p90); per repetition {[round(x, 2) for x in shares]}"))
    return records
