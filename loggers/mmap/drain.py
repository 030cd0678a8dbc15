"""The ``mmap`` backend's drain: exactly-once batches from the journal into the sink.

Used by the writer process (``writer``) and by the application itself (a stalled or dead
writer, recovery of orphaned journals).

:class:`Drainer` moves committed journal records into the sink, batch by batch,
each batch entirely under the journal's *batch lock* (a ``lockf``, so the writer
process and the application — which drains itself when the writer is stalled
or dead — never take the same records): take a batch, store the *intent*
(batch end, the output file's device/inode/size before the write), encode and
write, and only then advance ``TAIL``. So after any crash, ``TAIL`` never passes a record that is not in the
file, and :meth:`Drainer.settle_intent` finds which records of an interrupted
batch did reach the file: the batch's lines are re-encoded (the encoding is
deterministic) and searched, in order, in the bytes appended after the
recorded size (following rotation into newer files). Found ones are skipped,
the rest written: exactly once. (Deterministic except a ``set``/``frozenset``
field, whose ``repr`` order follows the process's hash seed: a record holding
one could be written twice if exactly its batch was interrupted.)
"""

from __future__ import annotations

import fcntl
import marshal
import os
import stat

from .._sink.encoder import JsonLinesEncoder
from .._sink import FileSink
from . import journal as jr

_NOT_PUBLISHED = 1 << 63  # INTENT_WRITTEN of a batch drained by the application itself
_W_SLOTS = (jr.W_WRITTEN, jr.W_DROPPED, jr.W_ERRORS, jr.W_ROTATIONS)


class Drainer:
    """Writes one journal's committed records through ``sink``. Single-threaded use."""

    def __init__(self, journal: jr.Journal, sink: FileSink, *, batch_size: int, publishes: bool, fsync: bool) -> None:
        """``publishes``: the writer process, whose counters live in the journal header; the
        application's own drains (stalled or dead writer, oversize records) count in its sink."""
        self.journal = journal
        self.sink = sink
        self.encoder = JsonLinesEncoder()
        self.batch_size = batch_size
        self.publishes = publishes
        self.fsync = fsync
        self._base = [journal.q[slot] for slot in _W_SLOTS]

    def counters(self) -> list[int]:
        """written, dropped, errors, rotations: journal's earlier values plus this drainer's."""
        sink = self.sink
        mine = (sink.written, sink.dropped, sink.errors + self.encoder.errors, sink.rotations)
        return [base + value for base, value in zip(self._base, mine)]

    def publish(self) -> None:
        if not self.publishes:
            return
        q = self.journal.q
        for slot, value in zip(_W_SLOTS, self.counters()):
            q[slot] = value

    def drain_once(self, limit: int | None, *, wait: bool = True) -> int:
        """Write one batch of committed records before ``limit`` (None: all); return its size,
        or -1 if ``wait`` is False and another process holds the batch lock. With nothing
        committed after ``TAIL`` (and no unsettled intent) it returns 0 without taking the lock,
        so an idle drainer never keeps the application's ``drop_old`` from dropping.

        The whole batch (take, intent, write, ``TAIL``) runs under the batch lock, so the
        writer process and the application can both drain without writing a record twice.
        The scan is ``Journal.records`` inlined with the decoding: this is the writer's hot loop.
        """
        j, q = self.journal, self.journal.q
        if q[jr.INTENT_END] <= q[jr.TAIL] and not j.has_pending():
            return 0  # nothing to take: no lock (an idle writer stopped by SIGSTOP holds none)
        mm, ring, mask, loads, encode = j.mm, j.ring, j.ring - 1, marshal.loads, self.encoder.encode
        lines: list[bytes] = []
        with BatchLock(j.fd, wait) as held:
            if not held:
                return -1
            if q[jr.INTENT_END] > q[jr.TAIL]:  # whoever took the last batch died before finishing it
                self.settle_intent()
            start, seq = q[jr.TAIL], q[jr.TAIL_SEQ]
            pos = end = start
            while len(lines) < self.batch_size and (limit is None or pos < limit):
                off = pos & mask
                word = q[(jr.HEADER_BYTES + off) >> 3]
                if word >> 32 != ((pos >> 3) + 1) & 0xFFFFFFFF:
                    break
                kind, length = word & 3, (word & 0xFFFFFFFF) >> 2
                if kind == jr.WRAP:
                    pos += ring - off
                    continue
                size = (length + 15) & -8
                if kind > jr.JSON or off + size > ring:
                    break
                payload = jr.HEADER_BYTES + off + 8
                if kind == jr.JSON:
                    lines.append(mm[payload : payload + length])
                else:
                    try:
                        lines.append(encode(*loads(mm[payload : payload + length])))
                    except Exception:  # noqa: BLE001 - a malformed record: decode() counts it
                        lines.append(jr.decode(j, kind, payload, length, self.encoder))
                pos = end = pos + size
            if not lines:
                return 0
            try:
                # the file the batch will (most likely) land in
                q[jr.INTENT_DEV], q[jr.INTENT_INO], q[jr.INTENT_OFFSET] = self.sink.position()
            except OSError:
                q[jr.INTENT_DEV] = q[jr.INTENT_INO] = q[jr.INTENT_OFFSET] = 0
            q[jr.INTENT_WRITTEN] = q[jr.W_WRITTEN] if self.publishes else _NOT_PUBLISHED
            q[jr.INTENT_SEQ] = seq + len(lines)
            q[jr.INTENT_END] = end
            with self.sink.lock:
                self.sink.write_many(lines)
            self.publish()
            q[jr.TAIL_SEQ] = seq + len(lines)
            q[jr.TAIL] = end
            if self.fsync:
                mm.flush()
        return len(lines)

    def drain_all(self, limit: int | None = None) -> int:
        total = 0
        while (n := self.drain_once(limit)) > 0:
            total += n
        return total

    def settle_intent(self) -> None:
        """Under the batch lock, after a crash mid-batch: skip the interrupted batch's records
        already in the file (a writer killed before publishing gets them counted as written)."""
        j, q = self.journal, self.journal.q
        start, end = q[jr.TAIL], q[jr.INTENT_END]
        if end <= start:
            return
        pending = list(j.records(start, end))
        lines = [jr.decode(j, kind, offset, length, self.encoder) for kind, offset, length, _ in pending]
        found = _count_written(self.sink, (q[jr.INTENT_DEV], q[jr.INTENT_INO], q[jr.INTENT_OFFSET]), lines)
        if found:
            if q[jr.INTENT_WRITTEN] == q[jr.W_WRITTEN]:  # a writer process died before publishing
                q[jr.W_WRITTEN] += found
                if self.publishes:
                    self._base[0] += found
            q[jr.TAIL_SEQ] += found
            q[jr.TAIL] = pending[found - 1][3]
        q[jr.INTENT_END] = q[jr.TAIL]


