"""``asyncio``: for code inside an event loop; a writer thread encodes in short GIL slices.

Design: ``log()`` is a plain, non-blocking call (also from other threads) that
appends the raw record to the shared bounded queue (``_writer.handoff``): no encoding,
no I/O, no loop callback, no future per record. One writer thread
(``_writer.thread``, the machinery ``thread-queue`` uses too) wakes at
``batch_size`` queued records, every ``flush_interval`` or on a flush, encodes
the batch and writes it with one ``os.write`` — never on the loop thread. It
releases the GIL (``time.sleep(0)``) after every ``MAX_HOLD_SECONDS`` of
encoding, so a loop whose timer fires waits for at most one ~0.2 ms slice,
not for a whole batch (512 records took 0.5-1.5 ms to encode here). The loop
is touched only by ``aflush``/``aclose``, whose futures the writer completes
with ``loop.call_soon_threadsafe``. Rejected after measuring (docs/asyncio.md, "Designs
measured", figures there): an executor hop per batch with a task
that yields every loop iteration (+45 % wall, +49 % CPU on a CPU-bound
coroutine), encoding on the loop thread and the unsliced writer (p99 loop
lag 2.1 and 2.5 ms against 1.1 ms for sliced and for ``null`` on a quiet
machine), ``os.sched_yield`` as the yield (the releasing thread usually
retakes the GIL before the waiter wakes; its lag was no better than unsliced
within noise), 50 µs slices (+7 points of CPU for no measurable lag gain).

Defaults: the common ``batch_size=512``, ``flush_interval=0.05``. With slicing
the batch size no longer sets the loop lag; 64, 512 and 4096 cost the same CPU
within noise, and 512 keeps wakes and ``write`` calls to one per 512 records.
``flush_interval`` bounds how long a record waits unwritten (what a SIGKILL
loses at low rates) at 20 idle wakes per second.

Overflow: ``drop_new``/``drop_old`` never wait. ``block`` makes a thread
*without* a running loop wait for room, as in ``thread-queue``; a thread
*running* an event loop waits at most ``LOOP_BLOCK_SECONDS`` and then drops
the record (counted), and until the writer makes progress again later calls
from a loop thread drop at once: a stalled disk costs the loop one 20 ms
pause, never a hang. Every drop is counted in ``stats()["dropped"]``.

Flush and close: ``await aflush(timeout)`` / ``await aclose()`` suspend only
the awaiting coroutine. The sync ``flush``/``close`` work from any thread,
with or without a loop; called on the loop thread they block the loop while
the writer drains (the writer never needs the loop, so this cannot deadlock;
``flush(timeout)`` bounds the pause). ``aflush`` futures pending at close
complete with True once drained.

What can be lost: as ``thread-queue`` (``crash_durability = "flushed"``):
records still queued at SIGKILL, or at a SIGTERM left at its default action
(up to ``queue_size``; in practice about ``flush_interval`` worth). Normal
exit, ``sys.exit`` and an unhandled exception, also one escaping
``asyncio.run``, drain through atexit (``_lifecycle``); to drain on SIGTERM,
turn it into an exit (``loop.add_signal_handler`` + ``aclose``). After
``fork`` the child gets an empty queue and its own writer thread and keeps
logging; pending ``aflush`` futures belong to the parent's loop and are
forgotten in the child.
"""

from __future__ import annotations

import asyncio
import threading
import time
from asyncio.events import _get_running_loop

from ._options import Options
from ._writer.handoff import HandoffQueue
from ._writer.thread import WriterThread
from .thread_queue import ThreadQueueBackend

#: Longest the writer encodes before releasing the GIL (docs/asyncio.md has the measurement).
MAX_HOLD_SECONDS = 0.0002
#: Longest a loop thread waits for room with ``overflow="block"`` before dropping.
LOOP_BLOCK_SECONDS = 0.02

_Waiter = tuple[int, asyncio.AbstractEventLoop, "asyncio.Future[bool]"]


