"""The bounded hand-off between application threads and one consumer.

Shared by the queued backends: callers ``put`` raw records (no encoding, no
I/O), one consumer ``take``s batches, writes them and calls ``finish``.

Caller cost: one lock acquisition and a ``deque.append``; the consumer is
woken only when the queue reaches ``batch_size`` (or by ``flush``/``close``),
never per record, so a writer thread does not convoy with a CPU-bound caller.

Overflow (queue holds ``maxsize`` records): ``block`` waits for room (while
the consumer is alive), ``drop_new`` drops the record being logged,
``drop_old`` drops the oldest queued one. Each drop adds one to ``dropped``.

Flush: ``wait_done(target)`` returns once every record appended before
``target`` has left the queue (taken or dropped) and every batch taken up to
then has been finished by the consumer.

Thread-safety: every method may be called from any thread; one lock guards
all state. After ``fork`` the child gets an empty queue and fresh locks (the
records queued in the parent are the parent's to write).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ._base import Counters

Record = tuple[int, int, object, Any]
BLOCK_POLL_SECONDS = 0.1


class HandoffQueue:
    """Bounded FIFO of records with an overflow policy and flush tracking."""

    def __init__(self, maxsize: int, overflow: str, batch_size: int) -> None:
        self.maxsize = maxsize
        self.overflow = overflow
        self.batch_size = batch_size
        self.counters = Counters()
        self.consumer_alive: Callable[[], bool] = lambda: True
        self.on_batch_ready: Callable[[], None] = lambda: None
        self._init_state()

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._has_work = threading.Condition(self._lock)
        self._has_room = threading.Condition(self._lock)
        self._progress = threading.Condition(self._lock)
        self._items: deque[Record] = deque()
        self._appended = 0  # records ever appended
        self._left = 0  # of those, records that left the queue (taken or dropped)
        self._taken = 0  # records handed to the consumer
        self._finished = 0  # of those, records the consumer is done with
        self._blocked = 0  # callers waiting for room
        self._flush_waiters = 0
        self._closed = False

    # -- callers ----------------------------------------------------------------

    def put(self, record: Record) -> None:
        """Queue ``record`` or count it dropped (closed queue, overflow). Never raises."""
        wake = False
        with self._lock:
            counters = self.counters
            counters.emitted += 1
            if self._closed:
                counters.dropped += 1
                return
            items = self._items
            if len(items) >= self.maxsize and not self._make_room():
                counters.dropped += 1
                return
            items.append(record)
            self._appended += 1
            depth = len(items)
            if depth > counters.max_queue_depth:
                counters.max_queue_depth = depth
            if depth == self.batch_size:
                self._has_work.notify()
                wake = True
        if wake:
            self.on_batch_ready()

    def _make_room(self) -> bool:
        """Apply the overflow policy to a full queue (lock held); True if the record may go in."""
        if self.overflow == "drop_new":
            return False
        if self.overflow == "drop_old":
            self._items.popleft()
            self._left += 1
            self.counters.dropped += 1
            self._progress.notify_all()
            return True
        self._blocked += 1
        try:
            while len(self._items) >= self.maxsize and not self._closed:
                if not self.consumer_alive():
                    return False
                self._has_work.notify()
                self._has_room.wait(BLOCK_POLL_SECONDS)
        finally:
            self._blocked -= 1
        return not self._closed

    def count_error(self) -> None:
        with self._lock:
            self.counters.errors += 1

    # -- the consumer -----------------------------------------------------------------

    def take(self, timeout: float) -> list[Record] | None:
        """Wait up to ``timeout`` for a full batch (or flush/close), then take up to ``batch_size``.

        Returns an empty list on a quiet timeout and None once closed and empty.
        """
        with self._lock:
            if len(self._items) < self.batch_size and not self._closed and not self._flush_waiters:
                self._has_work.wait(timeout)
            if not self._items:
                return None if self._closed else []
            return self._take_locked()

    def take_nowait(self) -> list[Record]:
        """Take up to ``batch_size`` records without waiting (may be empty)."""
        with self._lock:
            return self._take_locked() if self._items else []

    def _take_locked(self) -> list[Record]:
        items = self._items
        count = min(len(items), self.batch_size)
        batch = [items.popleft() for _ in range(count)]
        self._left += count
        self._taken += count
        if self._blocked:
            self._has_room.notify_all()
        return batch

    def finish(self, count: int) -> None:
        """The consumer is done (written or failed) with ``count`` taken records."""
        with self._lock:
            self._finished += count
            self._progress.notify_all()

    # -- flush and close ---------------------------------------------------------------

    def mark(self) -> int:
        """The position ``wait_done`` waits for: every record appended so far."""
        with self._lock:
            return self._appended

    def wait_done(self, target: int, timeout: float | None) -> bool:
        """Block until every record before ``target`` is finished; False on timeout or dead consumer."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._flush_waiters += 1
            try:
                self._has_work.notify()
                if not self._wait_for(lambda: self._left >= target, deadline):
                    return False
                taken = self._taken
                return self._wait_for(lambda: self._finished >= taken, deadline)
            finally:
                self._flush_waiters -= 1

    def _wait_for(self, predicate: Callable[[], bool], deadline: float | None) -> bool:
        while not predicate():
            if not self.consumer_alive():
                return False
            remaining = BLOCK_POLL_SECONDS if deadline is None else min(deadline - time.monotonic(), BLOCK_POLL_SECONDS)
            if remaining <= 0:
                return False
            self._has_work.notify()
            self._progress.wait(remaining)
        return True

    @property
    def flush_requested(self) -> bool:
        return self._flush_waiters > 0

    def close(self) -> None:
        """Refuse new records (counted as dropped); the consumer drains what is queued."""
        with self._lock:
            self._closed = True
            self._has_work.notify_all()
            self._has_room.notify_all()

    def drop_remaining(self) -> int:
        """Drop and count whatever is still queued (the consumer is gone); return how many."""
        with self._lock:
            count = len(self._items)
            self._items.clear()
            self._left += count
            self.counters.dropped += count
            self._progress.notify_all()
            return count

    def depth(self) -> int:
        return len(self._items)

    def reset_after_fork(self) -> None:
        """In a forked child: fresh locks, an empty queue, counters kept."""
        self._init_state()
