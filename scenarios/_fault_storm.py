"""Fault case ``signal_storm``: a signal handler that logs, firing while the main thread logs flat out.

Re-entrancy under pressure (issue 16): ``SIGALRM`` fires every ``interval_s``
while the main thread logs ``MAIN_RECORDS`` records, and the handler logs one
record per signal. With a small ``queue_size`` the hand-off is full most of the
time, so signals land while the main thread holds the hand-off's lock or waits
for room; the handler's own call must then neither deadlock (the case process
is killed at its time limit: a defect), nor recurse until ``RecursionError``,
nor raise. Required: every call written or dropped and counted
(``emitted == written + dropped``, and ``emitted`` equals the calls made),
what is written has no duplicate and the main thread's records are in order
(a handler's call may be interrupted by the next signal, so handler records
whose calls overlapped may be in either order), and under ``block`` (the
default policy) every main-thread record is written.

Outcome as data: ``written``/``dropped``/``errors`` plus ``handler_calls``,
``main_written``, ``handler_written`` and ``raised`` (1 if an exception
reached the application) in ``Outcome.metrics``.
"""

from __future__ import annotations

import dataclasses
import itertools
import signal
from pathlib import Path
from typing import Any

from ._fault_cases import Make, Outcome, finish

MAIN_RECORDS = 20_000


def signal_storm(
    make: Make, workdir: Path, *, interval_s: float, queue_size: int | None = None, overflow: str | None = None
) -> Outcome:
    """The case; ``queue_size``/``overflow`` None: the backend's defaults (bound with ``functools.partial``)."""
    options: dict[str, Any] = {}
    if queue_size is not None:
        options["queue_size"] = queue_size
    if overflow is not None:
        options["overflow"] = overflow
    path = workdir / "app.log"
    try:
        log = make(path, **options)
    except (TypeError, ValueError) as exc:
        return Outcome(True, f"takes no {', '.join(options)} like this: not applicable ({exc})", applicable=False)
    hits = 0

    def handler(signum: int, frame: object) -> None:
        nonlocal hits
        seq, hits = hits, hits + 1  # claim the number first: handlers nest
        log.info("from handler", source="handler", seq=seq)

    raised = ""
    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, interval_s, interval_s)
    try:
        for seq in range(MAIN_RECORDS):
            log.info("main", source="main", seq=seq)
    except Exception as exc:  # noqa: BLE001 - the point is to see it (RecursionError, a deadlock's timeout...)
        raised = f"{type(exc).__name__}: {str(exc)[:120]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous)
    calls = MAIN_RECORDS + hits
    counts: dict[str, int] = {}

    def check(records: list[dict[str, Any]]) -> tuple[bool, str]:
        main = [r["seq"] for r in records if r.get("source") == "main"]
        handled = [r["seq"] for r in records if r.get("source") == "handler"]
        counts.update(main_written=len(main), handler_written=len(handled))
        problems = [f"{raised} reached the application"] if raised else []
        if any(b <= a for a, b in itertools.pairwise(main)):
            problems.append("main records out of order or duplicated")
        if len(set(handled)) != len(handled):  # nested handlers' calls overlap: any order among them is right
            problems.append("handler records duplicated")
        if (overflow or "block") == "block" and not raised and main != list(range(MAIN_RECORDS)):
            problems.append(f"block: {len(main)}/{MAIN_RECORDS} main records written")
        said = f"{len(main)}/{MAIN_RECORDS} main and {len(handled)}/{hits} handler records written"
        return not problems, "; ".join([*problems, said])

    outcome = finish(log, path, check)
    emitted = log.stats()["emitted"]
    if not raised and emitted != calls:
        outcome = dataclasses.replace(outcome, ok=False, detail=f"{outcome.detail}; {calls} calls but emitted {emitted}")
    metrics = (
        ("handler_calls", float(hits)),
        ("main_written", float(counts.get("main_written", 0))),
        ("handler_written", float(counts.get("handler_written", 0))),
        ("raised", 1.0 if raised else 0.0),
    )
    return dataclasses.replace(outcome, metrics=metrics)
