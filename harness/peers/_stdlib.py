"""stdlib ``logging`` peers: ``FileHandler``, ``RotatingFileHandler``, ``QueueHandler`` + ``QueueListener``.

Configured as the logging docs and cookbook recommend: a dedicated ``Logger``
(not the root, ``propagate=False``), fields passed as ``extra=`` and a JSON
formatter on the file handler (stdlib ships none; the formatter here writes
the logbench JSON Lines format with the logbench encoder, so the encoding
cost is the same as the reference backends' and the difference measured is
the library's machinery: ``LogRecord``, ``findCaller``, handler locks, the
per-record ``flush``). With the queue, the formatter sits on the listener's
handler (the cookbook setup): the caller only builds and copies the record.

Failures: ``Handler.handleError`` is replaced on the adapter's handlers so
each failure is counted (``errors`` + ``dropped``) and reported once on
stderr instead of one traceback per record.
"""

from __future__ import annotations

import logging
import logging.config
import logging.handlers
import queue
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from loggers import _lifecycle
from loggers import JsonLinesEncoder
from loggers import COMMON_OPTIONS, Options

from ._common import PeerLogger, describe

#: Attributes every ``LogRecord`` has (and the formatter's own): never fields, never allowed in ``extra``.
RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonLinesFormatter(logging.Formatter):
    """Format a ``LogRecord`` as one logbench JSON line (without the newline the handler adds).

    Fields are the record's ``extra`` attributes in call order. Not thread-safe on its
    own: used by one handler, whose lock ``Handler.handle`` holds around ``format``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._encoder = JsonLinesEncoder()

    def format(self, record: logging.LogRecord) -> str:
        fields = {key: value for key, value in vars(record).items() if key not in RECORD_ATTRS}
        line = self._encoder.encode(int(record.created * 1e9), record.levelno, record.getMessage(), fields)
        return line[:-1].decode("ascii")


def rename_record_attrs(fields: Mapping[str, object]) -> dict[str, object]:
    """``fields`` with names ``LogRecord`` refuses in ``extra`` prefixed by ``_`` until free."""
    renamed: dict[str, object] = {}
    for key, value in fields.items():
        while key in RECORD_ATTRS or (key in renamed):
            key = "_" + key
        renamed[key] = value
    return renamed


def refuse_backup_count_zero(name: str, raw: Mapping[str, Any]) -> None:
    if raw.get("max_bytes") is not None and raw.get("backup_count") == 0:
        raise ValueError(
            f"backup_count: 0 is not supported by {name} (RotatingFileHandler with backupCount=0 "
            "never removes the file: it reopens it on every record and grows past max_bytes)"
        )


class _StdlibPeer(PeerLogger):
    """A dedicated ``logging.Logger`` whose handlers the subclass builds."""

    crash_durability = "returned"

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._logger = logging.Logger(f"logbench.peer.{self.name}", options.level)
        self._logger.propagate = False
        self._file_handler = self._make_file_handler(options)
        self._logger.addHandler(self._entry_handler())

    def _make_file_handler(self, options: Options) -> logging.FileHandler:
        assert options.path is not None
        if options.max_bytes is None:
            handler = logging.FileHandler(options.path, encoding="utf-8")
        else:
            handler = logging.handlers.RotatingFileHandler(
                options.path, maxBytes=options.max_bytes, backupCount=options.backup_count, encoding="utf-8"
            )
            handler.doRollover = self._counting_rollover(handler.doRollover)  # type: ignore[method-assign]
        handler.setFormatter(JsonLinesFormatter())
        handler.handleError = self._on_handler_error  # type: ignore[method-assign]
        return handler

    @property
    def stdlib_logger(self) -> Any:
        """The library's own logger, with this peer's handlers: the caller scenario's stdlib front (``own``)."""
        return self._logger

    def _entry_handler(self) -> logging.Handler:
        """The handler the logger calls (the file handler; the queue peer puts a QueueHandler first)."""
        return self._file_handler

    def _counting_rollover(self, rollover: Any) -> Any:
        def counted() -> None:
            with self._failure_lock:
                self._rotations += 1
            rollover()

        return counted

    def _emit(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        try:
            self._logger.log(level, msg, extra=fields)
        except KeyError:  # a field named like a LogRecord attribute ("name", "args", ...)
            self._logger.log(level, msg, extra=rename_record_attrs(fields))
        except Exception as exc:
            self._drop(type(exc).__name__, describe(exc))

    def flush(self, timeout: float | None = None) -> bool:
        """FileHandler flushes after every record; this only repeats that flush."""
        self._file_handler.flush()
        return True

    def _shutdown(self) -> None:
        self._logger.removeHandler(self._file_handler)
        self._file_handler.close()


class StdlibFileLogger(_StdlibPeer):
    """``stdlib-file``: ``logging.FileHandler`` (blocking; formats and writes in the caller, flush per record).

    ``written`` = emitted - dropped (exact once no call is in flight).
    """

    name = "stdlib-file"
    accepts = frozenset({"path", "level"})


class StdlibRotatingLogger(_StdlibPeer):
    """``stdlib-rotating``: ``RotatingFileHandler`` (``maxBytes``/``backupCount``), otherwise like ``stdlib-file``.

    Known limits (stdlib's, measured not fixed): the size check counts characters and
    formats every record twice; an oversize record rotates an empty file away;
    processes sharing a path rename each other's files (lost/duplicated records).
    """

    name = "stdlib-rotating"
    accepts = COMMON_OPTIONS

    @classmethod
    def check_options(cls, raw: Mapping[str, Any]) -> None:
        refuse_backup_count_zero(cls.name, raw)


class ListenerQueuePeer:
    """Counts, flush and close of a peer whose ``QueueHandler`` feeds a ``queue.Queue`` to a ``QueueListener``.

    Shared by stdlib-queue and picologging-queue; listed before the peer base
    class. The peer sets ``_queue``, ``_queue_handler`` (the handler its logger
    calls), ``_listener`` (a :class:`WaitsForRoomOnStop` listener) and
    ``_file_handler``. Records still queued are neither written nor dropped yet;
    once closed, what is left was put by a call racing ``close()`` after the
    final drain, and is counted as dropped.
    """

    overflow_policy: ClassVar[str | None] = "drop_new"  # QueueHandler.enqueue is put_nowait
    _queue: queue.Queue[Any]
    _queue_handler: Any
    _listener: Any
    _file_handler: Any
    _logger: Any
    _reporter: Any
    _closed: bool
    _closed_drop: Callable[[], None]

    def _written(self, emitted: int, dropped: int) -> int:
        return emitted - dropped - (0 if self._closed else self._queue.unfinished_tasks)

    def _stranded(self) -> int:
        return self._queue.unfinished_tasks if self._closed else 0

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the listener has handled every queued record (its file handler flushes each)."""
        return wait_until_done(self._queue, timeout)

    def _shutdown(self) -> None:
        """Drain and release; never raises (a failure is counted and reported once)."""
        try:
            self._listener.stop()  # waits for room for the sentinel, then joins: drains what was queued
        except Exception as exc:
            self._reporter.report(type(exc).__name__, f"stopping the QueueListener: {describe(exc)}")
        self._logger.removeHandler(self._queue_handler)
        self._queue_handler.close()
        self._file_handler.close()
        drain_leftovers(self._queue, self._closed_drop)


class StdlibQueueLogger(ListenerQueuePeer, _StdlibPeer):
    """``stdlib-queue``: ``QueueHandler`` -> ``queue.Queue`` -> ``QueueListener`` thread -> FileHandler.

    The caller builds and copies the record (``prepare``) and enqueues it; the
    listener formats and writes. Set up per interpreter as its users would
    (:func:`queue_handler_as_configured`: dictConfig's QueueHandler entry on 3.12+). Unbounded by default; ``queue_size`` bounds it and
    a full queue drops the new record (``put_nowait``), so only ``overflow="drop_new"``
    is accepted. With ``max_bytes`` the listener's handler is a RotatingFileHandler.
    ``written`` = emitted - dropped - records still queued; exact after ``flush``/``close``.
    """

    name = "stdlib-queue"
    accepts = COMMON_OPTIONS | {"queue_size", "overflow"}
    crash_durability = "flushed"

    @classmethod
    def check_options(cls, raw: Mapping[str, Any]) -> None:
        check_queue_options(cls.name, raw)
        refuse_backup_count_zero(cls.name, raw)

    def __init__(self, options: Options) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(options.queue_size if options.overflow == "drop_new" else 0)
        super().__init__(options)
        self._listener.start()
        # The logging docs: "call stop() ... before application exit"; a correct user does, so does the adapter.
        _lifecycle.track(self)

    def _after_fork_in_child(self) -> None:
        """The listener thread does not exist in a forked child: a fresh queue and listener take over."""
        self._queue = queue.Queue(self._queue.maxsize)
        self._queue_handler.queue = self._queue
        self._listener = DrainingListener(self._queue, self._file_handler)
        self._queue_handler.listener = self._listener
        if not self._closed:
            self._listener.start()

    def _entry_handler(self) -> logging.Handler:
        handler: logging.handlers.QueueHandler = queue_handler_as_configured(self._queue, self._file_handler)
        handler.handleError = self._on_handler_error  # type: ignore[method-assign]
        self._queue_handler = handler
        self._listener = handler.listener  # type: ignore[attr-defined, unused-ignore]  # 3.12+ stubs only
        return handler


def queue_handler_as_configured(q: queue.Queue[Any], target: logging.Handler) -> Any:
    """A ``QueueHandler`` on ``q`` with a :class:`DrainingListener` into ``target``, as this Python's users set it up.

    3.12+: the logging cookbook's dictConfig setup ("handlers" and "listener" keys on a
    ``QueueHandler`` entry; the handler's ``.listener`` is started by the application),
    built by dictConfig's own handler factory (``dictConfigClass(...).configure_handler``),
    without ``dictConfig()``'s process-wide reset, which would close every other handler
    in the process. 3.11, whose dictConfig has no such keys: the handler and listener
    built by hand, as its cookbook shows. Either way the listener is ``handler.listener``.
    """
    if sys.version_info >= (3, 12):
        configurator = logging.config.dictConfigClass({"version": 1, "handlers": {"target": target}})
        handler = configurator.configure_handler({
            "class": "logging.handlers.QueueHandler", "handlers": ["target"], "queue": q,
            "listener": DrainingListener, "respect_handler_level": False,
        })
    else:
        handler = logging.handlers.QueueHandler(q)
        handler.listener = DrainingListener(q, target)  # type: ignore[attr-defined, unused-ignore]  # 3.12+ stubs only
    return handler

class WaitsForRoomOnStop:
    """Mixin for a ``QueueListener`` (stdlib's or picologging's) whose ``stop()`` works on a full bounded queue.

    The stock ``enqueue_sentinel`` uses ``put_nowait`` and raises ``queue.Full``
    when the queue is full; the docs name it as the method to override. This
    one waits for the listener to make room, giving up only if its thread died.
    """

    queue: Any
    _sentinel: Any
    _thread: Any

    def enqueue_sentinel(self) -> None:
        while True:
            try:
                self.queue.put(self._sentinel, timeout=0.05)
                return
            except queue.Full:
                thread = self._thread
                if thread is None or not thread.is_alive():
                    return


class DrainingListener(WaitsForRoomOnStop, logging.handlers.QueueListener):
    """stdlib's ``QueueListener`` with a ``stop()`` that waits for room for its sentinel."""


def check_queue_options(name: str, raw: Mapping[str, Any]) -> None:
    """A bounded stdlib-style queue drops the new record when full: only ``drop_new`` is honest."""
    overflow = raw.get("overflow")
    if overflow is not None and overflow != "drop_new":
        raise ValueError(
            f"overflow: {overflow!r} is not supported by {name} (QueueHandler uses put_nowait: "
            "a full queue drops the new record; only 'drop_new' with queue_size is possible)"
        )
    if "queue_size" in raw and overflow != "drop_new":
        raise ValueError(
            f"queue_size: a bounded {name} queue drops new records when full; pass overflow='drop_new' with it"
        )
    if overflow == "drop_new" and "queue_size" not in raw:
        raise ValueError(f"overflow: 'drop_new' needs queue_size= for {name} (its default queue is unbounded)")


def wait_until_done(q: queue.Queue[Any], timeout: float | None) -> bool:
    """True once every item put on ``q`` was marked done; False after ``timeout`` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with q.all_tasks_done:
        while q.unfinished_tasks:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            q.all_tasks_done.wait(remaining)
    return True


def drain_leftovers(q: queue.Queue[Any], count_drop: Any) -> None:
    """After the listener stopped: records a racing call put behind the sentinel are dropped."""
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return
        q.task_done()
        count_drop()
