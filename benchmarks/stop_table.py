"""What each way of stopping a process loses, per reference backend: the table in ``docs/stopping.md``.

    python benchmarks/stop_table.py [--runs 2] [--quick] [--backends sync thread-queue ...]

Runs the crash scenario's stop cases (``scenarios/_crash_stop.py``: a pool of
4 workers, 8 tasks x 1000 records, under fork, spawn and forkserver, ended by
close or terminate; a ProcessPoolExecutor
shutdown) and its two SIGTERM cases (``exit/sigterm``, ``exit/sigterm_graceful``)
``--runs`` times, and prints one Markdown table, a row per case and a column
per backend: records lost (a range when
runs differed; for the SIGTERM cases, lost of those logged before the signal),
in bold where the backend broke its promise (verdict ``defect``), ``failed``
for a case that could not run.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import loggers  # noqa: E402
from scenarios._crash_stop import STOP_CASES  # noqa: E402
from scenarios.crash import run_crash  # noqa: E402

SIGTERM_CASES = ("exit/sigterm", "exit/sigterm_graceful")
WRITING = tuple(name for name in loggers.BACKENDS if loggers.backend_class(name).writes_file)


def measure(backend: str, runs: int, quick: bool) -> dict[str, list[tuple[float | None, str]]]:
    """case -> [(lost, verdict or status)] over ``runs`` runs for ``backend``."""
    cells: dict[str, list[tuple[float | None, str]]] = {}
    factory = functools.partial(loggers.create, backend)
    for run in range(runs):
        records = run_crash(factory, quick=quick, cases=STOP_CASES + SIGTERM_CASES, seed=run)
        for record in records:
            if record.metric == "lost_records" and record.trial is None:
                mark = record.verdict if record.status == "ok" else record.status
                cells.setdefault(record.case, []).append((record.value, mark))
                if mark != "ok":
                    print(f"# {backend} {record.case}: {mark}: {record.detail}", file=sys.stderr)
    return cells


def format_cell(values: list[tuple[float | None, str]]) -> str:
    if not values:
        return "–"
    if any(mark not in ("ok", "defect") for _, mark in values):
        return "failed"
    lost = sorted(int(value or 0) for value, _ in values)
    text = str(lost[0]) if lost[0] == lost[-1] else f"{lost[0]}–{lost[-1]}"
    return f"**{text}**" if any(mark == "defect" for _, mark in values) else text


def format_table(table: dict[str, dict[str, list[tuple[float | None, str]]]], cases: tuple[str, ...]) -> list[str]:
    """One row per case, one column per backend."""
    lines = ["| case | " + " | ".join(f"`{backend}`" for backend in table) + " |", "|---" * (len(table) + 1) + "|"]
    for case in cases:
        lines.append(f"| `{case}` | " + " | ".join(format_cell(cells.get(case, [])) for cells in table.values()) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="the quick suite's smaller pool (2 workers, 4 x 500)")
    parser.add_argument("--backends", nargs="+", default=list(WRITING), choices=WRITING)
    args = parser.parse_args()
    table = {backend: measure(backend, args.runs, args.quick) for backend in args.backends}
    print("\n".join(format_table(table, STOP_CASES + SIGTERM_CASES)))


if __name__ == "__main__":
    main()
