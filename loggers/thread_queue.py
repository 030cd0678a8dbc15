"""``thread-queue``: callers queue raw records; one writer thread encodes and writes batches.

Blocking: ``log()`` takes a lock and appends to a bounded deque (no encoding,
no I/O); with ``overflow="block"`` a full queue makes the caller wait.
The writer thread wakes when ``batch_size`` records are queued, every
``flush_interval`` seconds, or on ``flush``/``close``; it encodes and writes up
to ``batch_size`` records per ``os.write``. Field values are encoded when the
writer takes them: a mutable value changed after the call may be written in
its later state.

Thread-safe. ``flush(timeout)`` waits until earlier records reached the OS.
``close()`` refuses new records, lets the writer drain the queue, joins it and
closes the file; idempotent.

What can be lost: records still in the queue when the process is killed by
SIGKILL (up to ``queue_size``; in practice at most ``batch_size`` or
``flush_interval`` worth) or by a SIGTERM left at its default action (no
Python code runs). Normal exit, ``sys.exit`` and an unhandled exception drain
everything (atexit). After ``fork`` the child starts with an empty queue and
its own writer thread; records queued in the parent are written by the parent.
"""

from __future__ import annotations

import threading

from . import _lifecycle
from ._base import Logger
from ._options import COMMON_OPTIONS, PRODUCTION_OPTIONS, QUEUE_OPTIONS, Options
from ._writer.thread import WriterThread


class ThreadQueueBackend(Logger):
    name = "thread-queue"
    accepts = COMMON_OPTIONS | PRODUCTION_OPTIONS | QUEUE_OPTIONS | {"fsync"}
    crash_durability = "flushed"

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._close_lock = threading.Lock()
        self._writer = self._make_writer(options)
        self._queue = self._writer.queue
        self._handoff = self._queue.put  # one call less per record
        self._handoff_args = self._queue.put_args  # type: ignore[method-assign]  # the writer formats ``msg % args``
        _lifecycle.track(self)
        self._start_pressure()

    def _make_writer(self, options: Options) -> WriterThread:
        """The writer thread (started); a subclass chooses its queue class and pacing here."""
        return WriterThread(options)

    def _count_bad_call(self) -> None:
        self._queue.count_error()

    # -- lifecycle (the writer thread lives in ``_writer.thread``) ---------------------

    def flush(self, timeout: float | None = None) -> bool:
        return self._writer.flush(timeout)

    def close(self) -> None:
        if self._begin_close():
            self._finish_close()

    def _begin_close(self) -> bool:
        """Mark closed and refuse new records; True for the one call that must finish closing."""
        with self._close_lock:
            if self._closed:
                return False
            self._closed = True
        self._queue.close()
        return True

    def _finish_close(self) -> None:
        """Let the writer drain, join it, close the file (blocks the calling thread)."""
        self._writer.close()
        _lifecycle.untrack(self)

    def _after_fork_in_child(self) -> None:
        self._close_lock = threading.Lock()
        self._writer.restart_after_fork(running=not self._closed)

    def _counter_values(self) -> dict[str, int]:
        return self._writer.stats()
