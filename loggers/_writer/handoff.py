"""The bounded hand-off between application threads and one consumer.

Shared by the queued backends: callers ``put`` raw records (no encoding, no
I/O), one consumer ``take``s batches, writes them and calls ``finish``.

Caller cost: the common path takes no lock. ``deque.append`` and ``len`` are
atomic, so a caller appends and, when the queue reaches ``batch_size``, wakes
the consumer once per batch (never per record, so a writer thread does not
convoy with a CPU-bound caller). Locks are taken only on the rare paths: a
full queue, a closed queue, the consumer's take, flush and stats.
Counts are derived so no caller increments a shared integer:
``emitted = taken + queued + dropped``; ``max_queue_depth`` is the depth the
consumer finds at each take (the queue only grows between takes) and at close.
With several callers racing a nearly full queue the depth may pass
``maxsize`` by at most one record per racing thread.

Overflow (queue holds ``maxsize`` records): ``block`` waits for room (while
the consumer is alive), ``drop_new`` drops the record being logged,
``drop_old`` drops the oldest queued one. Each drop adds one to ``dropped``.

Flush: ``wait_done(mark())`` returns once every record queued before the
mark has left the queue (taken or dropped) and every batch taken up to then
has been finished by the consumer.

Re-entrancy: a call made on a thread that is already inside the slow path
(a signal handler or a logging ``__repr__`` running while that thread waits
for room under ``block``, or while it holds the lock) never waits again and
never recurses: its record is *deferred* and queued by the outer call right
after the outer call's own record (so each thread's records keep their
order); beyond ``MAX_REENTRANT`` deferred records the new one is dropped and
counted. While records are deferred, every call takes the slow path, so no
later call of that thread overtakes them. A record the consumer's own thread
logs (a ``__repr__`` it encodes) into a full queue is dropped and counted under
``block`` instead of waiting: only that thread could make room.

Thread-safety: every method may be called from any thread. After ``fork``
the child gets an empty queue and fresh locks (records queued in the parent
are the parent's to write).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from threading import get_ident
from typing import Any

from .._base import CallCounter, Counters

#: ``(ts_ns, level, msg, fields)``, or ``(ts_ns, level, msg, fields, args)`` from :meth:`HandoffQueue.put_args`
#: (the message is ``msg % args``); consumers pass it on as ``encoder.encode(*record)``.
Record = tuple[Any, ...]
BLOCK_POLL_SECONDS = 0.1
#: Batch size once closed: the drain at close competes for the GIL with every thread still
#: logging (each record dropped), and each write gives the GIL away; bigger batches, fewer hand-offs.
CLOSING_BATCH_RECORDS = 16_384
#: Records logged re-entrantly (see the module docstring) that may wait for their outer call; more are dropped.
MAX_REENTRANT = 1024


class HandoffQueue:
    """Bounded FIFO of records with an overflow policy and flush tracking."""

    def __init__(self, maxsize: int, overflow: str, batch_size: int) -> None:
        self.maxsize = maxsize
        self.overflow = overflow
        self.batch_size = batch_size
        self.consumer_alive: Callable[[], bool] = lambda: True
        #: True on the consumer's own thread: a record it logs (a ``__repr__`` it encodes) never waits for room.
        self.consumer_is_current: Callable[[], bool] = lambda: False
        self.on_batch_ready: Callable[[], None] = lambda: None
        self._dropped = 0
        self._dropped_closed = CallCounter()  # calls after close: counted without the lock
        self._errors = 0
        self._taken = 0
        self._max_depth = 0
        self._init_state()

    def _init_state(self) -> None:
        self._lock = threading.RLock()  # re-entrant: a signal handler may log inside a locked path
        self._has_work = threading.Condition(self._lock)
        self._has_room = threading.Condition(self._lock)
        self._progress = threading.Condition(self._lock)
        self._items: deque[Record] = deque()
        self._left = 0  # records that left the queue (taken or dropped by drop_old)
        self._finished_total = 0  # records the consumer is done with
        self._taken_since_fork = 0
        self._blocked = 0  # callers waiting for room
        self._flush_waiters = 0
        self._wake_pending = False
        self._closed = False
        self._inside: set[int] = set()  # threads inside _put_slow (under the lock, or waiting for room)
        self._deferred: dict[int, deque[Record]] = {}  # thread -> its re-entrant records, queued after its outer call's
        self._detour = False  # closed, or records deferred: every put takes the slow path

    # -- callers ----------------------------------------------------------------

    def put(self, ts_ns: int, level: int, msg: object, fields: Any) -> None:
        """Queue a record or count it dropped (closed queue, overflow). Never raises."""
        items = self._items
        if self._detour or len(items) >= self.maxsize:
            self._put_slow((ts_ns, level, msg, fields))
            return
        items.append((ts_ns, level, msg, fields))
        if len(items) >= self.batch_size and not self._wake_pending:
            self._wake_consumer()

    def put_args(self, ts_ns: int, level: int, msg: object, fields: Any, args: tuple[object, ...]) -> None:
        """:meth:`put` for a record whose message is ``msg % args`` (a five-item record: the consumer formats)."""
        items = self._items
        if self._detour or len(items) >= self.maxsize:
            self._put_slow((ts_ns, level, msg, fields, args))
            return
        items.append((ts_ns, level, msg, fields, args))
        if len(items) >= self.batch_size and not self._wake_pending:
            self._wake_consumer()

    def _wake_consumer(self) -> None:
        with self._lock:
            self._wake_pending = True
            self._has_work.notify()
        self.on_batch_ready()

    def _put_slow(self, record: Record) -> None:
        if self._closed:  # no lock: threads logging into a closed queue must not convoy on it
            self._dropped_closed.add()
            return
        thread = get_ident()
        with self._lock:
            if thread in self._inside:  # re-entered (signal handler, logging __repr__): never wait again
                self._defer(thread, record)
                return
            self._put_inside(thread, record)
            while self._deferred.get(thread):  # deferred after that drain, before we left: theirs now
                self._put_inside(thread, None)
            # Not inside any more, so nothing can be deferred for this thread now: safe to forget its deque.
            self._deferred.pop(thread, None)
            self._detour = self._closed or bool(self._deferred)

    def _put_inside(self, thread: int, record: Record | None) -> None:
        """Lock held: put ``record`` (if any), then ``thread``'s deferred records in order, marked inside.

        Deferred records also include those an exception (``KeyboardInterrupt`` in a
        wait) left behind in an earlier call of this thread; each thread queues only
        its own, so none of its records overtakes another of the same thread.
        """
        self._inside.add(thread)
        try:
            if record is not None:
                self._put_locked(record)
            records = self._deferred.get(thread)
            while records:  # more may be deferred while a put waits for room
                self._put_locked(records.popleft())
        finally:
            self._inside.discard(thread)

    def _defer(self, thread: int, record: Record) -> None:
        """Lock held, ``thread`` re-entered: keep ``record`` for its outer call (past the cap: dropped, counted)."""
        records = self._deferred.setdefault(thread, deque())
        if len(records) >= MAX_REENTRANT:
            self._dropped += 1
            return
        records.append(record)
        self._detour = True

    def _deferred_count(self) -> int:
        return sum(map(len, self._deferred.values()))

    def _put_locked(self, record: Record) -> None:
        """Lock held: append ``record`` (applying the overflow policy) or count it dropped."""
        if self._closed or (len(self._items) >= self.maxsize and not self._make_room()):
            self._dropped += 1
            return
        self._items.append(record)
        self._note_depth()

    def _make_room(self) -> bool:
        """Apply the overflow policy to a full queue (lock held); True if the record may go in."""
        if self.overflow == "drop_new":
            return False
        if self.overflow == "drop_old":
            self._note_depth()
            self._items.popleft()
            self._left += 1
            self._dropped += 1
            self._progress.notify_all()
            return True
        if self.consumer_is_current():  # only the consumer makes room: waiting for it would be for ever
            return False
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

    def _note_depth(self) -> None:
        depth = len(self._items)
        if depth > self._max_depth:
            self._max_depth = depth

    def count_error(self) -> None:
        with self._lock:
            self._errors += 1

    # -- the consumer -----------------------------------------------------------------

    def take(self, timeout: float) -> list[Record] | None:
        """Wait up to ``timeout`` for a full batch (or flush/close), then take up to ``batch_size``.

        Returns an empty list on a quiet timeout and None once closed and empty.
        """
        with self._lock:
            items = self._items
            if not (
                len(items) >= self.batch_size
                or self._closed
                or self._wake_pending
                or (self._blocked and items)  # a caller waits for room (its notify may have come before this wait)
                or (self._flush_waiters and items)  # a flusher with nothing queued waits for finish(), not us
            ):
                self._has_work.wait(timeout)
            self._wake_pending = False
            if not self._items:
                return None if self._closed else []
            return self._take_locked()

    def wake(self) -> None:
        """Make the consumer's current or next ``take`` return without waiting (e.g. an async flush)."""
        with self._lock:
            self._wake_pending = True
            self._has_work.notify()

    def take_nowait(self) -> list[Record]:
        """Take up to ``batch_size`` records without waiting (may be empty)."""
        with self._lock:
            return self._take_locked() if self._items else []

    def _take_locked(self) -> list[Record]:
        items = self._items
        self._note_depth()
        count = min(len(items), self.batch_size if not self._closed else CLOSING_BATCH_RECORDS)
        popleft = items.popleft
        batch = [popleft() for _ in range(count)]
        self._left += count
        self._taken += count
        self._taken_since_fork += count
        if self._blocked:
            self._has_room.notify_all()
        return batch

    def finish(self, count: int) -> None:
        """The consumer is done (written or failed) with ``count`` taken records."""
        with self._lock:
            self._finished_total += count
            self._progress.notify_all()

    # -- flush and close ---------------------------------------------------------------

    def mark(self) -> int:
        """The position ``wait_done`` waits for: every record queued so far."""
        with self._lock:
            return self._left + len(self._items)

    def wait_done(self, target: int, timeout: float | None) -> bool:
        """Block until every record before ``target`` is finished; False on timeout or dead consumer."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._flush_waiters += 1
            try:
                self._has_work.notify()
                if not self._wait_for(lambda: self._left >= target, deadline):
                    return False
                taken = self._taken_since_fork
                return self._wait_for(lambda: self._finished_total >= taken, deadline)
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
    def closed(self) -> bool:
        """True once ``close`` was called (the consumer is draining or done)."""
        return self._closed

    def close(self) -> None:
        """Refuse new records (counted as dropped); the consumer drains what is queued."""
        with self._lock:
            self._closed = self._detour = True
            self._has_work.notify_all()
            self._has_room.notify_all()

    def drop_remaining(self) -> int:
        """Drop and count whatever is still queued (the consumer is gone); return how many."""
        with self._lock:
            self._note_depth()
            count = len(self._items)
            self._items.clear()
            self._left += count
            self._dropped += count + self._deferred_count()  # deferred ones were never queued
            self._deferred.clear()
            self._progress.notify_all()
            return count

    def depth(self) -> int:
        return len(self._items)

    def oldest_age_ns(self) -> int:
        """Nanoseconds since the oldest queued record was logged (0 when empty); no lock."""
        try:
            ts_ns: int = self._items[0][0]
        except IndexError:
            return 0
        return max(0, time.time_ns() - ts_ns)

    @property
    def counters(self) -> Counters:
        """emitted, dropped, errors, max_queue_depth as a snapshot (see the module docstring)."""
        counters = Counters()
        with self._lock:
            queued = len(self._items)
            stranded = queued if self._closed and not self.consumer_alive() else 0  # appended while closing
            dropped = self._dropped + self._dropped_closed.value()
            counters.emitted = self._taken + queued + self._deferred_count() + dropped
            counters.dropped = dropped + stranded
            counters.errors = self._errors
            counters.max_queue_depth = max(self._max_depth, queued)
        return counters

    def reset_after_fork(self) -> None:
        """In a forked child: fresh locks, an empty queue; counters of the parent's records kept.

        The parent's queued records are not the child's: they are forgotten
        here without being counted as emitted by the child, and so is a batch
        the parent's consumer had taken but not finished at fork time.
        """
        self._taken -= self._taken_since_fork - self._finished_total  # in flight in the parent
        self._dropped_closed.reset_after_fork()
        self._init_state()

