"""Comparing two runs, and the CI gate on one run. Pure functions over tables; cli.py prints and exits.

Compare (OLD vs NEW, matched on scenario/backend/case/metric, summary rows only). One rule for every
figure that has a direction (overhead percentages ``*_overhead_pct``; lower-is-better latency ns, memory
bytes, lag ms; higher-is-better records/s):

* a **regression** when the change is beyond ``threshold`` (percentage points for overhead, percent of
  OLD for the others) in the bad direction AND the two 95% intervals do not overlap (for
  lower-is-better: NEW low > OLD high), so noise alone is not called a regression;
* a change beyond ``threshold`` whose intervals overlap is listed as ``within noise``;
* a change beyond ``threshold`` of a figure where either side has no interval (``low``/``high`` null:
  older result files) is listed as ``unjudged``: reported, never failing;
* an improvement is a change beyond ``threshold`` the other way (intervals apart, or not known);
* **timings allow for the machine**: two runs minutes apart can differ as a whole (CPU frequency, steal
  time on a VM, another job), by more than any within-run interval shows. A latency ``_ns``, loop-lag
  ``_ms`` or ``records_per_s`` figure of a backend may therefore move by ``threshold`` plus however much
  the ``null`` backend's same figure (same scenario, case and metric) moved between the two runs before
  it counts; ``null``'s own timing changes are listed as ``baseline moved``, never failing (they measure
  the machine and the harness, not a backend). Where ``null`` could not run a case (it takes no rotation
  options), its figure from the first case of that scenario it did run stands in (latency ``rotating``
  allows for ``null``'s ``steady``). Without ``null`` in both runs, the plain threshold applies. Bytes and
  overhead points (A/B-paired within the run) are judged as they are;
* **and for the kernel**: ``null`` shows the interpreter's speed, not the write path's (``sync``'s p50
  moved 1.8x between same-commit runs while ``null``'s moved 1-25%). A cell that carries a
  ``calibration_ns`` record (a fixed encode + write timed between the cell's own repetitions,
  scenarios/_calibrate.py) has its timings judged relative to it as well. Where both runs carry the
  figure's relative twin (``p50_per_calibration``, ``records_per_calibration``: repetition by repetition
  the figure over the calibration sampled beside it, with its own interval), a regression must also be
  a regression of the twin, else ``within drift``; likewise of its twin against the ``null`` logger
  calls timed in the same gaps (latency ``p50_per_null`` ...: the interpreter's speed beside the
  calls; a queue hand-off slows with the interpreter more than a calibration write does). For the latency figures whose twins follow the
  machine closely (``scenarios.latency.TWIN_DECIDES_*``: the steady case's p50) the twin
  decides alone: worse beyond ``threshold`` with intervals apart is a regression even when the ns
  figure hid it in a faster phase of the machine (unless NEW's stalls explain it, below). Older files without twins: when the calibration
  moved beyond its noise (its two intervals apart), a regression must also hold with the figure
  divided by its cell's calibration median (records/s: multiplied), else ``within drift``.
  ``calibration_ns`` itself measures the machine: its moves are listed as ``machine moved``, never failing;
* **not judged, listed**: the ``max_ns`` of a cell whose ``stalls``
  record counted stall episodes (calls over 1 ms) in NEW, unless NEW counted over 4x OLD's and at
  least 10 more (then the stalls are the regression) (``stalled``: one scheduler stall of a few ms
  decides a max), and any percentile ``p`` (p99 and p99.9 included: until 2026-12-02 any stall episode
  excused them, and two stalls in 20 000 calls, which cannot make a p99, hid the planted ``hiccup``'s
  p99 13.7 -> 87.1 us) of a cell where one of NEW's repetitions had (100 - p)% or
  more of its calls stalled (its ``stalled_calls_pct``; in a paced case one 5 ms stall makes 50 late
  calls). OLD's stalls excuse nothing: a stall only lengthens calls, so OLD's can hide a regression but
  never fake one; and throughput with more than one producer thread (``contended``): on a
  2-core machine those figures measure lock and GIL hand-over as much as the backend, and two runs of
  the same commit minutes apart differed by up to 64% with their intervals apart (docs/regression-gate.md).
  The single-thread throughput and every latency percentile of a stall-free cell stay judged;
* correctness: a record with verdict ``defect`` in NEW that was not ``defect`` in OLD;
* a cell that FAILED in NEW but not in OLD.

Every judged line names both figures with their intervals, ``value [low, high]``.

Gate (``nox -s bench``): fails on any ``defect`` verdict of a reference backend (a
peer's defects are findings about that library, listed but not failing CI), or when
not one reference backend (``null`` excluded) has a non-``fail`` wall overhead verdict
at rate=1/unit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scenarios._calibrate import relative_metric
from scenarios.latency import PERCENTILES, TWIN_DECIDES_CASES, TWIN_DECIDES_FROM, TWIN_DECIDES_METRICS
from scenarios.overhead import GATE_CASE

from .store import number as _num

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Finding", "compare", "gate"]

KEY = ["scenario", "backend", "case", "metric"]
LOWER_IS_BETTER_SUFFIXES = ("_ns", "_bytes", "_ms")
HIGHER_IS_BETTER = ("records_per_s", "sustainable_lines_per_s")
BASELINE = "null"
#: metrics whose threshold grows by how much BASELINE's same figure moved (timings)
DRIFTING_SUFFIXES = ("_ns", "_ms")
DRIFTING_METRICS = ("records_per_s",)
#: tail figures, not judged in a NEW cell that counted stall episodes (its ``stalls`` record)
TAIL_METRICS = ("p99_ns", "p99_9_ns", "max_ns")
#: tails a single stall episode decides (one call over 1 ms in a repetition is its max); the percentiles
#: below it are excused only by the share of NEW's calls that stalled (``stalled_calls_pct``)
EPISODE_TAILS = ("max_ns",)
#: a cell's own measure of the machine (scenarios/_calibrate.py): its timings are judged relative to it too
CALIBRATION = "calibration_ns"


@dataclasses.dataclass(frozen=True)
class Finding:
    """One line of a comparison or gate: ``bad`` findings make the command exit non-zero."""

    kind: str  # "regression", "new defect", "new failure", "improvement", "within noise", "unjudged",
    #            "defect", "overhead", "note"
    text: str
    bad: bool


def _index(frame: pd.DataFrame) -> dict[tuple[str, ...], dict[str, Any]]:
    from .store import plain_rows

    return {tuple(str(row[k]) for k in KEY): row for row in plain_rows(frame) if row["trial"] is None}


def _first_line(text: Any, limit: int = 160) -> str:
    """The telling line of a detail: the first, or for a traceback its last (the exception)."""
    lines = [line for line in str(text or "").strip().splitlines() if line.strip()] or [""]
    line = lines[-1] if lines[0].startswith("Traceback") else lines[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _direction(metric: str) -> str | None:
    if metric.endswith("_overhead_pct"):
        return "points"
    if metric in HIGHER_IS_BETTER:
        return "higher"
    if metric.endswith(LOWER_IS_BETTER_SUFFIXES):
        return "lower"
    return None


def _interval(row: dict[str, Any]) -> tuple[float, float] | None:
    """``(low, high)`` of a record, or None when it carries no interval."""
    low, high = _num(row["low"]), _num(row["high"])
    return None if low is None or high is None else (low, high)


def _show(value: float, interval: tuple[float, float] | None, points: bool) -> str:
    """``value [low, high]`` (``+x.x%`` style for overhead points), ``[no interval]`` when there is none."""
    def text(x: float) -> str:
        return f"{x:+.1f}%" if points else f"{x:.4g}"

    bounds = f"[{text(interval[0])}, {text(interval[1])}]" if interval else "[no interval]"
    return f"{text(value)} {bounds}"


def _drifts(metric: str) -> bool:
    return metric.endswith(DRIFTING_SUFFIXES) or metric in DRIFTING_METRICS


@dataclasses.dataclass(frozen=True)
class Context:
    """What judging one figure may allow for: BASELINE's same figure in OLD and NEW (rows or None),
    the stall episodes counted in the figure's cell in OLD and NEW (or None), the cell's
    ``calibration_ns`` rows in OLD and NEW (or None), its ``stalled_calls_pct`` (the worst
    repetition's share of stalled calls) in OLD and NEW (or None), the figure's relative twin
    (``scenarios._calibrate.relative_metric``) in OLD and NEW (or None), and its twin against the
    ``null`` calls timed beside it (``relative_metric(metric, "null")``) in OLD and NEW (or None)."""

    baselines: tuple[dict[str, Any] | None, dict[str, Any] | None] = (None, None)
    stalls: tuple[float | None, float | None] = (None, None)
    calibrations: tuple[dict[str, Any] | None, dict[str, Any] | None] = (None, None)
    stalled_pct: tuple[float | None, float | None] = (None, None)
    relatives: tuple[dict[str, Any] | None, dict[str, Any] | None] = (None, None)
    null_relatives: tuple[dict[str, Any] | None, dict[str, Any] | None] = (None, None)


NO_CONTEXT = Context()


def _baseline_move(metric: str, baselines: tuple[dict[str, Any] | None, dict[str, Any] | None]) -> float | None:
    """How many percent BASELINE's figure moved between the runs (either way), or None if not known."""
    if not _drifts(metric) or baselines[0] is None or baselines[1] is None:
        return None
    before, after = _num(baselines[0]["value"]), _num(baselines[1]["value"])
    if before is None or after is None or before <= 0 or after <= 0:
        return None
    return (max(before, after) / min(before, after) - 1.0) * 100.0


def _divided(row: dict[str, Any], reference: dict[str, Any] | None, *, inverse: bool = False) -> dict[str, Any] | None:
    """``row``'s value and interval divided by the reference's value (its median: the machine's speed),
    or multiplied by it when ``inverse`` (a records/s figure against a time per call)."""
    base = None if reference is None else _num(reference["value"])
    value, interval = _num(row["value"]), _interval(row)
    if base is None or base <= 0 or value is None or interval is None:
        return None
    scale = base if inverse else 1.0 / base
    return {**row, "value": value * scale, "low": interval[0] * scale, "high": interval[1] * scale}


def _worse_relative(metric: str, old: dict[str, Any], new: dict[str, Any], threshold: float,
                    references: tuple[dict[str, Any] | None, dict[str, Any] | None]) -> bool:
    """True if the figure divided by a reference of its own run (BASELINE's same figure, or the cell's
    calibration) got worse beyond ``threshold`` with intervals apart: a slowdown that a machine slower
    as a whole does not explain. True when the reference is missing on either side."""
    inverse = _direction(metric) == "higher" and any(
        ref is not None and str(ref["metric"]) == CALIBRATION for ref in references)
    old_ratio = _divided(old, references[0], inverse=inverse)
    new_ratio = _divided(new, references[1], inverse=inverse)
    if old_ratio is None or new_ratio is None:
        return True
    finding = _plain_change(metric, old_ratio, new_ratio, threshold)
    return finding is not None and finding.kind == "regression"


def _machine_moved(calibrations: tuple[dict[str, Any] | None, dict[str, Any] | None]) -> bool:
    """True when a cell's calibration moved beyond its own noise between the runs: both sides measured
    and their intervals apart. A calibration that moved within its noise excuses nothing (its median
    is then as likely the noise as the machine, and dividing by it would only blur a real change)."""
    old, new = calibrations
    if old is None or new is None:
        return False
    before, after = _interval(old), _interval(new)
    return before is not None and after is not None and (after[0] > before[1] or after[1] < before[0])


def _calibration_excuses(metric: str, old: dict[str, Any], new: dict[str, Any], threshold: float,
                         context: Context) -> str | None:
    """Why a reference timed beside the figure explains a regression of ``metric`` (None: none does).
    With relative twins on both sides, the twins decide: against the calibration writes and against the
    ``null`` calls timed beside it (the interpreter's speed), a regression must be a regression of each
    twin the two runs carry, else the machine moved under the repetitions. Without twins (older files),
    the calibration's median divides the figure, and only when the calibration moved beyond its noise."""
    carried = [(old_twin, new_twin, reference)
               for (old_twin, new_twin), reference in ((context.relatives, "calibration"),
                                                       (context.null_relatives, BASELINE))
               if old_twin is not None and new_twin is not None]
    for old_twin, new_twin, reference in carried:
        twin = _plain_change(metric, old_twin, new_twin, threshold)
        if twin is None or twin.kind != "regression":
            return _twin_unmoved(metric, old_twin, new_twin, reference)
    if carried:
        return None
    if _machine_moved(context.calibrations) and not _worse_relative(metric, old, new, threshold, context.calibrations):
        before, after = (_num(row["value"]) if row else None for row in context.calibrations)
        return f"not relative to this cell's {CALIBRATION} ({before:.4g} -> {after:.4g}): the machine moved with it"
    return None


def _relabel(finding: Finding, kind: str, why: str) -> Finding:
    """``finding`` as a non-failing ``kind``, its parenthesis extended by ``why``."""
    return Finding(kind, f"{finding.text[:-1]}; {why})", False)


def _change(metric: str, old: dict[str, Any], new: dict[str, Any], threshold: float,
            context: Context = NO_CONTEXT) -> Finding | None:
    """The finding for one figure present in both runs, or None when it did not move beyond its threshold.

    A regression by the plain rule is excused (listed, not failing) when the module docstring says so:
    BASELINE's own timing, a move the machine explains, or tails of a cell that saw stalls."""
    if metric == CALIBRATION:
        finding = _plain_change(metric, old, new, threshold)
        if finding is None or finding.kind != "regression":
            return finding
        return _relabel(finding, "machine moved", "a calibration measures the machine: this cell's timings allow for it")
    moved = _baseline_move(metric, context.baselines)
    if moved is not None and str(new["backend"]) == BASELINE:
        finding = _plain_change(metric, old, new, threshold)
        if finding is None or finding.kind != "regression":
            return finding
        return _relabel(finding, "baseline moved", "the machine or the harness: other backends' timings allow for it")
    if _twin_decides(new, context):
        return _judged_by_twin(metric, old, new, threshold, context)
    finding = _plain_change(metric, old, new, threshold, moved or 0.0)
    if moved and (finding is None or finding.kind == "within noise"):
        plain = _plain_change(metric, old, new, threshold)
        if plain is not None and plain.kind == "regression":
            return _relabel(plain, "within drift", f"within the {moved:.0f}% that {BASELINE} moved")
    if finding is None or finding.kind != "regression":
        return finding
    if moved is not None and not _worse_relative(metric, old, new, threshold, context.baselines):
        return _relabel(finding, "within drift", f"not relative to {BASELINE}: the machine moved with it")
    excused = _calibration_excuses(metric, old, new, threshold, context)
    if excused:
        return _relabel(finding, "within drift", excused)
    if metric in HIGHER_IS_BETTER and _producer_threads(str(new["case"])) > 1:
        return _relabel(finding, "contended", "not judged: several producer threads on this machine measure "
                                              "scheduling as much as the backend")
    stalled = _stalls_explain(metric, context)
    return _relabel(finding, "stalled", stalled) if stalled else finding


def _stalls_explain(metric: str, context: Context) -> str | None:
    """Why stalls in NEW's cell, not the backend's code, decide a percentile that got worse (None: they
    do not). Stalls only ever lengthen calls: OLD's can hide a regression, never fake one, so only NEW's
    excuse it."""
    stalls = [count or 0 for count in context.stalls]
    if metric in EPISODE_TAILS and stalls[1] and not _stalls_more(stalls[0], stalls[1]):
        return f"tails not judged: {stalls[0]:g} and {stalls[1]:g} stall episodes (calls over 1 ms) in the two cells"
    shares = [share or 0.0 for share in context.stalled_pct]
    above = PERCENTILES.get(metric)  # the max (100) is a tail: the stall-count rule above judges it
    if above is not None and above < 100.0 and shares[1] >= 100.0 - above:
        return (f"not judged: up to {shares[1]:.3g}% of a repetition's calls stalled (over 1 ms, or behind a "
                f"stall) in NEW's cell, enough to make its p{above:g}")
    return None


def _judged_by_twin(metric: str, old: dict[str, Any], new: dict[str, Any], threshold: float,
                    context: Context) -> Finding | None:
    """A timing whose relative twin follows the machine closely (``_twin_decides``), twins on both
    sides: the twin decides. Worse beyond ``threshold`` with intervals apart is a regression even
    when the ns figure hid it (a faster phase of the machine), unless NEW's stalls explain it (they
    lengthen the calls, not the calibration writes) or the ns figure itself got better beyond
    ``threshold`` with intervals apart (the calibration writes then sped up more than the calls: in
    every same-commit pair this rule flagged on 2026-12-02, 5 of them, the calls were 20-33% faster in
    ns); a move in ns that the twin does not show is ``within drift``."""
    old_twin, new_twin = context.relatives
    assert old_twin is not None and new_twin is not None
    twin = _plain_change(metric, old_twin, new_twin, threshold)
    absolute = _plain_change(metric, old, new, threshold)
    worse_in_ns = absolute is not None and absolute.kind == "regression"
    if twin is None or twin.kind != "regression":
        if absolute is not None and worse_in_ns:
            return _relabel(absolute, "within drift", _twin_unmoved(metric, old_twin, new_twin))
        return absolute
    finding = Finding("regression", f"{twin.text[:-1]}; in ns {_moved(old, new)})", True)
    if absolute is not None and absolute.kind == "improvement":
        return _relabel(finding, "within drift", "faster in ns beyond the threshold, intervals apart: the "
                                                 "calibration writes sped up more than the calls")
    stalled = _stalls_explain(metric, context)
    return _relabel(finding, "stalled", stalled) if stalled else finding


def _twin_unmoved(metric: str, old_twin: dict[str, Any], new_twin: dict[str, Any],
                  reference: str = "calibration") -> str:
    """Why a move in ns is the machine's: the figure's twin against ``reference`` did not move with it."""
    what = "the calibration" if reference == "calibration" else f"the {reference} calls timed beside it"
    return (f"not relative to {what} repetition by repetition: {relative_metric(metric, reference)} "
            f"{_moved(old_twin, new_twin)}")


def _moved(old: dict[str, Any], new: dict[str, Any]) -> str:
    """``old [low, high] -> new [low, high]`` of two rows."""
    return f"{_show(_num(old['value']) or 0.0, _interval(old), False)} -> {_show(_num(new['value']) or 0.0, _interval(new), False)}"


def _twin_decides(new: dict[str, Any], context: Context) -> bool:
    """True for a latency figure whose twin follows the machine closely (``scenarios.latency``'s
    ``TWIN_DECIDES_CASES`` and ``TWIN_DECIDES_METRICS``) when both runs carry it."""
    old_twin, new_twin = context.relatives
    if old_twin is None or new_twin is None:
        return False
    return (str(new["scenario"]) == "latency" and str(new["case"]) in TWIN_DECIDES_CASES
            and str(new["metric"]) in TWIN_DECIDES_METRICS
            and min(_num(old_twin["value"]) or 0.0, _num(new_twin["value"]) or 0.0) >= TWIN_DECIDES_FROM)


def _stalls_more(before: float, after: float) -> bool:
    """True when NEW's cell counted many more stall episodes than OLD's (over 4x and at least 10 more):
    then the stalls are the regression (a backend that now stalls), and its tails are judged. Same-commit
    cells here differed by up to 9 -> 22 episodes; a planted 20 us sleep every 100 calls made 48
    against sync's 4 in one CI run, and excusing its tails hid it."""
    return after >= 4 * before + 10


def _producer_threads(case: str) -> int:
    """``threads=N`` cases (throughput) -> N; every other case -> 1."""
    name, _, value = case.partition("=")
    return int(value) if name == "threads" and value.isdigit() else 1


def _plain_change(metric: str, old: dict[str, Any], new: dict[str, Any], threshold: float,
                  moved: float = 0.0) -> Finding | None:
    """The plain rule: beyond ``threshold`` (+ ``moved`` percent, for a timing) and intervals apart."""
    direction = _direction(metric)
    before, after = _num(old["value"]), _num(new["value"])
    if direction is None or before is None or after is None:
        return None
    if direction == "points":
        worse, better = after - before > threshold, before - after > threshold
        beyond = f"> {threshold:g} points"
    else:
        factor = 1.0 + (threshold + moved) / 100.0
        lower_worse, lower_better = after > before * factor, after * factor < before
        worse, better = (lower_worse, lower_better) if direction != "higher" else (lower_better, lower_worse)
        beyond = f"beyond {threshold:g}%" + (f" + {moved:.0f}% that {BASELINE} moved" if moved else "")
    if not worse and not better:
        return None
    old_iv, new_iv = _interval(old), _interval(new)
    label = " / ".join(str(new[k]) for k in KEY)
    text = f"{label}: {_show(before, old_iv, direction == 'points')} -> {_show(after, new_iv, direction == 'points')}"
    if old_iv is None or new_iv is None:
        return Finding("unjudged", f"{text} ({beyond}; no interval on both sides: not judged)", False)
    new_above = new_iv[0] > old_iv[1]  # the whole NEW interval above the whole OLD one
    new_below = new_iv[1] < old_iv[0]
    apart_worse, apart_better = (new_below, new_above) if direction == "higher" else (new_above, new_below)
    apart = apart_worse if worse else apart_better
    if worse:
        if apart:
            return Finding("regression", f"{text} ({beyond}, intervals apart)", True)
        return Finding("within noise", f"{text} ({beyond}, but the intervals overlap)", False)
    return Finding("improvement", f"{text} ({beyond}, intervals apart)", False) if apart else None


def _baseline_of(index: dict[tuple[str, ...], dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """``(scenario, case, metric)`` -> BASELINE's row in one run; a case it could not run gets its
    figure from the first case of the same scenario it did run (see the module docstring)."""
    exact = {(s, c, m): row for (s, b, c, m), row in index.items() if b == BASELINE and row["status"] == "ok"}
    first_case: dict[tuple[str, str], dict[str, Any]] = {}
    for (scenario, _case, metric), row in exact.items():
        first_case.setdefault((scenario, metric), row)
    return {(s, c, m): exact.get((s, c, m)) or first_case[(s, m)]
            for (s, _b, c, m) in index if (s, m) in first_case}


def _context(key: tuple[str, ...], runs: tuple[dict[tuple[str, ...], dict[str, Any]], ...],
             baselines: tuple[dict[tuple[str, str, str], dict[str, Any]], ...]) -> Context:
    """What judging figure ``key`` may allow for, from the two runs' indexes and baselines."""
    scenario, backend, case, metric = key
    stall_rows = [run.get((scenario, backend, case, "stalls")) for run in runs]
    calibrations = [run.get((scenario, backend, case, CALIBRATION)) for run in runs]
    shares = [run.get((scenario, backend, case, "stalled_calls_pct")) for run in runs]
    twins = [run.get((scenario, backend, case, relative_metric(metric))) for run in runs]
    null_twins = [run.get((scenario, backend, case, relative_metric(metric, BASELINE))) for run in runs]
    return Context(tuple(b.get((scenario, case, metric)) for b in baselines),  # type: ignore[arg-type]
                   tuple(None if r is None else _num(r["value"]) for r in stall_rows),  # type: ignore[arg-type]
                   tuple(r if r is not None and r["status"] == "ok" else None for r in calibrations),  # type: ignore[arg-type]
                   tuple(None if r is None else _num(r["value"]) for r in shares),  # type: ignore[arg-type]
                   tuple(r if r is not None and r["status"] == "ok" and _interval(r) else None  # type: ignore[arg-type]
                         for r in twins),
                   tuple(r if r is not None and r["status"] == "ok" and _interval(r) else None  # type: ignore[arg-type]
                         for r in null_twins))


def compare(old: pd.DataFrame, new: pd.DataFrame, threshold: float = 10.0) -> list[Finding]:
    """Findings of NEW against OLD (see the module docstring); bad ones first."""
    before, after = _index(old), _index(new)
    base_before, base_after = _baseline_of(before), _baseline_of(after)
    findings: list[Finding] = []
    for key, row in after.items():
        label = " / ".join(k for k in key if k)
        previous = before.get(key)
        if row["status"] == "failed" and (previous is None or previous["status"] != "failed"):
            findings.append(Finding("new failure", f"{label}: {_first_line(row['detail'])}", True))
        if row["verdict"] == "defect" and (previous is None or previous["verdict"] != "defect"):
            findings.append(Finding("new defect", f"{label}: {_first_line(row['detail'])}", True))
        if previous is not None and row["status"] == "ok" and previous["status"] == "ok":
            change = _change(key[3], previous, row, threshold, _context(key, (before, after), (base_before, base_after)))
            if change is not None:
                findings.append(change)
    return sorted(findings, key=lambda f: not f.bad)


def gate(frame: pd.DataFrame, reference: Sequence[str], baseline: Sequence[str],
         *, failed_reference_cells_bad: bool = False) -> list[Finding]:
    """The CI gate on one run (see the module docstring).

    Failed cells are listed; with ``failed_reference_cells_bad`` a failed cell of a
    reference backend also fails the gate (a scenario that could not run proved nothing).
    """
    from .store import plain_rows

    rows = plain_rows(frame)
    findings: list[Finding] = []
    seen: set[tuple[str, ...]] = set()
    for row in rows:  # one line per defective (scenario, backend, case), not per metric
        key = (str(row["scenario"]), str(row["backend"]), str(row["case"]))
        if row["verdict"] == "defect" and key not in seen:
            seen.add(key)
            ours = row["backend"] in reference
            findings.append(Finding("defect" if ours else "peer defect",
                                    f"{' / '.join(key)}: {_first_line(row['detail'])}", ours))
    for row in rows:
        if row["status"] == "failed":
            bad = failed_reference_cells_bad and row["backend"] in reference
            key = (str(row["scenario"]), str(row["backend"]), "failed")
            if key not in seen:
                seen.add(key)
                findings.append(Finding("failed cell", f"{key[0]} / {key[1]}: {_first_line(row['detail'])}", bad))
    candidates = [name for name in reference if name not in baseline]
    verdicts = {
        str(row["backend"]): str(row["verdict"]) for row in rows
        if row["scenario"] == "overhead" and row["case"] == GATE_CASE and row["metric"] == "wall_overhead_pct"
        and row["backend"] in candidates and row["status"] == "ok"
    }
    if not verdicts:
        findings.append(Finding("note", "overhead not measured for any reference backend: overhead gate skipped", False))
        return findings
    text = ", ".join(f"{name}={verdict}" for name, verdict in verdicts.items())
    if all(verdict == "fail" for verdict in verdicts.values()):
        findings.append(Finding("overhead", f"no reference backend meets the 5% target at {GATE_CASE}: {text}", True))
    else:
        findings.append(Finding("note", f"wall overhead at {GATE_CASE}: {text}", False))
    return findings
