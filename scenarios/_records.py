"""The record shapes scenarios log: ``record_for(shape) -> (msg, fields)``.

``small``: 3 scalar fields; ``medium``: 10 fields, one a nested dict; ``large``: a
1 KiB message and 3 fields; ``filtered``: the small record, logged below the
logger's level (what a call that does nothing costs).
"""

from __future__ import annotations

from typing import Any

__all__ = ["RECORD_SHAPES", "record_for"]

RECORD_SHAPES = ("small", "medium", "large", "filtered")


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
