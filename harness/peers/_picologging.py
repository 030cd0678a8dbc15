"""picologging peers: ``FileHandler``, and ``QueueHandler`` + ``QueueListener`` over one.

picologging is a C reimplementation of the ``logging`` API. Its records do not
carry ``extra=`` (it is accepted and silently ignored), so fields travel the
only way that survives: as the one mapping argument (``log.info(msg, fields)``;
``LogRecord`` keeps a single mapping as ``args``). The JSON formatter reads
``record.msg`` and that mapping (never ``msg % args``) and writes the logbench
JSON Lines format with the logbench encoder.

With the queue the formatter has to sit on the ``QueueHandler``: its
``prepare()`` builds a new record without ``args``, so the JSON line is built in
the caller and the listener thread only writes it (stdlib-queue formats in the
listener). Handlers are used as shipped: subclassing picologging's
``FileHandler`` in Python made it write to stdout in our probe (0.9.3).
``written`` as for the stdlib peers; errors inside picologging's C handlers are
not visible here.
"""

from __future__ import annotations

import queue
from collections.abc import Mapping
from typing import Any

import picologging
import picologging.handlers

from loggers import _lifecycle
from loggers import JsonLinesEncoder
from loggers import Options

from ._common import PeerLogger, describe
from ._stdlib import ListenerQueuePeer, WaitsForRoomOnStop, check_queue_options

_METHOD_NAMES = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "critical"}


class PicoJsonFormatter(picologging.Formatter):
    """One logbench JSON line (without newline) from ``record.msg`` and the mapping in ``record.args``.

    Used by one handler, under its lock.
    """

    def __init__(self) -> None:
        super().__init__()
        self._encoder = JsonLinesEncoder()

    def format(self, record: Any) -> str:
        args = record.args
        fields = args if type(args) is dict else {}
        line = self._encoder.encode(int(record.created * 1e9), record.levelno, record.msg, fields)
        return line[:-1].decode("ascii")


class _PicoPeer(PeerLogger):
    requires = "picologging"
    accepts = frozenset({"path", "level"})
    crash_durability = "returned"

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        assert options.path is not None
        self._logger = picologging.Logger(f"logbench.peer.{self.name}", options.level)
        self._file_handler = picologging.FileHandler(options.path, encoding="utf-8")
        self._entry = self._entry_handler()
        self._logger.addHandler(self._entry)
        self._methods = {level: getattr(self._logger, name) for level, name in _METHOD_NAMES.items()}

    @property
    def stdlib_logger(self) -> Any:
        """The library's own logger, with this peer's handlers: the caller scenario's stdlib front (``own``)."""
        return self._logger

    def _entry_handler(self) -> Any:
        self._file_handler.setFormatter(PicoJsonFormatter())
        return self._file_handler

    def _emit(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        args = (dict(fields),) if fields else ()
        method = self._methods.get(level)
        try:
            if method is None:
                self._logger.log(level, msg, *args)
            else:
                method(msg, *args)
        except Exception as exc:
            self._drop(type(exc).__name__, f"{describe(exc)} (record dropped)")

    def flush(self, timeout: float | None = None) -> bool:
        self._file_handler.flush()
        return True

    def _shutdown(self) -> None:
        self._logger.removeHandler(self._entry)
        self._file_handler.close()


class PicologgingFileLogger(_PicoPeer):
    """``picologging-file``: ``picologging.FileHandler``; formats and writes in the caller."""

    name = "picologging-file"


class PicologgingQueueLogger(ListenerQueuePeer, _PicoPeer):
    """``picologging-queue``: ``QueueHandler`` (formats in the caller) -> ``queue.Queue`` -> ``QueueListener`` -> FileHandler.

    Unbounded by default; ``queue_size`` with ``overflow="drop_new"`` bounds it (put_nowait).
    """

    name = "picologging-queue"
    accepts = frozenset({"path", "level", "queue_size", "overflow"})
    crash_durability = "flushed"

    @classmethod
    def check_options(cls, raw: Mapping[str, Any]) -> None:
        check_queue_options(cls.name, raw)

    def __init__(self, options: Options) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(options.queue_size if options.overflow == "drop_new" else 0)
        super().__init__(options)
        self._listener = _PicoDrainingListener(self._queue, self._file_handler)
        self._listener.start()
        _lifecycle.track(self)  # stopped (drained) at exit, as the docs ask of a correct user

    def _entry_handler(self) -> Any:
        self._file_handler.setFormatter(picologging.Formatter("%(message)s"))
        handler = picologging.handlers.QueueHandler(self._queue)
        handler.setFormatter(PicoJsonFormatter())
        handler.handleError = self._on_handler_error  # type: ignore[method-assign]  # a full queue: counted as dropped
        self._queue_handler = handler
        return handler


class _PicoDrainingListener(WaitsForRoomOnStop, picologging.handlers.QueueListener):
    """picologging's ``QueueListener`` with a ``stop()`` that waits for room for its sentinel."""
