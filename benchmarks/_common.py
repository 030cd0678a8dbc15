"""Helpers shared by the asv benchmarks: backend params, lazy scenario lookup, record picking.

Params are a fixed list so results line up across commits; a backend or a
scenario that does not exist at the commit being measured is *skipped*
(``NotImplementedError`` in ``setup``), never reported as a number.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

# A fixed list, not loggers.BACKENDS: asv params must line up across commits (tests/test_benchmarks.py checks it).
BACKENDS = ["null", "sync", "thread-queue", "asyncio", "subprocess", "mmap"]
WRITING_BACKENDS = [b for b in BACKENDS if b != "null"]
MISSING = "__missing__"


def available_backends() -> list[str]:
    """Backends registered in ``loggers`` at this commit, in ``BACKENDS`` order."""
    import loggers

    return [b for b in BACKENDS if b in loggers.BACKENDS]


def factory(backend: str) -> Callable[..., Any]:
    """The picklable backend factory scenarios take."""
    import loggers

    return functools.partial(loggers.create, backend)


def scenario(module: str, function: str) -> Callable[..., Any] | None:
    """``scenarios.<module>.<function>``, or None when this commit does not have it."""
    try:
        return getattr(importlib.import_module(f"scenarios.{module}"), function)  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        return None


def run_per_backend(module: str, function: str, backends: list[str], **kwargs: Any) -> dict[str, Any]:
    """Run one scenario for each available backend: ``{backend: [record dict, ...]}``.

    The dict holds ``MISSING`` (a reason) when the scenario is absent at this
    commit; a backend whose run raised maps to its error text (str).
    """
    run = scenario(module, function)
    if run is None:
        return {MISSING: f"scenarios.{module}.{function} does not exist at this commit"}
    results: dict[str, Any] = {}
    for backend in [b for b in available_backends() if b in backends]:
        try:
            records = run(factory(backend), backend=backend, quick=True, **kwargs)
        except Exception as exc:  # noqa: BLE001 -- a failed cell becomes data, the suite goes on
            results[backend] = f"{type(exc).__name__}: {exc}"
            continue
        results[backend] = [r.as_dict() for r in records]
    return results


def require(cache: dict[str, Any], backend: str, case: str) -> list[dict[str, Any]]:
    """The records of ``backend`` in ``cache``, for ``setup``.

    Raises NotImplementedError (asv skips the benchmark: only ``setup`` may) when
    there are none or when ``case`` is "not supported" by the backend.
    """
    if MISSING in cache:
        raise NotImplementedError(cache[MISSING])
    records = cache.get(backend)
    if records is None:
        raise NotImplementedError(f"backend {backend!r} does not exist at this commit")
    if isinstance(records, str):
        raise RuntimeError(f"scenario failed for {backend}: {records}")
    rows = [r for r in records if r["case"] == case]
    if rows and all(r["status"] == "not supported" for r in rows):
        raise NotImplementedError(f"{case}: not supported: {rows[0]['detail']}")
    return records  # type: ignore[no-any-return]


def pick(records: list[dict[str, Any]], case: str, metric: str) -> float:
    """The summary value of (case, metric). Skips a not-supported cell, fails on a failed one."""
    rows = [r for r in records if r["case"] == case and r["metric"] == metric and r.get("trial") is None]
    if not rows:
        statuses = {r["status"]: r["detail"] for r in records if r["case"] == case}
        if "not supported" in statuses:
            raise NotImplementedError(f"{case}: not supported: {statuses['not supported']}")
        raise NotImplementedError(f"{case}/{metric}: not measured at this commit")
    row = rows[0]
    if row["status"] == "not supported":
        raise NotImplementedError(f"{case}: not supported: {row['detail']}")
    if row["status"] != "ok" or row["value"] is None:
        raise RuntimeError(f"{case}/{metric}: {row['status']}: {row['detail'][-500:]}")
    return float(row["value"])
