"""In-child entry: ``python -m harness._worker SPEC.json`` runs one backend x scenario cell.

SPEC = {"backend", "scenario", "quick", "workdir", "out", "dump_after", "artifacts_dir", "options"}. The records go, as
``{"records": [...]}`` JSON, to the file ``out`` (stdout stays free for whatever
the code under test prints). Every record's ``backend`` is set to the cell's
backend name. Any exception propagates: a traceback on stderr and a non-zero
exit, which the parent turns into a failed-cell record. ``dump_after`` seconds
into the cell (just before the parent's timeout) every thread's stack is written
to stderr, so a hung cell's record shows where it hung. Imports only the
standard library, ``loggers``, ``scenarios`` and :mod:`harness.discover`.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import json
import sys
from typing import Any

from .discover import call_kwargs, resolve_factory, resolve_scenario


def run_cell(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the cell described by ``spec`` here, in this process; the records as dicts."""
    from scenarios import ResultRecord

    backend, scenario = spec["backend"], spec["scenario"]
    fn = resolve_scenario(scenario)
    factory = resolve_factory(backend)
    kwargs = call_kwargs(fn, backend=backend, quick=bool(spec.get("quick")), workdir=spec.get("workdir"),
                         artifacts_dir=spec.get("artifacts_dir"), **spec.get("options", {}))
    records = fn(factory, **kwargs)
    rows = []
    for record in records:
        if not isinstance(record, ResultRecord):
            raise TypeError(f"scenario {scenario!r} returned {type(record).__name__}, not ResultRecord")
        rows.append(dataclasses.replace(record, backend=backend).as_dict())
    return rows


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: python -m harness._worker SPEC.json")
    with open(argv[1], encoding="utf-8") as file:
        spec = json.load(file)
    if spec.get("dump_after"):
        faulthandler.dump_traceback_later(float(spec["dump_after"]), exit=False)
    rows = run_cell(spec)
    with open(spec["out"], "w", encoding="utf-8") as file:
        json.dump({"records": rows}, file)


if __name__ == "__main__":
    main(sys.argv)
