"""The regression gate end to end: every judged figure has an interval, planted regressions are flagged.

One quick run (``python -m harness run --quick``, each cell in its own process, as CI runs them) of
two reference backends and three planted regressions (``tests/planted.py``: ``hiccup`` sleeps 20 µs
every 100 calls, ``bloated`` holds an extra 20 MiB, ``slower`` spins 30% of a ``sync`` call in every
call) over the scenarios whose figures ``compare`` judges by interval (latency, throughput, memory).
Each planted backend's rows, renamed to ``sync``, are compared with the run's ``sync`` rows and must be
flagged in the scenario the regression lives in.

Not here: same-commit runs comparing clean. Measured (docs/regression-gate.md), they do not yet:
drift between runs of a few minutes moves figures beyond their within-run intervals, so issue 20's
"three same-commit runs compare clean" is still open; a test asserting it would fail today.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness import store
from harness.compare import compare

ROOT = Path(__file__).resolve().parent.parent
TESTS = str(Path(__file__).resolve().parent)
BACKENDS = ("sync", "thread-queue")
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
def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One run holding the reference backends and every planted one."""
    out = tmp_path_factory.mktemp("run")
    _run(out, list(PLANTED))
    return store.load(str(out))[1]


@pytest.mark.slow
def test_every_figure_compare_judges_carries_an_interval(run: Any) -> None:
    frame = run
    judged = frame[(frame["status"] == "ok") & frame["metric"].str.endswith(("_ns", "_bytes", "records_per_s"))]
    assert not judged.empty
    missing = judged[judged["low"].isna() | judged["high"].isna()]
    assert missing.empty, missing[["scenario", "backend", "case", "metric"]].to_string()


@pytest.mark.slow
@pytest.mark.parametrize(("planted", "scenarios"), list(PLANTED.items()))
def test_planted_regressions_are_flagged(run: Any, planted: str, scenarios: tuple[str, ...]) -> None:
    regressed = run[run["backend"] == planted].assign(backend="sync")
    sync = run[run["backend"] == "sync"]
    flagged = [f for f in compare(sync, regressed) if f.bad]
    assert any(f.text.startswith(tuple(f"{scenario} / sync" for scenario in scenarios)) for f in flagged), \
        f"{planted} not flagged in {' or '.join(scenarios)}: {[f.text for f in flagged]}"
