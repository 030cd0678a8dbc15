"""The regression gate end to end: same-commit runs compare clean, planted regressions are flagged.

Three quick runs of the same commit (``python -m harness run --quick``, each cell in three processes spread
over the run and pooled, as CI runs them) of ``null`` (the baseline ``compare`` judges timings against) and
``sync`` over the scenarios whose figures ``compare`` judges by interval (latency, throughput, memory).
Every pair of runs is judged and must flag nothing (issue 20). Before rounds (one process per cell), of 42
measured sets 6 flagged one figure or two; with rounds and the ``null`` twins (2026-12-06), 4 sets and
four same-commit triples in the issue's 4-backend form flagged none in 42 ordered pairs
(docs/regression-gate.md, "Rounds"). The first run also carries three planted regressions
(``tests/planted.py``: ``hiccup`` sleeps 20 µs every 100 calls, ``bloated`` holds an extra 20 MiB,
``slower`` spins 30% of a ``sync`` call in every call); each planted backend's rows, renamed to ``sync``,
are compared with that run's ``sync`` rows (``null`` on both sides) and must be flagged in the scenario
the regression lives in.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness import store
from harness.compare import compare

ROOT = Path(__file__).resolve().parent.parent
TESTS = str(Path(__file__).resolve().parent)
BACKENDS = ("null", "sync")
RUNS = 3
#: figures a same-commit pair of null + sync runs must judge (37 measured)
MIN_JUDGED = 30
SCENARIOS = ("latency", "throughput", "memory")
#: planted backend -> the scenarios whose figures show it (a 30% slower call shows in latency and in
#: throughput; either flag is the gate catching it, and which one clears its noise varies from run to run).
#: ``slower`` first: its cells run right after ``sync``'s, so the two see the closest machine state (a CI run
#: missed it when its cell, two cells later, ran in a phase of the VM 19% faster by the calibration).
PLANTED = {"planted:slower": ("latency", "throughput"), "planted:hiccup": ("latency",), "planted:bloated": ("memory",)}


def _run(out: Path, planted: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), TESTS, os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "harness", "run", "--quick", "--backends", *BACKENDS, *planted,
               "--scenarios", *SCENARIOS, "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """RUNS runs of the same commit, one after the other; the first also holds every planted backend."""
    frames = []
    for index in range(RUNS):
        out = tmp_path_factory.mktemp(f"run{index}")
        _run(out, list(PLANTED) if index == 0 else [])
        frames.append(store.load(str(out))[1])
    return frames


def _reference(frame: Any) -> Any:
    return frame[frame["backend"].isin(BACKENDS)]


@pytest.mark.slow
def test_every_figure_compare_judges_carries_an_interval(runs: list[Any]) -> None:
    frame = runs[0]
    judged = frame[(frame["status"] == "ok") & frame["metric"].str.endswith(("_ns", "_bytes", "records_per_s"))]
    assert not judged.empty
    missing = judged[judged["low"].isna() | judged["high"].isna()]
    assert missing.empty, missing[["scenario", "backend", "case", "metric"]].to_string()


@pytest.mark.slow
def test_same_commit_pairs_are_judged_and_flag_nothing(runs: list[Any]) -> None:
    """Every same-commit pair judges the run's figures by intervals (at least ``MIN_JUDGED``) and flags
    none of them; a flagged line would show both intervals (checked, and reported as a warning). Before
    rounds this test allowed two flagged figures: of 42 sets, 36 flagged none, 4 one and 2 two (a cell
    whose process ran 23-29% faster than a later one's, with ``null`` unmoved: docs/regression-gate.md,
    "A noisier day"); since rounds, 0 in 4 sets (12 pairs, 18 ordered)."""
    counts = {}
    for a, b in itertools.combinations(range(RUNS), 2):
        old, new = _reference(runs[a]), _reference(runs[b])
        findings = compare(old, new)
        flagged = [f.text for f in findings if f.bad]
        for text in flagged:
            assert re.search(r"\[[^]]+\] -> [^[]+\[[^]]+\]", text), text  # both intervals
        assert len(_judged(old, new)) >= MIN_JUDGED, f"{a + 1} -> {b + 1}: too few figures judged"
        counts[f"{a + 1} -> {b + 1}"] = flagged
    warnings.warn(f"same-commit false alarms per pair: {counts}", stacklevel=1)
    figures = {_figure(text) for flagged in counts.values() for text in flagged}
    assert not figures, counts


def _figure(text: str) -> str:
    """The figure a flagged line names, a twin as its figure: ``latency / sync / steady /
    p50_per_calibration: ...`` and ``... / p50_ns: ...`` -> ``latency / sync / steady / p50``."""
    label = text.split(": ", 1)[0]
    stem, _, metric = label.rpartition(" / ")
    return f"{stem} / {metric.removesuffix('_per_calibration').removesuffix('_ns').removesuffix('_per_s')}"


def _judged(old: Any, new: Any) -> list[tuple[str, ...]]:
    """The figures both runs measured that ``compare`` judges (a direction, status ok on both sides)."""
    from harness.compare import _direction

    def keys(frame: Any) -> set[tuple[str, ...]]:
        rows = frame[(frame["status"] == "ok") & frame["trial"].isna()]
        return {tuple(map(str, k)) for k in rows[["scenario", "backend", "case", "metric"]].itertuples(index=False)}

    return [k for k in keys(old) & keys(new) if _direction(k[3])]


@pytest.mark.slow
@pytest.mark.parametrize(("planted", "scenarios"), list(PLANTED.items()))
def test_planted_regressions_are_flagged(runs: list[Any], planted: str, scenarios: tuple[str, ...]) -> None:
    run = runs[0]
    baseline = run[run["backend"] == "null"]
    regressed = run[run["backend"] == planted].assign(backend="sync")
    flagged = [f for f in compare(_reference(run), pd.concat([baseline, regressed])) if f.bad]
    assert any(f.text.startswith(tuple(f"{scenario} / sync" for scenario in scenarios)) for f in flagged), \
        f"{planted} not flagged in {' or '.join(scenarios)}: {[f.text for f in flagged]}"
