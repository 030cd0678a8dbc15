"""The record shapes scenarios log: ``record_for(shape) -> (msg, fields)``.

``small``: 3 scalar fields; ``medium``: 10 fields, one a nested dict; ``large``: a
1 KiB message and 3 fields; ``filtered``: the small record, logged below the
logger's level (what a call that does nothing costs). A user's own record is
``package.module:callable`` returning ``(msg, fields)`` (:func:`resolve_record`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["RECORD_SHAPES", "record_for", "resolve_callable", "resolve_record"]

RECORD_SHAPES = ("small", "medium", "large", "filtered")


def resolve_record(spec: str) -> tuple[str, dict[str, Any]]:
    """``(msg, fields)`` for a shape name or a ``package.module:callable`` returning ``(msg, fields)``.

    Raises:
        ValueError: unknown shape, a target that does not import or is not callable, a call
            that raises, or a result that is not ``(str, dict with str keys)``.
    """
    if ":" not in spec:
        return record_for(spec)
    target = resolve_callable(spec, "record")
    try:
        result = target()
    except Exception as exc:
        raise ValueError(f"record: {spec}() raised {type(exc).__name__}: {exc}") from exc
    if (not isinstance(result, tuple) or len(result) != 2 or not isinstance(result[0], str)
            or not isinstance(result[1], dict) or not all(isinstance(k, str) for k in result[1])):
        raise ValueError(f"record: {spec}() must return (msg: str, fields: dict[str, object]), got {result!r:.200}")
    return result[0], dict(result[1])


def resolve_callable(spec: str, what: str) -> Any:
    """The callable named ``package.module:attribute``. ValueError (naming ``what``) if it is not one."""
    import importlib

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{what}: expected package.module:callable, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ValueError(f"{what}: cannot import {module_name!r}: {type(exc).__name__}: {exc}") from exc
    target: Any = module
    for part in attribute.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ValueError(f"{what}: {module_name!r} has no attribute {attribute!r}")
    if not callable(target):
        raise ValueError(f"{what}: {spec} is not callable")
    return target


def record_for(shape: str) -> tuple[str, dict[str, Any]]:
    """The message and fields of ``shape``. Raises ValueError for an unknown shape."""
    if shape in ("small", "filtered"):
        return "user login", {"user_id": 42, "ok": True, "path": "/api/v1/items"}
    if shape == "medium":
        return "request served", {
            "user_id": 42, "ok": True, "path": "/api/v1/items", "method": "GET", "status": 200,
            "bytes": 5120, "elapsed_ms": 12.5, "region": "eu-west-1", "retry": None,
            "client": {"ip": "10.0.0.7", "agent": "curl/8.5", "tags": ["a", "b"]},
        }
    if shape == "large":
        return "x" * 1024, {"user_id": 42, "ok": True, "path": "/api/v1/items"}
    raise ValueError(f"unknown record shape {shape!r} (known: {', '.join(RECORD_SHAPES)})")
