"""The regression gate end to end: same-commit runs compare clean, planted regressions are flagged.

Three quick runs of the same commit (``python -m harness run --quick``, each cell in its own process, as
CI runs them) of ``null`` (the baseline ``compare`` judges timings against) and ``sync`` over the
scenarios whose figures ``compare`` judges by interval (latency, throughput, memory). Every pair of
runs must compare clean but for at most one figure: that is the gate's false-alarm rate, measured
where CI runs (issue 20 asks for zero; this machine's between-run drift does not allow it yet). The first run
also carries three planted regressions (``tests/planted.py``: ``hiccup`` sleeps 20 µs every 100 calls,
``bloated`` holds an extra 20 MiB, ``slower`` spins 30% of a ``sync`` call in every call); each planted
backend's rows, renamed to ``sync``, are compared with that run's ``sync`` rows (``null`` on both
sides) and must be flagged in the scenario the regression lives in.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
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
#: measured, not hoped for: see test_same_commit_runs_compare_all_but_clean
MAX_FALSE_ALARMS_PER_PAIR = 1
SCENARIOS = ("latency", "throughput", "memory")
#: planted backend -> the scenarios whose figures show it (a 30% slower call shows in latency and in
#: throughput; either flag is the gate catching it, and which one clears its noise varies from run to run)
PLANTED = {"planted:hiccup": ("latency",), "planted:bloated": ("memory",), "planted:slower": ("latency", "throughput")}


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
def test_same_commit_runs_compare_all_but_clean(runs: list[Any]) -> None:
    """At most MAX_FALSE_ALARMS_PER_PAIR flagged figures per same-commit pair (measured on this 2-core VM:
    0 or 1 per pair of 37 judged figures with the drift rules, up to 4 without them; docs/regression-gate.md).
    Not zero: a syscall-bound figure (``sync``'s paced p50) moved 1.8x between runs while ``null`` moved 1.25x."""
    alarms = {
        f"{a + 1} -> {b + 1}": [f.text for f in compare(_reference(runs[a]), _reference(runs[b])) if f.bad]
        for a, b in itertools.combinations(range(RUNS), 2)
    }
    assert all(len(flagged) <= MAX_FALSE_ALARMS_PER_PAIR for flagged in alarms.values()), alarms


@pytest.mark.slow
@pytest.mark.parametrize(("planted", "scenarios"), list(PLANTED.items()))
def test_planted_regressions_are_flagged(runs: list[Any], planted: str, scenarios: tuple[str, ...]) -> None:
    run = runs[0]
    baseline = run[run["backend"] == "null"]
    regressed = run[run["backend"] == planted].assign(backend="sync")
    flagged = [f for f in compare(_reference(run), pd.concat([baseline, regressed])) if f.bad]
    assert any(f.text.startswith(tuple(f"{scenario} / sync" for scenario in scenarios)) for f in flagged), \
        f"{planted} not flagged in {' or '.join(scenarios)}: {[f.text for f in flagged]}"
