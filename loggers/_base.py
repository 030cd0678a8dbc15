"""The one logger interface every backend implements.

A record flows one way: caller -> hand-off -> encoder -> sink. :class:`Logger`
fixes the caller side (level filtering, timestamps, the stdlib bridge, the
context manager); a backend supplies only the hand-off and its lifecycle:

``_handoff(ts_ns, level, msg, fields)``
    Called for every record that passed the level filter, from any thread.
    Must never raise into the application (only ``KeyboardInterrupt`` and
    ``SystemExit`` may propagate); a record it cannot take is counted in
    ``dropped``. After ``close()`` it drops and counts.
``_handoff_args(ts_ns, level, msg, fields, args)`` (optional)
    The same for a record whose message is ``msg % args`` (the stdlib front
    ends, ``loggers._stdlib.accelerate``): ``msg`` is an exact ``str`` and ``args``
    a non-empty tuple of ``LATE_FORMAT_TYPES`` values, so formatting it later
    gives the same text. A backend with a writer passes ``args`` on and its
    encoder formats (``JsonLinesEncoder.encode(..., args)``); the default
    formats now, in the caller, and calls ``_handoff``.
``flush(timeout=None) -> bool``
    True once every record logged before the call has been handed to the OS
    (``os.write`` returned), False if ``timeout`` seconds passed first.
``close()``
    Idempotent; drains what was accepted, then releases the file.
``_counter_values() -> dict``
    The backend's counters, read by :meth:`Logger.stats`.

Stats keys (all ints): ``emitted`` (calls that passed the level filter),
``written`` (records handed to the OS), ``dropped`` (records that never will
be: overflow, after close, I/O failure), ``errors`` (failure events: I/O
errors, unrepresentable values; an errored record may still be written),
``rotations``, ``max_queue_depth``. Once a logger is closed,
``emitted == written + dropped``. Every backend also reports
``queue_depth`` (records accepted and not yet written, now),
``oldest_queued_age_ns`` (how long the oldest of them has waited; both 0
without a queue) and ``sampled_out`` (calls that passed the level but were
left out by ``sample=``, not in ``emitted``; ``loggers._policies.sampling``).

Run time: ``set_level(level)`` from any thread; ``on_pressure`` signals of
queued backends come from ``loggers._policies.pressure``, and a callback that raises
counts in ``errors``.

For verifiers: how to read back what this backend wrote. Two class-level
hooks, read from the class (``type(logger)``), never from an instance:

``line_parser``
    ``None`` (the default): lines are logbench JSON Lines with top-level
    ``writer`` and ``seq`` fields. A backend writing another layout sets it to
    ``staticmethod(parse)`` with ``parse(line: bytes) -> (writer, seq) | None``
    (``line`` without its ``\n``; ``None`` for a line that is not a whole record).
``record_view``
    ``None`` (the default): each line is one flat JSON object with ``ts``,
    ``level``, ``msg`` and the fields at the top level, which is what content
    checks (the fault catalogue) read. A backend nesting them (loguru's
    ``serialize=True``) sets ``staticmethod(view)`` with ``view(document) ->
    flat dict`` of that shape.
``log_files(path) -> list[str]``
    Every existing file the backend wrote for ``path``, oldest first, ``path``
    itself last if it exists. Default: the ``path.N`` ... ``path.1``, ``path``
    chain of :class:`FileSink` rotation; a backend naming its rotated files
    otherwise overrides this classmethod.
"""

from __future__ import annotations

import abc
import itertools
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ._stdlib.message import format_message
from ._options import (
    COMMON_OPTIONS,
    CRITICAL,
    DEBUG,
    ERROR,
    INFO,
    WARNING,
    Options,
    parse_level,
)

if TYPE_CHECKING:
    import logging
    from types import TracebackType

    from ._sink.encoder import JsonLinesEncoder
    from ._policies.pressure import PressureMonitor
    from ._policies.sampling import Sampling
    from ._sink import FileSink

_time_ns = time.time_ns
#: ``line -> (writer, seq) | None``: one line of a backend's output, read back (see the module docstring).
class LineParser(Protocol):
    """``parse(line) -> (writer, seq) | None`` (a Protocol, not a Callable alias: a class attribute, never bound)."""

    def __call__(self, line: bytes, /) -> tuple[object, int] | None: ...


class RecordView(Protocol):
    """``view(document) -> flat dict`` (see the module docstring)."""

    def __call__(self, document: dict[str, Any], /) -> dict[str, Any]: ...
STAT_KEYS = ("emitted", "written", "dropped", "errors", "rotations", "max_queue_depth")
#: Every backend's stats() has these too (0 without a queue / without ``sample``).
QUEUE_STAT_KEYS = ("queue_depth", "oldest_queued_age_ns")


