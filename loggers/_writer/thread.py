"""The thread that consumes a :class:`HandoffQueue`, and the one that writes it into a :class:`FileSink`.

:class:`ConsumerThread` is the loop every queued backend shares: take a batch,
hand it to ``consume(batch)``, mark it finished, until the queue is closed and
empty. :class:`WriterThread` consumes into a sink in the application process
(``thread-queue``, ``asyncio``); the ``subprocess`` backend's sender consumes
into a socket. The owner builds it from its options, hands records to
``writer.queue.put`` and delegates ``flush``/``close``/fork repair.

The thread wakes when ``batch_size`` records are queued, every
``flush_interval`` seconds, or on flush/close; it takes up to ``batch_size``
records, encodes them and writes them with one ``os.write`` (per rotated
file). With ``max_hold_s`` set it releases the GIL (``time.sleep(0)``)
whenever it has encoded for that long, so a thread that wants the GIL (an
event loop woken by a timer) waits for one slice, not a whole batch.
``os.sched_yield`` is cheaper but the releasing thread usually takes the GIL
straight back before the waiter wakes; ``sleep(0)`` hands it over.

Hook: ``after_batch(final)`` (a constructor argument) runs on the writer
thread after every wake (batch written or quiet timeout) with False, and once
with True as the thread exits; it must not block.

Thread-safety: ``flush`` may be called from any thread; ``close`` from any
thread (also the writer's own, e.g. at exit) and only once per writer (the
owner guards idempotence). After ``fork`` the child calls
``restart_after_fork``: an empty queue, fresh locks, a new thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .._base import combined_stats
from .._sink.encoder import JsonLinesEncoder
from .._options import Options
from .._lifecycle.signals import start_quiet
from .._sink import FileSink
from .handoff import HandoffQueue, Record

_yield_gil = time.sleep  # sleep(0) really gives up the CPU, so a waiting thread takes the GIL
_CLOCK_EVERY = 8  # records encoded between two looks at the clock


def _nothing(final: bool) -> None:
    pass


class ConsumerThread:
    """A daemon thread taking batches from ``queue`` and passing each to ``consume`` (its ``finish`` follows).

    ``consume(batch)`` runs on this thread only and must not raise (a raise ends
    the thread; the batch still counts as finished).
    """

    def __init__(
        self,
        queue: HandoffQueue,
        consume: Callable[[list[Record]], None],
        *,
        interval: float,
        name: str,
        after_batch: Callable[[bool], None] = _nothing,
    ) -> None:
        """Start the thread."""
        self.queue = queue
        self.queue.consumer_alive = self.alive
        self.queue.consumer_is_current = self.is_current
        self.after_batch = after_batch
        self._consume = consume
        self._interval = interval
        self._name = name
        self._thread = self._start()

    def _start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        start_quiet(thread)  # SIGTERM & co. go to the application's threads (see ``_lifecycle.signals``)
        return thread

    def alive(self) -> bool:
        return self._thread.is_alive()

    def is_current(self) -> bool:
        return self._thread is threading.current_thread()

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        """Take and consume batches until the queue is closed and empty."""
        queue, interval, after_batch = self.queue, self._interval, self.after_batch
        try:
            while True:
                batch = queue.take(interval)
                if batch is None:
                    return
                if batch:
                    self._consume_and_finish(batch)
                after_batch(False)
        finally:
            after_batch(True)

    def _consume_and_finish(self, batch: list[Record]) -> None:
        try:
            self._consume(batch)
        finally:
            self.queue.finish(len(batch))

    def drain_now(self) -> None:
        """On the consumer thread: consume everything queued right now without waiting."""
        queue = self.queue
        while batch := queue.take_nowait():
            self._consume_and_finish(batch)

    # -- the owner's side -------------------------------------------------------------

    def flush(self, timeout: float | None) -> bool:
        """Block until every record queued before the call was consumed; False on timeout."""
        return self.queue.wait_done(self.queue.mark(), timeout)

    def stop(self) -> None:
        """Refuse new records, let the thread drain, join it (unless called on it); count what is left dropped."""
        self.queue.close()
        if not self.is_current():
            self._thread.join()
        self.queue.drop_remaining()

    def restart_after_fork(self, *, running: bool) -> None:
        """In a forked child: empty queue and fresh locks; a new thread if ``running`` (else see ``resume``)."""
        self.queue.reset_after_fork()
        if running:
            self.resume()

    def resume(self) -> None:
        """In a forked child, after ``restart_after_fork(running=False)``: start the new thread."""
        self._thread = self._start()


class WriterThread(ConsumerThread):
    """Sink, encoder, bounded queue and the consumer thread that encodes and writes between them."""

    def __init__(
        self,
        options: Options,
        *,
        queue_class: type[HandoffQueue] = HandoffQueue,
        max_hold_s: float = 0.0,
        after_batch: Callable[[bool], None] = _nothing,
    ) -> None:
        """Open the file and start the thread. Raises ``OSError`` if the file cannot be opened."""
        self.sink = FileSink.from_options(options)
        self.encoder = JsonLinesEncoder()
        self._max_hold = max_hold_s
        queue = queue_class(options.queue_size, options.overflow, options.batch_size)
        super().__init__(
            queue, self.write, interval=options.flush_interval, name=f"logbench-writer:{options.target}",
            after_batch=after_batch,
        )

    def write(self, batch: list[Record]) -> None:
        """Encode and write ``batch``; called on the writer thread only."""
        if self._max_hold and not self.queue.closed:  # closing: drain at full speed, yielding would convoy
            lines = self._encode_in_slices(batch)
        else:
            lines = self.encoder.encode_many(batch)
        with self.sink.lock:
            self.sink.write_many(lines)

    def _encode_in_slices(self, batch: list[Record]) -> list[bytes]:
        """Encode ``batch``, releasing the GIL whenever ``max_hold_s`` of encoding has passed."""
        encode_many, clock, hold = self.encoder.encode_many, time.perf_counter, self._max_hold
        lines: list[bytes] = []
        yield_at = clock() + hold
        for start in range(0, len(batch), _CLOCK_EVERY):
            lines += encode_many(batch[start : start + _CLOCK_EVERY])
            if clock() >= yield_at:
                _yield_gil(0)
                yield_at = clock() + hold
        return lines

    def close(self) -> None:
        """Refuse new records, let the thread drain, join it, close the file."""
        self.stop()
        with self.sink.lock:
            self.sink.close()

    def stats(self) -> dict[str, int]:
        values = combined_stats(self.queue.counters, self.encoder, self.sink)
        values["queue_depth"] = self.queue.depth()
        values["oldest_queued_age_ns"] = self.queue.oldest_age_ns()
        return values
