"""``sync``: encode and write each record before the call returns — the baseline.

Blocking: the caller encodes and calls ``os.write`` under the sink lock, so it
waits for the disk's page cache and for other threads' writes. No user-space
buffer: a record whose call has returned is in the kernel and survives a
SIGKILL of the process (not a power loss, unless ``fsync=True``).
Thread-safe; ``flush`` has nothing to do; after ``close`` calls are counted as
dropped. After ``fork`` the child keeps writing to the same file.

Re-entrancy: a call made while the same thread is already inside a write (a
signal handler that logs, a ``__repr__`` that logs) takes the sink's lock
again (an ``RLock``), sees the write in progress and leaves its record to
the outer call, which writes it right after its own: neither lost, nor a
deadlock, nor a line cut into another.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import _lifecycle
from ._base import Counters, Logger, combined_stats
from ._sink.encoder import JsonLinesEncoder
from ._options import COMMON_OPTIONS, PRODUCTION_OPTIONS, Options
from ._sink import FileSink


class SyncBackend(Logger):
    name = "sync"
    accepts = COMMON_OPTIONS | PRODUCTION_OPTIONS | {"fsync"}
    crash_durability = "returned"

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._sink = FileSink.from_options(options, reentrant=True)  # an RLock: a re-entry takes it again
        self._encoder = JsonLinesEncoder()
        self._counters = Counters()
        self._writing = False  # set while the lock's holder encodes and writes (a re-entry sees it)
        self._reentrant: list[tuple[int, int, object, Mapping[str, object]]] = []
        _lifecycle.track_fork(self)

    def _after_fork_in_child(self) -> None:
        """The write another thread was in at fork (and the records it deferred) is the parent's."""
        self._writing = False
        self._reentrant = []

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        lock = self._sink.lock
        lock.acquire()
        if self._writing:  # this thread is inside a write already: a signal handler or a logging __repr__
            self._reentrant.append((ts_ns, level, msg, fields))
            lock.release()
            return
        self._writing = True
        try:
            self._write_locked(ts_ns, level, msg, fields)
            if self._reentrant:
                self._drain_reentrant_locked()
        finally:
            self._writing = False
            lock.release()
        if self._reentrant:  # a handler ran after our drain, before we left
            self._handoff_reentrant()

    def _handoff_reentrant(self) -> None:
        with self._sink.lock:
            if self._writing:  # re-entered again: the outer call drains
                return
            self._writing = True
            try:
                self._drain_reentrant_locked()
            finally:
                self._writing = False

    def _drain_reentrant_locked(self) -> None:
        reentrant = self._reentrant
        while reentrant:
            self._write_locked(*reentrant.pop(0))

    def _write_locked(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        self._counters.emitted += 1
        if self._closed:
            self._counters.dropped += 1
            return
        self._sink.write_line(self._encoder.encode(ts_ns, level, msg, fields))

    def _count_bad_call(self) -> None:
        with self._sink.lock:
            self._counters.errors += 1

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        with self._sink.lock:
            self._closed = True
            self._sink.close()

    def _counter_values(self) -> dict[str, int]:
        with self._sink.lock:
            return combined_stats(self._counters, self._encoder, self._sink)