class CallCounter:
    """Count calls from any thread without taking a lock on the counting path.

    ``add()`` is ``next()`` of an ``itertools.count``, which CPython advances
    atomically (``self.n += 1`` is three steps, and another thread may run
    between them and lose a count); ``value()`` (rare, under its own lock)
    subtracts its own reads, since reading advances the count too.
    """

    def __init__(self) -> None:
        self._it = itertools.count()
        self._reads = 0
        self._lock = threading.Lock()
        self.add = self._it.__next__

    def value(self) -> int:
        with self._lock:
            seen = next(self._it) - self._reads
            self._reads += 1
            return seen

    def reset_after_fork(self) -> None:
        """In a forked child: a fresh lock (another thread may have held it at fork); the count is kept."""
        self._lock = threading.Lock()


class Counters:
    """Mutable counters of one backend; mutate them only under the backend's lock."""

    __slots__ = STAT_KEYS

    def __init__(self) -> None:
        self.emitted = 0
        self.written = 0
        self.dropped = 0
        self.errors = 0
        self.rotations = 0
        self.max_queue_depth = 0

    def as_dict(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in STAT_KEYS}


def combined_stats(counters: Counters, encoder: JsonLinesEncoder, sink: FileSink) -> dict[str, int]:
    """A backend's, its encoder's and its sink's counters as one ``stats()`` dict."""
    values = counters.as_dict()
    values["written"] = sink.written
    values["dropped"] += sink.dropped
    values["errors"] += sink.errors + encoder.errors
    values["rotations"] = sink.rotations
    return values


