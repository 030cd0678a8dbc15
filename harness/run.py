"""The matrix: every backend x scenario cell in its own process, one after the other.

Cells run sequentially (timings must not share the CPU with each other). A scenario that pools rounds
(``scenarios.ROUNDS``) runs each of its cells in ``rounds`` processes, each doing a ``rounds``-th of the
repetitions, round by round over the whole matrix (round 1 of every cell, then round 2, ...), so a
slow spell of the machine, which lasts about a cell, lands in one round's share of a figure instead
of all of it; the rounds' records are then pooled into the cell's (:mod:`scenarios._rounds`). The
other scenarios' cells run once, in the first round. ``run_interleaved`` runs each cell from two
trees back to back (``python -m harness ab``), once.
``progress`` receives one line per cell; the caller decides where it goes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from . import discover
from ._spawn import spawn_cell

__all__ = ["CELL_TIMEOUT_S", "DEFAULT_ROUNDS", "cell_limit", "run_interleaved", "run_matrix"]

#: processes per cell of a scenario that pools rounds (``run --rounds``)
DEFAULT_ROUNDS = 3

#: Hard limit per cell (quick, full); a cell over it becomes a failed-cell record.
CELL_TIMEOUT_S = (45.0, 1800.0)
#: Scenarios that run many isolated sub-cases get more: the fault catalogue (~20 child processes, each with its
#: own limit, so a backend that hangs in several cases still yields a row per case) and memory (40 fresh
#: processes for a queued backend, 20 of them under memray; the otel-batch peer's cell took close to 45 s with
#: 3 memray runs per case, before they became 5).
SCENARIO_TIMEOUT_S = {"faults": (150.0, 1800.0), "memory": (90.0, 1800.0)}
#: Trials per case a scenario's default limit is sized for; ``trials`` above it scale the limit up.
DEFAULT_TRIALS = 20


def cell_limit(scenario: str, *, quick: bool, timeout: float | None = None,
               scenario_options: dict[str, Any] | None = None) -> float:
    """Seconds a cell of ``scenario`` may run: ``timeout`` when given, else the scenario's limit, stretched in
    proportion when ``trials`` exceed ``DEFAULT_TRIALS``."""
    if timeout is not None:
        return timeout
    limit = SCENARIO_TIMEOUT_S.get(scenario, CELL_TIMEOUT_S)[0 if quick else 1]
    trials = (scenario_options or {}).get("trials") or 0
    return limit * max(1.0, trials / DEFAULT_TRIALS)


def run_matrix(
    backends: Sequence[str],
    scenarios: Sequence[str],
    *,
    quick: bool,
    timeout: float | None = None,
    progress: Callable[[str], None] = lambda line: None,
    artifacts_dir: str | None = None,
    scenario_options: dict[str, Any] | None = None,
    rounds: int = 1,
) -> list[dict[str, Any]]:
    """Run every cell; all records (failed cells included), cell by cell in matrix order.

    ``artifacts_dir``: the results directory, where scenarios may keep files (pyperf JSON).
    ``scenario_options``: keyword arguments (``workload``, ``record``, ``trials``) given to each scenario
    that takes them; more ``trials`` than ``DEFAULT_TRIALS`` stretch the default cell limit in proportion.
    ``rounds``: processes per cell of a scenario that pools rounds (see the module docstring); a cell
    that failed in any round is that round's failed-cell record.
    """
    if rounds < 1:
        raise ValueError(f"rounds: expected at least 1, got {rounds!r}")
    cells = _cells(backends, scenarios)
    merges = {scenario: discover.resolve_merge(scenario) if rounds > 1 else None for scenario in scenarios}
    plan = [(r, cell) for r in range(rounds) for cell in cells if r == 0 or merges[cell[0]]]
    done_rows: dict[tuple[str, str], list[list[dict[str, Any]]]] = {cell: [] for cell in cells}
    start = time.monotonic()
    for done, (index, (scenario, backend)) in enumerate(plan, 1):
        cell_start = time.monotonic()
        options = {**(scenario_options or {}), "rounds": rounds} if merges[scenario] else scenario_options
        rows = spawn_cell(backend, scenario, quick=quick,
                          timeout=cell_limit(scenario, quick=quick, timeout=timeout, scenario_options=scenario_options),
                          artifacts_dir=artifacts_dir, options=options)
        done_rows[(scenario, backend)].append(rows)
        which = f"{index + 1}/{rounds}" if merges[scenario] else ""
        progress(f"[{done:>3}/{len(plan)}] {scenario:<11} {backend:<22} {which:<5} {_outcome(rows):<6} "
                 f"{time.monotonic() - cell_start:6.1f} s   (elapsed {time.monotonic() - start:6.1f} s)")
    return [row for cell in cells for row in _merged(done_rows[cell], merges[cell[0]])]


def _merged(rounds: list[list[dict[str, Any]]], merge: Callable[..., Any] | None) -> list[dict[str, Any]]:
    """One cell's records from its rounds' records: as they are for a single round, a failed round's
    failed-cell record, else the scenario's ``merge`` of them."""
    if merge is None or len(rounds) == 1:
        return rounds[0]
    from scenarios import ResultRecord

    for number, rows in enumerate(rounds, 1):
        if any(row.get("status") == "failed" and row.get("metric") == "cell" for row in rows):
            return [{**row, "detail": f"round {number} of {len(rounds)}: {row.get('detail', '')}"} for row in rows]
    return [record.as_dict() for record in merge([[ResultRecord(**row) for row in rows] for rows in rounds])]


