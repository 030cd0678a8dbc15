"""The application's side of the ``mmap`` journal's ring: commit records, make room, overflow.

:class:`Ring` is owned by :class:`loggers.mmap.backend.MmapBackend`, one per
journal; the owner binds :meth:`Ring.handoff` as its ``_handoff``. The ring
holds the caller-side positions (``head``, ``seq``) and one cached bound,
``limit``: the hot path marshals, takes the lock, copies, commits with the
header word stored last, and that is all while ``head`` stays below
``limit``. Everything else happens in :meth:`Ring.refresh` and the slow paths
when it does not: the writer's progress (``TAIL``), the queue-size limit, the
wake-up of a sleeping writer, publishing ``HEAD``, a wrap, a full ring
(``drop_old``, ``block`` with the caller draining batches itself after
``STALL_TAKEOVER``), a record longer than half the ring (written through the
backend's own sink), a stopped ring (the owner's ``admit()``: a fork child's
new ring, or a counted drop). See the backend's docstring for the policies.

Locking: the owner's ``RLock`` (``lock``), which ``cond`` wraps (``block``
waits on it, releasing the lock); every method but ``handoff``/``put``/
``put_pending`` runs with it held. The owner passes what the ring shares with
it (counters, encoder, sink, drainer) and callables: ``wake()`` (a byte on the
writer's wake pipe), ``writer_running()`` (False if the writer process has
exited; the owner has then drained and replaced it, or stopped the ring),
``admit()`` and ``close()``.

Re-entrancy: ``busy`` is True while the lock's holder is inside a hand-off,
and ``waiting`` holds the threads that wait for room (``cond.wait`` releases
the lock, so ``busy`` is False and ``limit`` is -1 meanwhile). A call that
finds its own thread already inside (``busy``: the lock is re-entrant) or
waiting (a signal handler that logs, a ``__repr__`` or finalizer that logs)
must not touch the ring: it is deferred (``pending``, at most
``MAX_REENTRANT``, then dropped and counted) and committed, in order, right
after the outer call's record. A deferred record is durable once committed:
a SIGKILL while the outer call still waits for room loses it.
"""

from __future__ import annotations

import marshal
import time
from collections import deque
from collections.abc import Callable, Mapping
from threading import get_ident
from typing import TYPE_CHECKING

from .._stdlib.message import format_message
from . import journal as jr
from .drain import BatchLock

if TYPE_CHECKING:
    import threading

    from .._base import Counters
    from .._sink.encoder import JsonLinesEncoder
    from .._sink import FileSink
    from .drain import Drainer

#: Records logged re-entrantly (see the module docstring) that may wait for their outer call; more are dropped.
MAX_REENTRANT = 1024
STALL_TAKEOVER = 0.1  # block: after this long without room, the caller also drains (see wait_for_writer)
RECORD_BYTES_PER_SLOT = 128
MIN_RING, MAX_RING = 4096, 64 << 20
_HEADER, _HEAD, _TAIL, _TAIL_SEQ, _SLEEPING = jr.HEADER_BYTES, jr.HEAD, jr.TAIL, jr.TAIL_SEQ, jr.W_SLEEPING
_MARSHAL, _JSON = jr.MARSHAL, jr.JSON
_MARSHAL_VERSION = 2  # no reference tracking: cheaper than 4; marshal.loads reads every version
MIN_SLOT = 16  # the smallest slot a record takes: header word + 8 bytes
_dumps = marshal.dumps
#: One record on its way into the ring: (data, kind, ts_ns, level, msg, fields); ``data`` empty: not encoded yet.
Record = tuple[bytes, int, int, int, object, Mapping[str, object]]


def _text(msg: object, args: tuple[object, ...] | None) -> object:
    """The message a slow path writes itself (oversize, refused by marshal): ``msg % args`` formatted now."""
    return msg if args is None else format_message(msg, args)


def ring_bytes_for(queue_size: int) -> int:
    """Ring size: ``queue_size * 128`` bytes rounded up to a power of two, within 4 KiB..64 MiB."""
    wanted = max(MIN_RING, min(MAX_RING, queue_size * RECORD_BYTES_PER_SLOT))
    return 1 << (wanted - 1).bit_length()