class Logger(abc.ABC):
    """Base of every backend. See the module docstring for the contract.

    Thread-safe: every public method may be called from any thread.
    """

    name: ClassVar[str] = ""
    accepts: ClassVar[frozenset[str]] = COMMON_OPTIONS
    writes_file: ClassVar[bool] = True  # False: ``path`` is optional (``null``)
    #: What survives a SIGKILL of the application: ``"returned"`` (every record whose
    #: call returned, e.g. ``sync``) or ``"flushed"`` (records logged before a
    #: ``flush()`` that returned True; what sits in a queue is lost).
    crash_durability: ClassVar[str] = "flushed"
    #: For verifiers: how to read one line back; None = logbench JSON Lines (module docstring).
    line_parser: ClassVar[LineParser | None] = None
    record_view: ClassVar[RecordView | None] = None

    @classmethod
    def log_files(cls, path: str | os.PathLike[str]) -> list[str]:
        """For verifiers: the existing files written for ``path``, oldest first (``path.N`` ... ``path.1``, ``path``)."""
        base = os.fspath(path)
        directory, name = os.path.split(base)
        pattern = re.compile(re.escape(name) + r"\.([1-9][0-9]*)")
        if not os.path.isdir(directory or "."):
            return []
        backups = sorted(
            (int(match.group(1)), os.path.join(directory, entry))
            for entry in os.listdir(directory or ".")
            if (match := pattern.fullmatch(entry))
        )
        files = [file for _, file in reversed(backups) if os.path.isfile(file)]
        return files + ([base] if os.path.isfile(base) else [])

    def __init__(self, options: Options) -> None:
        self.options = options
        self._min_level = options.level
        self._closed = False
        self._sampling: Sampling | None = None
        self._pressure: PressureMonitor | None = None
        if options.sample:
            from ._policies.sampling import Sampling

            self._sampling = Sampling(options.sample)
            self._sampling.install(self)

    # -- the caller's side: filter first, then one hand-off call ------------------

    def debug(self, msg: object, /, **fields: Any) -> None:
        if self._min_level <= DEBUG:
            self._handoff(_time_ns(), DEBUG, msg, fields)

    def info(self, msg: object, /, **fields: Any) -> None:
        if self._min_level <= INFO:
            self._handoff(_time_ns(), INFO, msg, fields)

    def warning(self, msg: object, /, **fields: Any) -> None:
        if self._min_level <= WARNING:
            self._handoff(_time_ns(), WARNING, msg, fields)

    def error(self, msg: object, /, **fields: Any) -> None:
        if self._min_level <= ERROR:
            self._handoff(_time_ns(), ERROR, msg, fields)

    def critical(self, msg: object, /, **fields: Any) -> None:
        if self._min_level <= CRITICAL:
            self._handoff(_time_ns(), CRITICAL, msg, fields)

    def log(self, level: int | str, msg: object, /, **fields: Any) -> None:
        """Log at ``level`` (a number or a name). A bad level counts an error, never raises."""
        if type(level) is not int:
            try:
                level = parse_level(level)
            except (TypeError, ValueError):
                self._count_bad_call()
                return
        if level >= self._min_level:
            self._handoff(_time_ns(), level, msg, fields)

    def is_enabled_for(self, level: int) -> bool:
        return level >= self._min_level

    def set_level(self, level: int | str) -> None:
        """Filter at ``level`` from the next call on, in every thread (one attribute store, no lock).

        A filtered call costs what it did: the methods read ``_min_level`` as before.

        Raises:
            ValueError: an unknown level name or a negative number.
            TypeError: neither a name nor an int.
        """
        self._min_level = parse_level(level)

    @property
    def level(self) -> int:
        """The current minimum level (see :meth:`set_level`)."""
        return self._min_level

    # -- lifecycle -----------------------------------------------------------------

    #: Take one record that passed the filter (see the module docstring). A backend defines it as a
    #: method or, one call less per record, binds it in ``__init__`` (a queued backend: its queue's ``put``).
    _handoff: Callable[[int, int, object, Mapping[str, object]], None]

    def _handoff_args(self, ts_ns: int, level: int, msg: str, fields: Mapping[str, object], args: tuple[object, ...]) -> None:
        """Take one record whose message is ``msg % args`` (module docstring); default: format here."""
        self._handoff(ts_ns, level, format_message(msg, args), fields)

    @abc.abstractmethod
    def flush(self, timeout: float | None = None) -> bool:
        """True once every earlier record reached the OS; False on timeout."""

    @abc.abstractmethod
    def close(self) -> None:
        """Drain and release; idempotent. Later calls are dropped and counted."""

    @abc.abstractmethod
    def _counter_values(self) -> dict[str, int]:
        """Current counters (see ``STAT_KEYS``); extra backend-specific keys allowed."""

    def _count_bad_call(self) -> None:
        """Count a call that could not be turned into a record (e.g. a bad level)."""

    def _start_pressure(self) -> None:
        """A queued backend calls this once its queue runs: start ``on_pressure``'s monitor, if asked for."""
        if self.options.on_pressure is not None:
            from ._policies.pressure import PressureMonitor

            self._pressure = PressureMonitor(self, self.options.on_pressure, self.options.queue_size)

    def _pressure_probe(self) -> tuple[int, int, int]:
        """(queue depth now, max_queue_depth, dropped) for the pressure monitor; off every hot path."""
        values = self._counter_values()
        return values.get("queue_depth", 0), values.get("max_queue_depth", 0), values.get("dropped", 0)

    @property
    def closed(self) -> bool:
        return self._closed

    def stats(self) -> dict[str, int]:
        """A snapshot of the counters; see the module docstring for their meaning."""
        values = self._counter_values()
        for key in STAT_KEYS:
            values.setdefault(key, 0)
        for key in QUEUE_STAT_KEYS:
            values.setdefault(key, 0)
        values["sampled_out"] = self._sampling.sampled_out() if self._sampling is not None else 0
        if self._pressure is not None:
            values["errors"] += self._pressure.errors
        return values

    def __enter__(self) -> Logger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self.options.target!r} {state}>"

    # -- stdlib bridge -----------------------------------------------------------------

    def handler(self, level: int | str = 0) -> logging.Handler:
        """A ``logging.Handler`` that sends stdlib records through this logger.

        The record's message (``getMessage()``), level number and creation time
        are kept; ``logger`` (the stdlib logger name), any ``extra=`` attributes
        and, with ``exc_info``, an ``exc`` traceback text (with ``stack_info``,
        a ``stack`` text) become fields. Closing the handler does not close
        this logger (``loggers.Handler`` owns and closes its own).
        """
        from ._stdlib.bridge import BridgeHandler

        return BridgeHandler(self, parse_level(level))

    def _handoff_record(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        """Entry for the bridge: the level filter, then the hand-off."""
        if level >= self._min_level:
            self._handoff(ts_ns, level, msg, fields)

    def _handoff_record_args(
        self, ts_ns: int, level: int, msg: str, fields: Mapping[str, object], args: tuple[object, ...]
    ) -> None:
        """Entry for the bridge and the accelerated front end, message ``msg % args``: the level filter, then
        ``_handoff_args`` (``sample=`` replaces this on the instance, as it does ``_handoff_record``)."""
        if level >= self._min_level:
            self._handoff_args(ts_ns, level, msg, fields, args)


# -- failure reports (stats count every failure; stderr hears of each kind once) -----------

REPEAT_AFTER_SECONDS = 60.0


class ErrorReporter:
    """Print the first failure of each kind, then at most one summary a minute per kind.

    Thread-safe. Printing never raises: a broken stderr is ignored, since the
    failure is already counted in the owner's ``stats()``.
    """

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._lock = threading.Lock()
        self._next_allowed: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def report(self, kind: str, detail: str) -> None:
        """Note one failure of ``kind``; print it unless one was printed recently."""
        now = time.monotonic()
        with self._lock:
            if now < self._next_allowed.get(kind, 0.0):
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return
            self._next_allowed[kind] = now + REPEAT_AFTER_SECONDS
            suppressed = self._suppressed.pop(kind, 0)
        extra = f" ({suppressed} more since last report)" if suppressed else ""
        message = (
            f"logbench: {self._owner}: {kind}: {detail}{extra}; "
            "further failures of this kind are counted in stats() and summarised at most once a minute\n"
        )
        try:
            sys.stderr.write(message)
            sys.stderr.flush()
        except Exception:
            pass
