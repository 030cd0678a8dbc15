"""structlog peer: JSON to a file the way structlog's performance docs recommend.

The documented "as fast as it gets" configuration: a
``make_filtering_bound_logger(level)`` wrapper (filtered calls are
``return None``), the processors ``merge_contextvars``, ``add_log_level``,
``format_exc_info``, ``TimeStamper(fmt="iso", utc=True)``, ``JSONRenderer`` with
``orjson.dumps`` and a ``BytesLogger`` on a binary file (orjson returns bytes);
without orjson, ``json.dumps`` and a ``WriteLogger`` on a text file (the docs'
alternative). Two changes make the lines read like logbench's: the timestamp key
is ``ts`` (``TimeStamper(key="ts")``) and ``EventRenamer("msg")`` names the event
``msg``; ``level`` is structlog's lower-case method name.

The bound logger is built directly (``wrapper_class(logger, processors, context)``,
which is what ``cache_logger_on_first_use=True`` caches) instead of through the
global ``structlog.configure``, so several peers can live in one process.

Blocking: render and ``write`` + ``flush`` under the per-file lock in the caller,
so a returned call is in the kernel. Known limits (structlog's): only the five
standard levels have methods (another level number raises ``KeyError`` in
``log()``: counted as an error and dropped); a field named ``event`` clashes with
the positional event; fields named ``level``/``ts``/``msg`` are overwritten by
the processors; orjson refuses lone surrogates and non-str keys beyond its options
(the record is dropped and counted). ``written`` = emitted - dropped.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from typing import IO, Any, cast

import structlog

from loggers import Options

from ._common import PeerLogger, describe

HAVE_ORJSON = importlib.util.find_spec("orjson") is not None
_METHOD_NAMES = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "critical"}


def _renderer_and_file(path: str) -> tuple[Any, IO[Any], Any]:
    """(JSONRenderer, open file, output logger) following the docs: orjson + BytesLogger, else json + WriteLogger."""
    if HAVE_ORJSON:
        import orjson

        file: IO[Any] = open(path, "ab")
        return structlog.processors.JSONRenderer(serializer=orjson.dumps), file, structlog.BytesLogger(cast(Any, file))
    file = open(path, "a", encoding="utf-8")
    return structlog.processors.JSONRenderer(serializer=json.dumps), file, structlog.WriteLogger(file)


class StructlogJsonLogger(PeerLogger):
    """``structlog-json``: see the module docstring."""

    name = "structlog-json"
    requires = "structlog"
    accepts = frozenset({"path", "level"})
    crash_durability = "returned"

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        assert options.path is not None
        renderer, self._file, output = _renderer_and_file(options.path)
        processors = [
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
            structlog.processors.EventRenamer("msg"),
            renderer,
        ]
        wrapper: Any = structlog.make_filtering_bound_logger(options.level)
        self._logger: Any = wrapper(output, processors, {})
        self._methods = {level: getattr(self._logger, name) for level, name in _METHOD_NAMES.items()}

    def _emit(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        method = self._methods.get(level)
        try:
            if method is None:
                self._logger.log(level, msg, **fields)
            else:
                method(msg, **fields)
        except Exception as exc:  # unnamed level, unserializable value, I/O error, "event" field
            self._drop(type(exc).__name__, f"{describe(exc)} (record dropped)")

    def flush(self, timeout: float | None = None) -> bool:
        """Every call already wrote and flushed its line."""
        return True

    def _shutdown(self) -> None:
        try:
            self._file.close()
        except OSError as exc:
            self._count_bad_call()
            self._reporter.report(type(exc).__name__, describe(exc))
