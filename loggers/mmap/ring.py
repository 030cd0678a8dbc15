"""The application's side of the ``mmap`` journal's ring: commit records, make room, overflow.

:class:`Ring` is owned by :class:`loggers.mmap.backend.MmapBackend`, one per
journal. It holds the caller-side positions (``head``, ``seq``) and the cached
free-space limits. The commit itself (copy, header word stored last, publish
``HEAD``) is inlined in the backend's ``_handoff``: no Python call while its lock
is held on the common path (a signal handler that logs runs at a call and would
find the lock taken). The slow paths live here: a full ring (wrap, ``drop_old``, ``block``
with the caller draining batches itself after ``STALL_TAKEOVER``) and a
record longer than half the ring (written through the backend's own sink).
See the backend's docstring for the policies.

Not locked by itself: every method runs under the owner's lock, which
``cond`` wraps (``block`` waits on it, releasing the lock). The owner passes
what the ring shares with it (counters, encoder, sink, drainer) and two
callables: ``wake()`` (a byte on the writer's wake pipe) and
``writer_running()`` (False if the writer process has exited; the owner has
then drained and replaced it, or stopped the ring).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from . import journal as jr
from .drain import BatchLock

if TYPE_CHECKING:
    import threading

    from .._base import Counters
    from .._sink.encoder import JsonLinesEncoder
    from .._sink import FileSink
    from .drain import Drainer

STALL_TAKEOVER = 0.1  # block: after this long without room, the caller also drains (see wait_for_writer)
RECORD_BYTES_PER_SLOT = 128
MIN_RING, MAX_RING = 4096, 64 << 20
_HEADER, _HEAD, _TAIL, _TAIL_SEQ = jr.HEADER_BYTES, jr.HEAD, jr.TAIL, jr.TAIL_SEQ
_JSON = jr.JSON


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
        cond: threading.Condition,
        counters: Counters,
        encoder: JsonLinesEncoder,
        sink: FileSink,
        drainer: Drainer,
        wake: Callable[[], None],
        writer_running: Callable[[], bool],
    ) -> None:
        self.journal = journal
        self.mm, self.q = journal.mm, journal.q
        self.size, self.mask = journal.ring, journal.ring - 1
        self.max_record = self.size // 2  # a bigger record could need more than the whole ring to wrap
        self.head = self.seq = self.max_depth = 0
        self.limit, self.seq_limit = self.size, queue_size  # cached: TAIL + size, TAIL_SEQ + queue_size
        self.queue_size, self.overflow, self.batch_size = queue_size, overflow, batch_size
        self.stopped = False  # set by the owner (closed, forked, no writer): a waiting caller drops
        self._cond, self._counters, self._encoder, self._sink, self._drainer = cond, counters, encoder, sink, drainer
        self._wake, self._writer_running = wake, writer_running

    def make_room(self, size: int) -> bool:
        """Refresh the cached free-space limits, wrap or drop to fit ``size`` bytes.

        True: room at ``head``; False: the record was dropped (counted). ``block`` waits
        here on ``cond`` (which releases the owner's lock: others may log, flush, read stats).
        """
        if size > self.max_record:
            return False  # the caller writes it itself (write_oversize)
        q, ring, delay, since = self.q, self.size, 0.0001, time.monotonic()
        while True:
            self.limit = q[_TAIL] + ring
            self.seq_limit = q[_TAIL_SEQ] + self.queue_size
            head = self.head
            off = head & self.mask
            need = size + (ring - off if off + size > ring else 0)
            if head + need <= self.limit and self.seq < self.seq_limit:
                if need > size:  # the record does not fit before the ring's end: wrap
                    q[(_HEADER + off) >> 3] = (jr.tag_of(head) << 32) | jr.WRAP
                    self.head = head + ring - off
                    q[_HEAD] = self.head
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
            self._counters.dropped += 1
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
                self._counters.dropped += 1
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
        self._cond.wait(delay)
        return min(delay * 2, 0.002)

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
        self._counters.dropped += dropped
        return True
