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
from collections.abc import Mapping

from . import _lifecycle
from ._base import Logger, combined_stats
from ._encoder import JsonLinesEncoder
from ._options import COMMON_OPTIONS, QUEUE_OPTIONS, Options
from ._queue import HandoffQueue, Record
from ._sink import FileSink


class ThreadQueueBackend(Logger):
    name = "thread-queue"
    accepts = COMMON_OPTIONS | QUEUE_OPTIONS | {"fsync"}
    crash_durability = "flushed"

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        assert options.path is not None
        self._sink = FileSink(
            options.path, max_bytes=options.max_bytes, backup_count=options.backup_count, fsync=options.fsync
        )
        self._encoder = JsonLinesEncoder()
        self._queue = HandoffQueue(options.queue_size, options.overflow, options.batch_size)
        self._queue.consumer_alive = self._writer_alive
        self._close_lock = threading.Lock()
        self._writer = self._start_writer()
        _lifecycle.track(self)

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        self._queue.put((ts_ns, level, msg, fields))

    def _count_bad_call(self) -> None:
        self._queue.count_error()

    # -- the writer thread ---------------------------------------------------------

    def _start_writer(self) -> threading.Thread:
        writer = threading.Thread(target=self._run_writer, name=f"logbench-writer:{self.options.path}", daemon=True)
        writer.start()
        return writer

    def _writer_alive(self) -> bool:
        return self._writer.is_alive()

    def _run_writer(self) -> None:
        """Take and write batches until the queue is closed and empty."""
        queue, interval = self._queue, self.options.flush_interval
        while True:
            batch = queue.take(interval)
            if batch is None:
                return
            if batch:
                self._write(batch)

    def _write(self, batch: list[Record]) -> None:
        try:
            lines = self._encoder.encode_many(batch)
            with self._sink.lock:
                self._sink.write_many(lines)
        finally:
            self._queue.finish(len(batch))

    # -- lifecycle -------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        return self._queue.wait_done(self._queue.mark(), timeout)

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._queue.close()
        if self._writer is not threading.current_thread():
            self._writer.join()
        self._queue.drop_remaining()
        with self._sink.lock:
            self._sink.close()
        _lifecycle.untrack(self)

    def _after_fork_in_child(self) -> None:
        self._close_lock = threading.Lock()
        self._queue.reset_after_fork()
        if not self._closed:
            self._writer = self._start_writer()

    def _counter_values(self) -> dict[str, int]:
        values = combined_stats(self._queue.counters, self._encoder, self._sink)
        values["queue_depth"] = self._queue.depth()
        return values
