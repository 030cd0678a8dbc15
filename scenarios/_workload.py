"""The application stand-in for the overhead scenario: a pure-Python request handler.

One *unit* parses a JSON order, prices it (a little arithmetic per line item,
repeated ``rounds`` times), and builds a JSON response — the shape of a small
web request handler. The overhead scenario runs a fixed amount of work per unit,
:data:`BUILTIN_ROUNDS`; :func:`calibrate` picks ``rounds`` so a unit takes about
``target_us`` on this machine (the service scenario, or overhead when asked for a
target). :func:`run_units` runs units and logs at a given rate through any logger (or none).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from ._fronts import StdlibFront

_PAYLOAD = json.dumps(
    {
        "id": 1234,
        "user": {"id": 42, "name": "ada", "tier": "gold"},
        "items": [{"sku": f"SKU-{i:04d}", "qty": i % 5 + 1, "price": 3.5 + i * 1.25} for i in range(12)],
        "coupon": "WELCOME10",
    }
).encode()
#: The request body one unit parses (the service scenario's handler uses it too).
PAYLOAD = _PAYLOAD
#: The overhead scenario's unit: ``handle(PAYLOAD, 7)``, about 20 us on the reference machine (the 2-core VM of
#: docs/measurement.md, CPython 3.11: 18.8-21.3 us in six fresh processes, 2026-12-02). Fixed, not calibrated per
#: process: the same commit measures the same work in every run, so an overhead ratio does not move with the moment
#: a calibration happened to sample (``calibrate`` chose 0 to 9 rounds for one commit here, a unit of 11 to 21 us).
BUILTIN_ROUNDS = 7


def handle(payload: bytes, rounds: int) -> tuple[bytes, dict[str, Any]]:
    """One unit of work: parse, price ``rounds`` times, build the response. Pure, deterministic."""
    order = json.loads(payload)
    items = order["items"]
    total = 0.0
    for r in range(rounds):
        subtotal = 0.0
        for item in items:
            subtotal += item["qty"] * item["price"] * (1.0 + (r % 3) * 0.01)
        total = subtotal
    discount = 0.1 if order.get("coupon") else 0.0
    top = sorted(items, key=lambda it: it["qty"] * it["price"], reverse=True)[:3]
    response = {
        "order": order["id"],
        "user": order["user"]["id"],
        "total": round(total * (1 - discount), 2),
        "top": [it["sku"] for it in top],
        "count": len(items),
    }
    return json.dumps(response).encode(), response


def run_units(log: Any, units: int, rounds: int, *, every: int = 1, per_unit: int = 1,
              unit: Callable[[], object] | None = None, record: tuple[str, dict[str, Any]] | None = None) -> int:
    """Run ``units`` units; every ``every``-th unit logs ``per_unit`` lines. ``log`` None logs nothing.

    ``unit``: the user's zero-argument callable as one unit of work (``rounds`` then unused);
    default :func:`handle`. ``record``: ``(msg, fields)`` to log; default the handler's
    six-field "request handled" record built from its response. Returns the log calls made.
    A :class:`scenarios._fronts.StdlibFront` is called as a stdlib program calls its
    ``logging.Logger``: ``logger.info(msg, extra={...})``, the dict built at the call.
    """
    if unit is not None or record is not None:
        return _run_custom(log, units, rounds, every, per_unit, unit, record)
    if isinstance(log, StdlibFront):
        return _run_stdlib(log.logger, units, rounds, every, per_unit)
    payload = _PAYLOAD
    calls = 0
    for i in range(units):
        body, resp = handle(payload, rounds)
        if log is None or i % every:
            continue
        for step in range(per_unit):
            log.info("request handled", step=step, order=resp["order"], user=resp["user"],
                     total=resp["total"], bytes=len(body), path="/api/orders")
        calls += per_unit
    return calls


def _run_stdlib(logger: Any, units: int, rounds: int, every: int, per_unit: int) -> int:
    """:func:`run_units`' built-in record through a ``logging.Logger``: the same fields, as ``extra``."""
    payload = _PAYLOAD
    calls = 0
    for i in range(units):
        body, resp = handle(payload, rounds)
        if i % every:
            continue
        for step in range(per_unit):
            logger.info("request handled", extra={"step": step, "order": resp["order"], "user": resp["user"],
                                                  "total": resp["total"], "bytes": len(body), "path": "/api/orders"})
        calls += per_unit
    return calls


def _run_custom(log: Any, units: int, rounds: int, every: int, per_unit: int,
                unit: Callable[[], object] | None, record: tuple[str, dict[str, Any]] | None) -> int:
    """:func:`run_units` with the user's unit and/or a fixed record."""
    work = unit if unit is not None else (lambda: handle(_PAYLOAD, rounds))
    msg, fields = record if record is not None else ("request handled", {"step": 0, "path": "/api/orders"})
    stdlib = log.logger if isinstance(log, StdlibFront) else None
    calls = 0
    for i in range(units):
        work()
        if log is None or i % every:
            continue
        for _ in range(per_unit):
            if stdlib is None:
                log.info(msg, **fields)
            else:
                stdlib.info(msg, extra=fields)
        calls += per_unit
    return calls


def resolve_workload(spec: str) -> Callable[[], object]:
    """The user's unit of work ``package.module:callable``, called once here to prove it runs.

    Raises:
        ValueError: it does not import, is not callable, or raises when called with no arguments.
    """
    from ._records import resolve_callable

    unit: Callable[[], object] = resolve_callable(spec, "workload")
    try:
        unit()
    except Exception as exc:
        raise ValueError(f"workload: {spec}() raised {type(exc).__name__}: {exc}") from exc
    return unit


def time_unit_us(unit: Callable[[], object], units: int = 200) -> float:
    """Best of five: microseconds per call of the user's ``unit``."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(units):
            unit()
        best = min(best, time.perf_counter() - start)
    return best / units * 1e6


def calibrate(target_us: float = 20.0, *, units: int = 1000) -> tuple[int, float]:
    """``(rounds, unit_us)``: the ``rounds`` making one unlogged unit take about ``target_us`` here."""
    probe = 20
    fixed_us = time_builtin_unit_us(0, units)
    per_round_us = max((time_builtin_unit_us(probe, units) - fixed_us) / probe, 1e-3)
    rounds = max(0, round((target_us - fixed_us) / per_round_us))
    unit_us = time_builtin_unit_us(rounds, units)
    return rounds, unit_us


def time_builtin_unit_us(rounds: int, units: int = 1000) -> float:
    """Best of five: microseconds per unlogged built-in unit of ``rounds`` (one slow probe made ``rounds``
    swing 1..5 here when it calibrated)."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        run_units(None, units, rounds)
        best = min(best, time.perf_counter() - start)
    return best / units * 1e6