def run_interleaved(
    backends: Sequence[str],
    scenarios: Sequence[str],
    roots: Sequence[str],
    *,
    quick: bool,
    timeout: float | None = None,
    progress: Callable[[str], None] = lambda line: None,
    artifacts_dirs: Sequence[str | None] | None = None,
) -> list[list[dict[str, Any]]]:
    """Run every cell once from each logbench tree in ``roots``, the trees' runs of a cell back to back.

    Returns one record list per tree, in ``roots`` order. The trees take turns going first (cell 1:
    ``roots`` in order, cell 2: reversed, ...), so neither is always the one measured right after the
    other: two runs of one commit made this way see the machine seconds apart, not minutes.
    ``artifacts_dirs``: each tree's results directory (pyperf JSON), as ``run_matrix``'s ``artifacts_dir``.
    """
    dirs = list(artifacts_dirs) if artifacts_dirs is not None else [None] * len(roots)
    if len(dirs) != len(roots):
        raise ValueError(f"{len(roots)} trees but {len(dirs)} result directories")
    records: list[list[dict[str, Any]]] = [[] for _ in roots]
    total = len(backends) * len(scenarios)
    start = time.monotonic()
    for done, (scenario, backend) in enumerate(_cells(backends, scenarios), 1):
        order = list(range(len(roots)))
        if done % 2 == 0:
            order.reverse()
        took = []
        for side in order:
            cell_start = time.monotonic()
            rows = spawn_cell(backend, scenario, quick=quick, timeout=cell_limit(scenario, quick=quick, timeout=timeout),
                              artifacts_dir=dirs[side], root=roots[side])
            records[side] += rows
            took.append(f"#{side + 1} {_outcome(rows)} {time.monotonic() - cell_start:5.1f} s")
        progress(f"[{done:>3}/{total}] {scenario:<11} {backend:<22} {'  '.join(took)}"
                 f"   (elapsed {time.monotonic() - start:6.1f} s)")
    return records


def _cells(backends: Sequence[str], scenarios: Sequence[str]) -> list[tuple[str, str]]:
    """(scenario, backend) of every cell, in run order: scenario by scenario."""
    return [(scenario, backend) for scenario in scenarios for backend in backends]


def _outcome(rows: Sequence[dict[str, Any]]) -> str:
    return "FAILED" if any(r.get("status") == "failed" for r in rows) else "ok"
