"""One module-level factory per peer: ``factory(path=..., **options) -> Logger``.

``PEERS`` names these as ``"module:function"`` strings; being plain functions they
pickle by name, so a scenario can hand one to a spawned child process.
"""

from __future__ import annotations

from typing import Any

from loggers import Logger


def _create(name: str, options: dict[str, Any]) -> Logger:
    from . import create_peer

    return create_peer(name, **options)


def stdlib_file(**options: Any) -> Logger:
    return _create("stdlib-file", options)


def stdlib_rotating(**options: Any) -> Logger:
    return _create("stdlib-rotating", options)


def stdlib_queue(**options: Any) -> Logger:
    return _create("stdlib-queue", options)


def loguru_file(**options: Any) -> Logger:
    return _create("loguru-file", options)


def loguru_enqueue(**options: Any) -> Logger:
    return _create("loguru-enqueue", options)


def structlog_json(**options: Any) -> Logger:
    return _create("structlog-json", options)


def picologging_file(**options: Any) -> Logger:
    return _create("picologging-file", options)


def picologging_queue(**options: Any) -> Logger:
    return _create("picologging-queue", options)


def otel_batch(**options: Any) -> Logger:
    return _create("otel-batch", options)
