"""What every peer adapter shares: counters, option checks, failure accounting, line parsing.

A peer adapter is a :class:`loggers.Logger` over a third-party (or stdlib
``logging``) library, configured the way that library recommends. The
adapter adds only what the logbench contract needs around the library call:
the ``emitted`` count, the closed check, and turning an exception from the
library into a counted drop (never an exception in the application).

Counting without a per-call lock: ``emitted`` is an :class:`CallCounter`
(``itertools.count`` advances atomically under the GIL), failures are rare and
counted under a lock. ``written`` is derived per peer; each adapter's
docstring says how exact it is.
"""

from __future__ import annotations

import glob
import json
import os
import queue
import sys
import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from loggers import _lifecycle
from loggers import CallCounter, Logger
from loggers import ErrorReporter
from loggers import Options

#: ``(writer, seq)`` of one log line, or None when the line is not a record carrying both.
Key = tuple[int, int]


# -- for verifiers: reading back what a peer wrote (the Logger hooks) ---------------------


def _key_of(record: object) -> Key | None:
    if not isinstance(record, dict):
        return None
    writer, seq = record.get("writer"), record.get("seq")
    if type(writer) is int and type(seq) is int:
        return writer, seq
    return None


def parse_flat_line(line: bytes) -> Key | None:
    """``(writer, seq)`` of a JSON object line with both fields at the top level (logbench, stdlib, structlog)."""
    try:
        return _key_of(json.loads(line))
    except ValueError:
        return None


def parse_loguru_line(line: bytes) -> Key | None:
    """``(writer, seq)`` of a loguru ``serialize=True`` line: fields live under ``record.extra``."""
    try:
        document = json.loads(line)
    except ValueError:
        return None
    try:
        return _key_of(document["record"]["extra"])
    except (KeyError, TypeError):
        return None


def loguru_flat_record(document: dict[str, Any]) -> dict[str, Any]:
    """A loguru ``serialize=True`` document as a flat record: ``ts``, ``level``, ``msg``, then the fields.

    Raises KeyError/TypeError on a document that is not loguru's layout.
    """
    record = document["record"]
    return {"ts": record["time"]["timestamp"], "level": record["level"]["name"], "msg": record["message"], **record["extra"]}


def loguru_log_files(path: str | os.PathLike[str]) -> list[str]:
    """loguru's files for ``path``, oldest first: rotated ``<root>.<timestamp>[.n]<ext>``, then ``path``.

    Rotated files are ordered by modification time, then name.
    """
    base = os.fspath(path)
    root, ext = os.path.splitext(base)
    rotated = [p for p in glob.glob(glob.escape(root) + ".*" + glob.escape(ext)) if p != base and os.path.isfile(p)]
    rotated.sort(key=lambda p: (os.stat(p).st_mtime_ns, p))
    return rotated + ([base] if os.path.isfile(base) else [])


class PeerLogger(Logger):
    """Base of the peer adapters: emitted/dropped/errors bookkeeping and option checks.

    ``_handoff`` counts every record, drops (counted) what arrives after close and
    passes the rest to ``_emit``, which subclasses implement with the library call;
    they call ``self._drop(kind, detail)`` for a record the library refused and
    implement ``_written()``.
    """

    #: The third-party package the peer needs (None: stdlib only).
    requires: ClassVar[str | None] = None
    #: What a full bounded queue of this peer drops (``overflow=`` it accepts): None if it has no bounded queue.
    overflow_policy: ClassVar[str | None] = None
    #: Peers write flat JSON objects with ``writer``/``seq`` at the top level (loguru overrides).
    line_parser = staticmethod(parse_flat_line)

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._emitted = CallCounter()
        self._emit_count = self._emitted.add
        self._failure_lock = threading.Lock()
        self._dropped = 0
        self._errors = 0
        self._rotations = 0
        self._reporter = ErrorReporter(f"{self.name} {options.path}")
        self._close_lock = threading.Lock()

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        self._emit_count()
        if self._closed:
            self._closed_drop()
            return
        self._emit(ts_ns, level, msg, fields)

    def _emit(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        """Hand one record to the library (never raises: a failure is a counted drop)."""
        raise NotImplementedError

    @classmethod
    def check_options(cls, raw: Mapping[str, Any]) -> None:
        """Refuse values the library cannot honour (ValueError naming the option). Default: none."""

    @classmethod
    def from_options(cls, options: Options, raw: Mapping[str, Any]) -> PeerLogger:
        """Build the adapter. ``raw`` (the options as given) tells a peer that keeps its library's
        own defaults which ones the caller set. Default: ``cls(options)``."""
        return cls(options)

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Idempotent: the first call runs ``_shutdown`` (drain, release the library) under the close lock."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._shutdown()
        _lifecycle.untrack(self)

    def _after_fork_in_child(self) -> None:
        """In a forked child: nothing by default (the library's own fork handling applies)."""

    def _shutdown(self) -> None:
        """Drain what the library holds and release it; called once, by ``close``."""
        raise NotImplementedError

    # -- failure accounting (rare paths, under a lock) -------------------------------

    def _drop(self, kind: str | None = None, detail: str = "", *, error: bool = True) -> None:
        """Count one record that will never be written; ``error`` also counts a failure event."""
        with self._failure_lock:
            self._dropped += 1
            if error:
                self._errors += 1
        if kind is not None:
            self._reporter.report(kind, detail)

    def _on_handler_error(self, record: object) -> None:
        """A ``Handler.handleError`` replacement: the record is counted dropped, never printed per record.

        ``queue.Full`` from a bounded ``QueueHandler`` is the overflow policy at work (a drop,
        not an error); anything else is an error, reported once per kind.
        """
        exc = sys.exc_info()[1]
        if isinstance(exc, queue.Full):
            self._drop(error=False)
        else:
            self._drop(type(exc).__name__, f"{describe(exc)} (record dropped)" if exc else "handler error")

    def _count_bad_call(self) -> None:
        with self._failure_lock:
            self._errors += 1

    def _closed_drop(self) -> None:
        with self._failure_lock:
            self._dropped += 1

    # -- stats -----------------------------------------------------------------------

    def _written(self, emitted: int, dropped: int) -> int:
        """Records the library wrote (see the subclass docstring). Default: emitted - dropped."""
        return emitted - dropped

    def _stranded(self) -> int:
        """Records left in the library's queue after close (put by a call racing it): never written."""
        return 0

    def _counter_values(self) -> dict[str, int]:
        emitted = self._emitted.value()
        with self._failure_lock:
            dropped, errors, rotations = self._dropped, self._errors, self._rotations
        dropped += self._stranded()
        return {
            "emitted": emitted,
            "written": max(0, self._written(emitted, dropped)),
            "dropped": dropped,
            "errors": errors,
            "rotations": rotations,
            "max_queue_depth": 0,
        }


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
