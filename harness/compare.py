"""Comparing two runs, and the CI gate on one run. Pure functions over tables; cli.py prints and exits.

Compare (OLD vs NEW, matched on scenario/backend/case/metric, summary rows only):

* overhead percentages (``*_overhead_pct``): a regression when NEW exceeds OLD by more
  than ``threshold`` percentage points AND the 95% intervals do not overlap
  (NEW low > OLD high), so noise alone is not called a regression;
* lower-is-better figures (latency ns, peak memory, loop lag): NEW > OLD x (1 + threshold/100);
* higher-is-better figures (records/s): NEW < OLD / (1 + threshold/100);
* correctness: a record with verdict ``defect`` in NEW that was not ``defect`` in OLD;
* a cell that FAILED in NEW but not in OLD.

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

    kind: str  # "regression", "new defect", "new failure", "improvement", "defect", "overhead", "note"
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


def _change(metric: str, old: dict[str, Any], new: dict[str, Any], threshold: float) -> Finding | None:
    direction = _direction(metric)
    before, after = _num(old["value"]), _num(new["value"])
    if direction is None or before is None or after is None:
        return None
    label = " / ".join(str(new[k]) for k in KEY)
    if direction == "points":
        old_high, new_low = _num(old["high"]), _num(new["low"])
        separated = old_high is None or new_low is None or new_low > old_high
        if after - before > threshold and separated:
            return Finding("regression", f"{label}: {before:+.1f}% -> {after:+.1f}% (> {threshold:g} points)", True)
        if before - after > threshold:
            return Finding("improvement", f"{label}: {before:+.1f}% -> {after:+.1f}%", False)
        return None
    factor = 1.0 + threshold / 100.0
    worse = after > before * factor if direction == "lower" else after * factor < before
    better = after * factor < before if direction == "lower" else after > before * factor
    if worse:
        return Finding("regression", f"{label}: {before:.4g} -> {after:.4g} (beyond {threshold:g}%)", True)
    if better:
        return Finding("improvement", f"{label}: {before:.4g} -> {after:.4g}", False)
    return None


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
