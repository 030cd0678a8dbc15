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

from .store import number as _num

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Finding", "compare", "gate"]

KEY = ["scenario", "backend", "case", "metric"]
LOWER_IS_BETTER_SUFFIXES = ("_ns", "_bytes", "_ms")
HIGHER_IS_BETTER = ("records_per_s", "sustainable_lines_per_s")
GATE_CASE = "rate=1/unit"


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


def _change(metric: str, old: dict[str, Any], new: dict[str, Any], threshold: float) -> Finding | None:
    """The finding for one figure present in both runs, or None when it did not move beyond ``threshold``."""
    direction = _direction(metric)
    before, after = _num(old["value"]), _num(new["value"])
    if direction is None or before is None or after is None:
        return None
    if direction == "points":
        worse, better = after - before > threshold, before - after > threshold
        beyond = f"> {threshold:g} points"
    else:
        factor = 1.0 + threshold / 100.0
        lower_worse, lower_better = after > before * factor, after * factor < before
        worse, better = (lower_worse, lower_better) if direction != "higher" else (lower_better, lower_worse)
        beyond = f"beyond {threshold:g}%"
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


def compare(old: pd.DataFrame, new: pd.DataFrame, threshold: float = 10.0) -> list[Finding]:
    """Findings of NEW against OLD (see the module docstring); bad ones first."""
    before, after = _index(old), _index(new)
    findings: list[Finding] = []
    for key, row in after.items():
        label = " / ".join(k for k in key if k)
        previous = before.get(key)
        if row["status"] == "failed" and (previous is None or previous["status"] != "failed"):
            findings.append(Finding("new failure", f"{label}: {_first_line(row['detail'])}", True))
        if row["verdict"] == "defect" and (previous is None or previous["verdict"] != "defect"):
            findings.append(Finding("new defect", f"{label}: {_first_line(row['detail'])}", True))
        if previous is not None and row["status"] == "ok" and previous["status"] == "ok":
            change = _change(key[3], previous, row, threshold)
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
