"""The matrix: every backend x scenario cell in its own process, one after the other.

Cells run sequentially (timings must not share the CPU with each other).
``progress`` receives one line per cell; the caller decides where it goes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from ._spawn import spawn_cell

__all__ = ["CELL_TIMEOUT_S", "run_matrix"]

#: Hard limit per cell (quick, full); a cell over it becomes a failed-cell record.
CELL_TIMEOUT_S = (45.0, 1800.0)
#: Scenarios that run many isolated sub-cases get more (the fault catalogue: ~20 child processes, each with its
#: own limit, so a backend that hangs in several cases still yields a row per case).
SCENARIO_TIMEOUT_S = {"faults": (150.0, 1800.0)}
#: Trials per case a scenario's default limit is sized for; ``trials`` above it scale the limit up.
DEFAULT_TRIALS = 20


def run_matrix(
    backends: Sequence[str],
    scenarios: Sequence[str],
    *,
    quick: bool,
    timeout: float | None = None,
    progress: Callable[[str], None] = lambda line: None,
    artifacts_dir: str | None = None,
    scenario_options: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Run every cell; all records (failed cells included) in run order.

    ``artifacts_dir``: the results directory, where scenarios may keep files (pyperf JSON).
    ``scenario_options``: keyword arguments (``workload``, ``record``, ``trials``) given to each scenario
    that takes them; more ``trials`` than ``DEFAULT_TRIALS`` stretch the default cell limit in proportion.
    """
    def limit_for(scenario: str) -> float:
        if timeout is not None:
            return timeout
        limit = SCENARIO_TIMEOUT_S.get(scenario, CELL_TIMEOUT_S)[0 if quick else 1]
        trials = (scenario_options or {}).get("trials") or 0
        return limit * max(1.0, trials / DEFAULT_TRIALS)

    total = len(backends) * len(scenarios)
    records: list[dict[str, Any]] = []
    start = time.monotonic()
    done = 0
    for scenario in scenarios:
        for backend in backends:
            done += 1
            cell_start = time.monotonic()
            rows = spawn_cell(backend, scenario, quick=quick, timeout=limit_for(scenario), artifacts_dir=artifacts_dir,
                              options=scenario_options)
            records += rows
            took = time.monotonic() - cell_start
            outcome = "FAILED" if any(r.get("status") == "failed" for r in rows) else "ok"
            progress(f"[{done:>3}/{total}] {scenario:<11} {backend:<22} {outcome:<6} {took:6.1f} s"
                     f"   (elapsed {time.monotonic() - start:6.1f} s)")
    return records