class Ring:
    """One journal's ring as the application fills it (state: positions and cached limits)."""

    def __init__(
        self,
        journal: jr.Journal,
        *,
        queue_size: int,
        overflow: str,
        batch_size: int,
        lock: threading.RLock,
        cond: threading.Condition,
        counters: Counters,
        encoder: JsonLinesEncoder,
        sink: FileSink,
        drainer: Drainer,
        wake: Callable[[], None],
        writer_running: Callable[[], bool],
        admit: Callable[[], Ring | None],
        close: Callable[[], None],
    ) -> None:
        self.journal = journal
        self.mm, self.q, self.w = journal.mm, journal.q, journal.w
        self.size, self.mask = journal.ring, journal.ring - 1
        self.max_record = self.size // 2  # a bigger record could need more than the whole ring to wrap
        self.head = self.seq = self.max_depth = 0
        #: The fast path commits while ``head + slot <= limit``; ``refresh`` computes it, -1 sends every
        #: call to the slow path (stopped, or a thread waits for room).
        self.limit = -1
        self.queue_size, self.overflow, self.batch_size = queue_size, overflow, batch_size
        self.stopped = False  # set by the owner (closed, forked, no writer): a waiting caller drops
        self.busy = False  # the lock's holder is inside a hand-off
        self.waiting: set[int] = set()  # threads waiting for room (lock released)
        #: Re-entrant calls, committed after their outer call; None: a ``close()`` made re-entrantly.
        self.pending: deque[Record | None] = deque()
        self._lock, self._cond = lock, cond
        self.counters = counters  # public: a fork child's owner swaps them
        self._encoder, self._sink, self._drainer = encoder, sink, drainer
        self._wake, self._writer_running, self._admit, self._close = wake, writer_running, admit, close

    # -- the hot path -----------------------------------------------------------------

    def handoff(
        self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object], args: tuple[object, ...] | None = None
    ) -> None:
        """The owner's ``_handoff`` and (with ``args``) ``_handoff_args``: marshal, then commit under the lock
        (or defer, write, drop: counted). With ``args`` the marshalled record has them as a fifth item and
        the writer formats ``msg % args``; the slow paths take the message formatted here.

        The common case is one ``marshal.dumps`` (version 2: no reference tracking,
        ~20% cheaper than 4), the lock, the copy and the header word as two 4-byte
        stores, the tag last (the commit; the writer follows the tags). Everything else (a full ring, a
        wrap, the writer's wake-up, the queue-size limit, ``HEAD``, a stopped ring)
        waits until ``head`` passes the cached ``limit``; see ``refresh``. The lock
        is taken with ``acquire``/``release`` in ``try``/``finally``, not ``with``
        (measured: ~90 ns less per call here; docs/hot-path.md).
        """
        try:
            data = _dumps(
                (ts_ns, level, msg, fields) if args is None else (ts_ns, level, msg, fields, args),  # type: ignore[arg-type]
                _MARSHAL_VERSION,
            )
        except Exception:  # noqa: BLE001 - marshal refuses many types (ValueError), or worse: encode instead
            self.put((b"", _JSON, ts_ns, level, _text(msg, args), fields))
            return
        lock = self._lock
        lock.acquire()
        if self.busy:  # this thread is already inside a hand-off (the lock is re-entrant): a signal handler
            try:
                self.defer((data, _MARSHAL, ts_ns, level, _text(msg, args), fields))
            finally:
                lock.release()
            return
        self.busy = True
        try:
            head = self.head
            length = len(data)
            end = head + ((length + 15) & -8)
            if end <= self.limit:
                start = _HEADER + (head & self.mask)
                self.mm[start + 8 : start + 8 + length] = data
                w, half = self.w, start >> 2
                w[half] = length << 2  # | MARSHAL (0)
                w[half + 1] = ((head >> 3) + 1) & 0xFFFFFFFF  # the tag, stored last: the commit
                self.head = end
                self.seq += 1
            else:
                self.put_inside((data, _MARSHAL, ts_ns, level, _text(msg, args), fields))
        finally:
            self.busy = False
            lock.release()
        if self.pending:
            self.put_pending()

    def put(self, record: Record) -> None:
        """Take the lock and put ``record`` (``data`` empty: JSON-encode it first), or defer it if re-entered."""
        with self._lock:
            if self.reentered():
                self.defer(record)
                return
            self.busy = True
            try:
                self.put_inside(record)
            finally:
                self.busy = False
        if self.pending:
            self.put_pending()

    def put_pending(self) -> None:
        """Commit the records deferred by re-entrant calls, in order; then run a deferred ``close``."""
        close = False
        with self._lock:
            if self.reentered():
                return  # the outer call does it
            self.busy = True
            try:
                while self.pending:  # more may be deferred while one waits for room
                    record = self.pending.popleft()
                    if record is None:
                        close = True
                    else:
                        self.put_inside(record)
            finally:
                self.busy = False
        if close:
            self._close()

    # -- the slow paths ---------------------------------------------------------------

    def put_inside(self, record: Record) -> None:
        """Under the lock, inside a hand-off (``busy``): commit ``record``, or write/drop it (counted)."""
        if self.waiting and get_ident() in self.waiting:  # called while this thread waits for room
            self.defer(record)
            return
        data, kind, ts_ns, level, msg, fields = record
        if self.stopped:
            ring = self._admit()
            if ring is None:
                self.counters.emitted += 1
                self.counters.dropped += 1
            elif ring is not self:  # a forked child's first call: its own journal takes it
                ring.busy = True
                try:
                    ring.put_inside(record)
                finally:
                    ring.busy = False
            return
        if not data:  # marshal refused it: its JSON line goes in instead
            data, kind = self._encoder.encode(ts_ns, level, msg, fields), _JSON
        size = (len(data) + 15) & -8
        if size > self.max_record:
            self.counters.emitted += 1
            self.write_oversize(data, kind, ts_ns, level, msg, fields)
        elif self.make_room(size):
            self._commit(data, kind)
        else:
            self.counters.emitted += 1

    def _commit(self, data: bytes, kind: int) -> None:
        """Copy, commit with the header word (stored last), publish ``HEAD``; room was made (slow path)."""
        head, length = self.head, len(data)
        start = _HEADER + (head & self.mask)
        self.mm[start + 8 : start + 8 + length] = data
        self.q[start >> 3] = (jr.tag_of(head) << 32) | (length << 2) | kind
        self.head = end = head + ((length + 15) & -8)
        self.seq += 1
        self.q[_HEAD] = end

    def refresh(self) -> None:
        """Recompute the fast path's ``limit`` from the writer's progress; sample the depth; wake the
        writer once ``batch_size`` records wait while it sleeps.

        ``limit`` is the least of: the writer's ``TAIL`` + ring size (bytes not yet written are never
        overwritten), the end of this lap (a record never straddles it: the slow path wraps), and
        room for ``min(queue_size - depth, batch_size)`` records of the smallest slot (16 bytes): so
        the queue-size limit holds, and this runs again within one batch (depth, wake-up). -1 while
        stopped or while a thread waits for room (every call then takes the slow path, in order).
        """
        q = self.q
        depth = self.seq - q[_TAIL_SEQ]
        if depth > self.max_depth:  # noqa: PLR1730 - sampled here, exact whenever the ring is full
            self.max_depth = depth
        if depth >= self.batch_size and q[_SLEEPING]:
            q[_SLEEPING] = 0  # one wake-up per sleep
            self._wake()
        if self.stopped or self.waiting:
            self.limit = -1
            return
        head = self.head
        q[_HEAD] = head  # for readers of the journal: a lower bound (the writer follows the tags)
        records = min(self.queue_size - depth, self.batch_size)
        self.limit = min(q[_TAIL] + self.size, (head | self.mask) + 1, head + records * MIN_SLOT)

    def stop(self) -> None:
        """Later calls are dropped (or go to a fork child's new ring); a caller waiting for room gives up."""
        self.stopped = True
        self.limit = -1

    def make_room(self, size: int) -> bool:
        """Refresh, wrap or drop to fit ``size`` bytes at ``head``.

        True: room at ``head``; False: the record was dropped (counted). ``block`` waits
        here on ``cond`` (which releases the owner's lock: others may log, flush, read stats).
        """
        q, ring, delay, since = self.q, self.size, 0.0001, time.monotonic()
        while True:
            self.refresh()
            head = self.head
            off = head & self.mask
            need = size + (ring - off if off + size > ring else 0)
            if head + need <= q[_TAIL] + ring and self.seq - q[_TAIL_SEQ] < self.queue_size:
                if need > size:  # the record does not fit before the ring's end: wrap
                    q[(_HEADER + off) >> 3] = (jr.tag_of(head) << 32) | jr.WRAP
                    self.head = head + ring - off
                    q[_HEAD] = self.head
                    self.refresh()
                return True
            if not self._writer_running():
                if not self.stopped:
                    continue
            elif self.overflow == "drop_old" and self._drop_oldest(need):
                continue
            elif self.overflow == "block":
                delay = self.wait_for_writer(delay, since)
                if not self.stopped:
                    continue
            self.counters.dropped += 1
            return False

    def write_oversize(
        self, data: bytes, kind: int, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]
    ) -> None:
        """A record longer than half the ring. Once everything before it is written
        (``block``: however long; other policies: up to 1 s, then it is dropped), write it
        through the owner's sink like ``sync`` does: same order, same durability."""
        target, delay, since = self.head, 0.0001, time.monotonic()
        deadline = None if self.overflow == "block" else since + 1.0
        while self.stopped or self.q[_TAIL] < target:
            if not self.stopped:
                self._writer_running()  # a dead writer is replaced (or the ring stopped) here
            if self.stopped or (deadline is not None and time.monotonic() > deadline):
                self.counters.dropped += 1
                return
            self.q[jr.FLUSH_WANTED] = max(self.q[jr.FLUSH_WANTED], target)
            delay = self.wait_for_writer(delay, since)
        line = data if kind == _JSON else self._encoder.encode(ts_ns, level, msg, fields)
        with self._sink.lock:
            self._sink.write_many((line,))

    def wait_for_writer(self, delay: float, since: float) -> float:
        """Wake the writer and wait ``delay`` (releasing the owner's lock). After
        ``STALL_TAKEOVER`` seconds of waiting, drain a batch here whenever the writer is not
        in the middle of one (a stopped or stuck writer never blocks us for good). Returns
        the next delay."""
        if time.monotonic() - since > STALL_TAKEOVER and self._drainer.drain_once(self.head, wait=False) > 0:
            return delay
        self._wake()
        self._wait(delay)
        return min(delay * 2, 0.002)

    def _wait(self, seconds: float) -> None:
        """``cond.wait`` (releasing the lock) with this thread marked as waiting, so a call it
        makes meanwhile (a signal handler) is deferred instead of waiting inside the wait."""
        thread = get_ident()
        self.busy = False
        self.waiting.add(thread)
        self.limit = -1  # meanwhile every call takes the slow path: this thread's are deferred, in order
        try:
            self._cond.wait(seconds)
        finally:
            self.waiting.discard(thread)
            self.busy = True

    # -- re-entrancy ------------------------------------------------------------------

    def reentered(self) -> bool:
        """Under the lock: True if this thread is already inside a hand-off or waiting for room."""
        return self.busy or (bool(self.waiting) and get_ident() in self.waiting)

    def forget_threads_after_fork(self, lock: threading.RLock, cond: threading.Condition) -> None:
        """In a forked child: only the forking thread exists; nobody is inside, waiting or deferred,
        and the parent's lock (perhaps held by another thread at fork time) is replaced."""
        self._lock, self._cond = lock, cond
        self.busy = False
        self.waiting = set()
        self.pending = deque()

    def defer(self, record: Record) -> None:
        """Under the lock, re-entered: keep ``record`` for the outer call (past ``MAX_REENTRANT``: dropped, counted)."""
        if len(self.pending) >= MAX_REENTRANT:
            self.counters.emitted += 1
            self.counters.dropped += 1
            return
        self.pending.append(record)

    def pending_records(self) -> int:
        """Deferred records not committed yet (for ``emitted``)."""
        return len(self.pending) - self.pending.count(None)  # no Python-level loop: a handler cannot append mid-way

    def _drop_oldest(self, need: int) -> bool:
        """drop_old: skip the oldest records not yet written; False while a batch is being written."""
        q, journal = self.q, self.journal
        with BatchLock(journal.fd, False) as held:
            tail, seq = q[jr.TAIL], q[jr.TAIL_SEQ]
            if not held or q[jr.INTENT_END] > tail:
                return False
            dropped, pos = 0, tail
            for _kind, _start, _length, pos in journal.records(tail, self.head):
                dropped += 1
                if self.head + need - pos <= self.size and self.seq - seq - dropped < self.queue_size:
                    break
            if not dropped:
                return False
            q[jr.TAIL_SEQ] = q[jr.INTENT_SEQ] = seq + dropped
            q[jr.TAIL] = pos
            q[jr.INTENT_END] = pos
        self.counters.dropped += dropped
        return True