def _count_written(sink: FileSink, where: tuple[int, int, int], lines: list[bytes]) -> int:
    """How many leading ``lines`` appear, in order, in what was appended after ``where``.

    ``where`` = (device, inode, size) of the output file before the batch. The
    bytes searched are that file's from ``size`` on, then each newer rotated file
    and the current one. A file rotated out of existence counts as written.
    """
    if not sink.rereadable:  # a stream: what reached it cannot be read back; never write twice
        return len(lines)
    names = [sink.path] + [f"{sink.path}.{i}" for i in range(1, sink.backup_count + 1)]
    index = None
    for i, name in enumerate(names):
        try:
            st = os.stat(name, follow_symlinks=False)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == where[:2]:
            index = i
            break
    if index is None or not stat.S_ISREG(st.st_mode):  # rotated away, or a FIFO we must not read
        return len(lines)
    region = _read(names[index])[where[2] :] + b"".join(_read(name) for name in reversed(names[:index]))
    cursor = found = 0
    for line in lines:
        at = region.find(line, cursor)  # a line starts with '{"ts":', which JSON text cannot contain
        if at < 0:
            break
        cursor, found = at + len(line), found + 1
    if found < len(lines):
        _cut_torn_tail(names[0], region, lines[found])
    return found


def _cut_torn_tail(newest: str, region: bytes, next_line: bytes) -> None:
    """A write killed part-way (SIGKILL between pages) can leave the start of ``next_line``
    at the very end of the newest file: cut it, so the replay leaves no torn line. Only if
    the file still ends with exactly those bytes (nobody appended since)."""
    torn = region[region.rfind(b"\n") + 1 :]
    if not torn or not next_line.startswith(torn):
        return
    try:
        fd = os.open(newest, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return
    try:
        size = os.fstat(fd).st_size
        if size >= len(torn) and os.pread(fd, len(torn), size - len(torn)) == torn:
            os.ftruncate(fd, size - len(torn))
    except OSError:
        pass
    finally:
        os.close(fd)


def _read(name: str) -> bytes:
    try:
        with open(name, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


class BatchLock:
    """``with BatchLock(fd, wait) as held:`` a ``lockf`` on the journal's last header byte.

    Held by whoever drains a batch (writer process or application) and by the
    application's ``drop_old``. ``held`` is False when ``wait`` is False and
    another process has it. POSIX locks die with their process: a killed holder
    never blocks anyone.
    """

    __slots__ = ("_fd", "_held", "_wait")

    def __init__(self, fd: int, wait: bool) -> None:
        self._fd, self._wait, self._held = fd, wait, False

    def __enter__(self) -> bool:
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX if self._wait else fcntl.LOCK_EX | fcntl.LOCK_NB, 1, jr.DROP_LOCK_BYTE)
            self._held = True
        except OSError:  # EAGAIN/EACCES: someone else holds it
            self._held = False
        return self._held

    def __exit__(self, *exc: object) -> None:
        if self._held:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, jr.DROP_LOCK_BYTE)