class _LoopAwareQueue(HandoffQueue):
    """The shared queue; ``block`` is bounded for a caller that runs an event loop."""

    _gave_up_at = -1  # ``_taken`` when a loop caller last timed out waiting

    def _make_room(self) -> bool:
        if self.overflow != "block" or _get_running_loop() is None:
            return super()._make_room()
        if self._taken == self._gave_up_at:  # no progress since the last timeout: do not wait again
            return False
        deadline = time.monotonic() + LOOP_BLOCK_SECONDS
        self._blocked += 1
        try:
            while len(self._items) >= self.maxsize and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.consumer_alive():
                    self._gave_up_at = self._taken
                    return False
                self._has_work.notify()
                self._has_room.wait(remaining)
        finally:
            self._blocked -= 1
        return not self._closed


class AsyncioBackend(ThreadQueueBackend):
    """``thread-queue``'s hand-off, flush and close, with a loop-friendly writer and ``aflush``/``aclose``.

    Sync ``flush``/``close`` block the calling thread (the loop too, if called on it) until drained.
    """

    name = "asyncio"

    def __init__(self, options: Options) -> None:
        self._waiters_lock = threading.Lock()  # before the writer starts: it serves the waiters
        self._flush_waiters: list[_Waiter] = []
        self._exit_waiters: list[_Waiter] = []
        self._writer_exited = False
        super().__init__(options)

    def _make_writer(self, options: Options) -> WriterThread:
        return WriterThread(
            options, queue_class=_LoopAwareQueue, max_hold_s=MAX_HOLD_SECONDS, after_batch=self._serve_waiters
        )

    # -- async lifecycle ---------------------------------------------------------------

    async def aflush(self, timeout: float | None = None) -> bool:
        """True once every record logged before the call reached the OS; False on timeout.

        Suspends only the awaiting coroutine; the writer thread completes it.
        """
        queue = self._queue
        target = queue.mark()
        if queue.wait_done(target, 0):
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        if not self._register(self._flush_waiters, (target, loop, future)):
            return False
        queue.wake()
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return False

    async def aclose(self) -> None:
        """Close without blocking the loop while the writer drains; idempotent."""
        if not self._begin_close():
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        if self._register(self._exit_waiters, (0, loop, future)):
            try:
                await asyncio.shield(future)
            except asyncio.CancelledError:  # the drain goes on; release the file once it is done
                future.add_done_callback(lambda _: self._finish_close())
                raise
        self._finish_close()  # the writer has exited: joining it does not wait

    def _register(self, waiters: list[_Waiter], waiter: _Waiter) -> bool:
        """Queue ``waiter`` for the writer; False if the writer has exited (nobody would serve it)."""
        with self._waiters_lock:
            if self._writer_exited:
                return False
            waiters.append(waiter)
        return True

    def _serve_waiters(self, exiting: bool) -> None:
        """Writer thread, after each wake and at its exit: complete the waiters that are done."""
        if not (self._flush_waiters or self._exit_waiters or exiting):
            return
        self._writer.drain_now()
        queue = self._queue
        with self._waiters_lock:
            pending, self._flush_waiters = self._flush_waiters, []
            exits: list[_Waiter] = []
            if exiting:
                self._writer_exited = True
                exits, self._exit_waiters = self._exit_waiters, []
        keep = []
        for waiter in pending:
            done = queue.wait_done(waiter[0], 0)
            if done or exiting:
                _complete(waiter, done)
            else:  # registered after this drain began: served on its own wake
                keep.append(waiter)
        for waiter in exits:
            _complete(waiter, True)
        if keep:
            with self._waiters_lock:
                self._flush_waiters[:0] = keep

    def _after_fork_in_child(self) -> None:
        self._waiters_lock = threading.Lock()
        self._flush_waiters, self._exit_waiters = [], []
        self._writer_exited = self._closed
        super()._after_fork_in_child()


def _complete(waiter: _Waiter, result: bool) -> None:
    """Set ``result`` on the waiter's future from any thread; a closed loop is ignored."""
    _, loop, future = waiter
    try:
        loop.call_soon_threadsafe(_set_result, future, result)
    except RuntimeError:  # the loop was closed: nobody awaits the future any more
        pass


def _set_result(future: asyncio.Future[bool], result: bool) -> None:
    if not future.done():
        future.set_result(result)
