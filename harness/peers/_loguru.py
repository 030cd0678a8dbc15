"""loguru peers: a file sink with ``serialize=True``, ``enqueue=False`` and ``enqueue=True``.

Configured as loguru documents structured file logging: ``logger.add(path,
serialize=True, level=..., enqueue=...)`` and fields passed as keyword
arguments (``logger.info("msg", writer=1, seq=2)``), which loguru puts into
``record["extra"]``. A line is loguru's serialized document
``{"text": ..., "record": {..., "extra": {fields}}}``: use
``parse_loguru_line``. Rotation: ``rotation=`` a size test identical to loguru's
own for an int (``file.tell() + len(message) > max_bytes``; a callable so
rotations can be counted) and ``retention=backup_count``; rotated files are
renamed ``<root>.<timestamp><ext>`` (the ``log_files`` hook lists them).

Interpreter exit: loguru's global logger is removed by an ``atexit`` hook loguru
registers (which drains ``enqueue=True``); an adapter's own logger gets the same
through ``loggers._lifecycle.track``.

Each adapter has its own loguru ``Logger`` (own core and handlers), built the way
``loguru/__init__.py`` builds the global one, so the application's global
``loguru.logger`` is never touched (the documented ``copy.deepcopy(logger)`` recipe
needs the global's handlers removed first).

Known limits (loguru's): with fields given, the message goes through
``str.format(**fields)``: braces in it raise, and the adapter retries with
``bind(**fields)``; sink errors (e.g. a lone surrogate, a full disk) are caught and
printed by loguru per record and are not counted here; ``enqueue=True`` pickles each
record through a pipe to a writer thread; what is queued is lost on SIGKILL.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from loggers import _lifecycle
from loggers import COMMON_OPTIONS, Options

from ._common import PeerLogger, describe, loguru_flat_record, loguru_log_files, parse_loguru_line

_METHOD_NAMES = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "critical"}


def fresh_logger() -> Any:
    """A loguru logger with no handlers and its own core (as ``loguru/__init__.py`` builds the global one)."""
    internals: Any = importlib.import_module("loguru._logger")  # untyped; private but stable in 0.7
    return internals.Logger(
        core=internals.Core(), exception=None, depth=0, record=False, lazy=False, colors=False,
        raw=False, capture=True, patchers=[], extra={},
    )  # fmt: skip


class _LoguruPeer(PeerLogger):
    requires = "loguru"
    accepts = COMMON_OPTIONS
    enqueue: ClassVar[bool] = False
    line_parser = staticmethod(parse_loguru_line)
    record_view = staticmethod(loguru_flat_record)  # serialize=True nests message and fields under "record"

    @classmethod
    def log_files(cls, path: str | os.PathLike[str]) -> list[str]:
        """loguru's rotated ``<root>.<timestamp><ext>`` files by age, then ``path``."""
        return loguru_log_files(path)

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._logger: Any = fresh_logger()
        sink_options: dict[str, Any] = {}
        if options.max_bytes is not None:
            sink_options["rotation"] = self._size_rotation(options.max_bytes)
            sink_options["retention"] = options.backup_count
        self._handler_id = self._logger.add(
            options.path, level=options.level, serialize=True, enqueue=self.enqueue, **sink_options
        )
        self._methods = {level: getattr(self._logger, name) for level, name in _METHOD_NAMES.items()}
        _lifecycle.track(self)  # loguru registers atexit(logger.remove) for its global logger: do the same

    def _after_fork_in_child(self) -> None:
        """Nothing to repair: loguru re-creates its own locks after fork."""

    def _size_rotation(self, max_bytes: int) -> Any:
        def should_rotate(message: str, file: Any) -> bool:
            file.seek(0, 2)
            if file.tell() + len(message) > max_bytes:
                with self._failure_lock:
                    self._rotations += 1
                return True
            return False

        return should_rotate

    def _emit(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        method = self._methods.get(level)
        try:
            if method is None:
                self._logger.log(level, msg, **fields)
            else:
                method(msg, **fields)
        except Exception:  # str.format of the message failed: braces, or not a str
            self._retry_bound(level, msg, fields)

    def _retry_bound(self, level: int, msg: object, fields: Mapping[str, object]) -> None:
        try:
            self._logger.bind(**fields).log(_METHOD_NAMES.get(level, "").upper() or level, str(msg))
        except Exception as exc:
            self._drop(type(exc).__name__, f"{describe(exc)} (record dropped)")

    def flush(self, timeout: float | None = None) -> bool:
        """The file is line-buffered: every write is flushed. Nothing is queued."""
        return True

    def _shutdown(self) -> None:
        self._logger.remove(self._handler_id)  # enqueue: sends the sentinel, joins the writer


class LoguruFileLogger(_LoguruPeer):
    """``loguru-file``: ``enqueue=False``: serialize and write (line-buffered) in the caller, under loguru's lock.

    ``written`` = emitted - dropped (sink errors caught by loguru are not seen).
    """

    name = "loguru-file"
    crash_durability = "returned"


class LoguruEnqueueLogger(_LoguruPeer):
    """``loguru-enqueue``: ``enqueue=True``: serialize in the caller, pickle into a pipe, a thread writes.

    ``written`` counts the records covered by the last successful ``flush()`` (``logger.complete()``)
    or by ``close()``: what is in flight is not knowable from outside loguru.
    """

    name = "loguru-enqueue"
    crash_durability = "flushed"
    enqueue = True

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._confirmed = 0

    def _written(self, emitted: int, dropped: int) -> int:
        return min(self._confirmed, emitted - dropped)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for ``logger.complete()`` (the writer took every earlier record); False after ``timeout``."""
        if self._closed:
            return True
        target = self._emitted.value()
        with self._failure_lock:
            target -= self._dropped
        if timeout is None:
            self._logger.complete()
        else:
            waiter = threading.Thread(target=self._logger.complete, daemon=True, name="loguru-complete")
            waiter.start()
            waiter.join(timeout)
            if waiter.is_alive():
                return False
        self._confirm(target)
        return True

    def _shutdown(self) -> None:
        target = self._emitted.value()
        with self._failure_lock:
            target -= self._dropped
        self._logger.remove(self._handler_id)
        self._confirm(target)

    def _confirm(self, target: int) -> None:
        with self._failure_lock:
            self._confirmed = max(self._confirmed, target)
