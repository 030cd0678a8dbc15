"""The ``mmap`` backend's slow paths: a full ring, a record too big for it.

A mixin of :class:`loggers.mmap.backend.MmapBackend`; every method runs under
the backend's ``_lock`` (``_cond`` wraps it). See that module's docstring for
the overflow policies; the batch lock and the drainer are in ``drain``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from . import journal as jr
from .drain import BatchLock

if TYPE_CHECKING:
    import mmap
    import subprocess
    import threading

    from .._base import Counters, ErrorReporter
    from .._encoder import JsonLinesEncoder
    from .._options import Options
    from .._sink import FileSink
    from .drain import Drainer

STALL_TAKEOVER = 0.1  # block: after this long without room, the caller also drains (see _wait_for_writer)
_HEADER, _HEAD, _TAIL, _TAIL_SEQ = jr.HEADER_BYTES, jr.HEAD, jr.TAIL, jr.TAIL_SEQ
_JSON = jr.JSON


class OverflowMixin:
    """What the backend does when a record does not fit (state: see ``MmapBackend._start``)."""

    options: Options
    _cond: threading.Condition
    _counters: Counters
    _encoder: JsonLinesEncoder
    _reporter: ErrorReporter
    _journal: jr.Journal
    _drainer: Drainer
    _sink: FileSink
    _proc: subprocess.Popen[bytes]
    _mm: mmap.mmap
    _q: memoryview
    _off: bool
    _ring: int
    _mask: int
    _max_size: int
    _head: int
    _seq: int
    _limit: int
    _seq_limit: int

    def _wake(self) -> None:
        raise NotImplementedError

    def _replace_dead_writer(self) -> None:
        raise NotImplementedError

    def _make_room(self, size: int) -> bool:
        """Under ``_lock``: refresh the cached free-space limits, wrap or drop to fit ``size`` bytes.

        True: room at ``_head``; False: the record was dropped (counted). ``block`` waits
        here on ``_cond`` (which releases ``_lock``: others may log, flush, read stats).
        """
        if size > self._max_size:
            return False  # _handoff writes it itself
        q, ring, delay, since = self._q, self._ring, 0.0001, time.monotonic()
        while True:
            self._limit = q[_TAIL] + ring
            self._seq_limit = q[_TAIL_SEQ] + self.options.queue_size
            head = self._head
            off = head & self._mask
            need = size + (ring - off if off + size > ring else 0)
            if head + need <= self._limit and self._seq < self._seq_limit:
                if need > size:  # the record does not fit before the ring's end: wrap
                    q[(_HEADER + off) >> 3] = (jr.tag_of(head) << 32) | jr.WRAP
                    self._head = head + ring - off
                    q[_HEAD] = self._head
                return True
            if self._proc.poll() is not None:
                self._replace_dead_writer()
                if not self._off:
                    continue
            elif self.options.overflow == "drop_old" and self._drop_oldest(need):
                continue
            elif self.options.overflow == "block":
                delay = self._wait_for_writer(delay, since)
                if not self._off:
                    continue
            self._counters.dropped += 1
            return False

    def _write_oversize(
        self, data: bytes, kind: int, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]
    ) -> None:
        """Under ``_lock``: a record longer than half the ring. Once everything before it is
        written (``block``: however long; other policies: up to 1 s, then it is dropped),
        write it through our own sink like ``sync`` does: same order, same durability."""
        target, delay, since = self._head, 0.0001, time.monotonic()
        deadline = None if self.options.overflow == "block" else since + 1.0
        while self._q[_TAIL] < target:
            if self._proc.poll() is not None:
                self._replace_dead_writer()
            if self._off or (deadline is not None and time.monotonic() > deadline):
                self._counters.dropped += 1
                return
            self._q[jr.FLUSH_WANTED] = max(self._q[jr.FLUSH_WANTED], target)
            delay = self._wait_for_writer(delay, since)
        line = data if kind == _JSON else self._encoder.encode(ts_ns, level, msg, fields)
        with self._sink.lock:
            self._sink.write_many((line,))

    def _wait_for_writer(self, delay: float, since: float) -> float:
        """Under ``_lock``: wake the writer and wait ``delay`` (releasing ``_lock``). After
        ``STALL_TAKEOVER`` seconds of waiting, drain a batch here whenever the writer is not
        in the middle of one (a stopped or stuck writer never blocks us for good). Returns
        the next delay."""
        if time.monotonic() - since > STALL_TAKEOVER and self._drainer.drain_once(self._head, wait=False) > 0:
            return delay
        self._wake()
        self._cond.wait(delay)
        return min(delay * 2, 0.002)

    def _drop_oldest(self, need: int) -> bool:
        """drop_old: skip the oldest records not yet written; False while a batch is being written."""
        q, journal = self._q, self._journal
        with BatchLock(journal.fd, False) as held:
            tail, seq = q[jr.TAIL], q[jr.TAIL_SEQ]
            if not held or q[jr.INTENT_END] > tail:
                return False
            dropped, pos = 0, tail
            for _kind, _start, _length, pos in journal.records(tail, self._head):
                dropped += 1
                if self._head + need - pos <= self._ring and self._seq - seq - dropped < self.options.queue_size:
                    break
            if not dropped:
                return False
            q[jr.TAIL_SEQ] = q[jr.INTENT_SEQ] = seq + dropped
            q[jr.TAIL] = pos
            q[jr.INTENT_END] = pos
        self._counters.dropped += dropped
        return True
