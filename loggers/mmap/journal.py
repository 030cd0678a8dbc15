"""The shared-memory journal of the ``mmap`` backend: layout, ownership and draining.

File ``<dir>/.<name>.mmap-journal[.N]`` (mode 0o640, ``O_NOFOLLOW``), mapped
``MAP_SHARED`` by the application and by its writer process:

* a 4096-byte header of aligned 8-byte slots (see ``HEAD`` ... below), each
  written with one aligned 8-byte store (``memoryview.cast("Q")``), never a
  multi-field ``struct.pack_into``;
* a ring of ``ring_bytes`` (a power of two) of records. Positions are byte
  counters that only grow; a record at position ``p`` lives at ring offset
  ``p % ring_bytes``: one header word, then the payload padded to 8 bytes.

Header word = ``tag << 32 | length << 2 | kind`` with ``tag = (p >> 3) + 1``
(mod 2**32): the word is stored LAST, after the payload, so a word whose tag
matches its position means a complete record; a stale word of an earlier lap
carries another tag. The application's hot path stores the word as its two
aligned 4-byte halves, the low one (length, kind) first and the tag last:
small integers are much cheaper to store from Python than one 64-bit word
(measured 321 vs ~200 ns here), a reader loads the word whole, and a word
whose tag is not yet stored is simply not committed. ``kind`` is ``MARSHAL`` (``marshal`` of
``(ts_ns, level, msg, fields)``, or with a fifth item ``args``: the message is
``msg % args``, formatted by the writer), ``JSON`` (an already encoded line) or
``WRAP`` (the rest of the ring is unused; continue at the next lap). The
stores rely on x86-64 store ordering (TSO) for a *live* reader; after a crash
the page cache holds every store that was made, in any case.

Slots: ``HEAD`` (application: a position it has committed up to, published
on its slow path only, so a lower bound; readers follow the tags; slot 3
is unused, kept so journals of earlier versions still recover), ``TAIL``/``TAIL_SEQ`` (records before it are in the output
file: stored only after the write returned), ``INTENT_*`` (the batch being
written and where the output file ended before it: lets recovery tell which
records of an interrupted batch already reached the file), ``W_*`` (writer's
counters), ``FLUSH_WANTED`` (the highest position a ``flush()`` waits for; the
writer answers on a pipe once ``TAIL`` passes it), ``W_READY`` (the writer's pid
once it runs its loop; 0 while it starts). Ownership: an ``flock`` on the journal, held by the application and
inherited by its writer; a journal nobody holds is an orphan to recover.
"""

from __future__ import annotations

import datetime
import fcntl
import marshal
import mmap
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._sink.encoder import JsonLinesEncoder

MAGIC = 0x314C4E524A4D4C42  # "BLMJRNL1"
HEADER_BYTES = 4096
FILE_MODE = 0o640
SUFFIX = ".mmap-journal"
MARSHAL, JSON, WRAP = 0, 1, 2
(S_MAGIC, S_RING, HEAD, _UNUSED, TAIL, TAIL_SEQ, INTENT_END, INTENT_SEQ, INTENT_DEV, INTENT_INO,
 INTENT_OFFSET, INTENT_WRITTEN, W_WRITTEN, W_DROPPED, W_ERRORS, W_ROTATIONS, W_SLEEPING, FLUSH_WANTED, W_READY) = range(19)
DROP_LOCK_BYTE = HEADER_BYTES - 1  # ``lockf`` range serialising drop_old with the writer's take


def writer_counters(q: memoryview) -> list[int]:
    """written, dropped, errors, rotations as the writer last published them."""
    return [q[W_WRITTEN], q[W_DROPPED], q[W_ERRORS], q[W_ROTATIONS]]


def tag_of(pos: int) -> int:
    return ((pos >> 3) + 1) & 0xFFFFFFFF


def journal_names(path: str) -> tuple[str, str]:
    """(directory, file-name prefix) of the journals belonging to log ``path``."""
    directory, base = os.path.split(os.path.abspath(path))
    return directory, f".{base}{SUFFIX}"


class Journal:
    """One mapped journal file. The opener owns it (holds its ``flock``)."""

    def __init__(self, fd: int, name: str) -> None:
        self.fd = fd
        self.name = name
        size = os.fstat(fd).st_size
        self.mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.q = memoryview(self.mm).cast("Q")
        self.w = memoryview(self.mm).cast("I")  # 4-byte halves: the hot path stores a header word as two
        self.ring = size - HEADER_BYTES

    @classmethod
    def try_own(cls, name: str) -> Journal | None:
        """Open and lock ``name`` (creating it); None if another live logger holds it."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(name, flags, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            st = os.stat(name, follow_symlinks=False)
            if (st.st_dev, st.st_ino) != _ident(fd):
                raise BlockingIOError  # unlinked or replaced after our open: not the live file
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        ring = os.fstat(fd).st_size - HEADER_BYTES
        if ring < 8 or ring & (ring - 1) or _read_slot(fd, S_MAGIC) != MAGIC or _read_slot(fd, S_RING) != ring:
            os.ftruncate(fd, 0)
            os.ftruncate(fd, HEADER_BYTES + 4096)
        return cls(fd, name)

    def reset(self, ring_bytes: int) -> None:
        """Empty the journal and size its ring (zeroed: no stale tag survives)."""
        self.close_map()
        size = HEADER_BYTES + ring_bytes
        os.ftruncate(self.fd, 0)
        # Allocate the blocks now: a store into a hole of a full disk would be a SIGBUS at log time.
        # Writing the zeros also puts the pages in the page cache (measured: halves the first lap's cost).
        os.posix_fallocate(self.fd, 0, size)
        zeros = bytes(min(size, 1 << 20))
        for offset in range(0, size, len(zeros)):
            os.pwrite(self.fd, zeros[: size - offset], offset)
        self.mm = mmap.mmap(self.fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.q = memoryview(self.mm).cast("Q")
        self.w = memoryview(self.mm).cast("I")
        self.ring = ring_bytes
        self.q[S_RING] = ring_bytes
        self.q[S_MAGIC] = MAGIC

    def has_pending(self) -> bool:
        """True when a committed record waits after ``TAIL``. A ``WRAP`` word with no committed record
        after it (the application died between the two stores) is not one: it holds no data."""
        return self.q[S_MAGIC] == MAGIC and self.ring > 0 and next(self.records(self.q[TAIL], None), None) is not None

    def records(self, pos: int, limit: int | None) -> Iterator[tuple[int, int, int, int]]:
        """Yield ``(kind, payload_offset, length, next_pos)`` of committed records from ``pos``.

        Stops before ``limit`` (a position), at the first word whose tag does not
        match, or at an impossible length. ``WRAP`` words are followed, not yielded.
        """
        q, ring, mask = self.q, self.ring, self.ring - 1
        while limit is None or pos < limit:
            off = pos & mask
            word = q[(HEADER_BYTES + off) >> 3]
            if word >> 32 != tag_of(pos):
                return
            kind, length = word & 3, (word & 0xFFFFFFFF) >> 2
            if kind == WRAP:
                pos += ring - off
                continue
            size = (length + 15) & ~7
            if kind > JSON or off + size > ring:
                return
            pos += size
            yield kind, HEADER_BYTES + off + 8, length, pos

    def release(self, *, unlink: bool) -> None:
        """Unmap and close; ``unlink`` (only while still owning it) removes the file."""
        self.close_map()
        if unlink:
            try:
                os.unlink(self.name)
            except OSError:
                pass
        try:
            os.close(self.fd)
        except OSError:
            pass

    def close_map(self) -> None:
        try:
            self.q.release()
            self.w.release()
            self.mm.close()
        except (BufferError, ValueError):
            pass


def _ident(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _read_slot(fd: int, slot: int) -> int:
    raw = os.pread(fd, 8, slot * 8)
    return int.from_bytes(raw, "little") if len(raw) == 8 else 0


def oldest_ts_ns(journal: Journal, tail: int, head: int) -> int:
    """``ts_ns`` of the first committed record in ``tail..head`` (0 if none or unreadable); for stats only."""
    for kind, start, length, _ in journal.records(tail, head):
        raw = journal.mm[start : start + length]
        try:
            if kind == JSON:  # b'{"ts":"2026-01-02T03:04:05.123456Z",...'
                stamp = datetime.datetime.strptime(raw[7:34].decode(), "%Y-%m-%dT%H:%M:%S.%fZ")
                return int(stamp.replace(tzinfo=datetime.timezone.utc).timestamp()) * 1_000_000_000 + stamp.microsecond * 1000
            ts_ns = marshal.loads(raw)[0]
            return ts_ns if type(ts_ns) is int else 0
        except Exception:  # noqa: BLE001 - a record we cannot read: no age to report
            return 0
    return 0


def decode(journal: Journal, kind: int, start: int, length: int, encoder: JsonLinesEncoder) -> bytes:
    """The JSON line of one committed record (a record marshal cannot read becomes an error line)."""
    raw = journal.mm[start : start + length]
    if kind == JSON:
        return raw
    try:
        ts_ns, level, msg, fields, *args = marshal.loads(raw)  # a fifth item: ``args`` (Ring.handoff)
        return encoder.encode(ts_ns, level, msg, fields, *args[:1])
    except Exception:  # noqa: BLE001 - any malformed record becomes a counted error line
        encoder.errors += 1
        return encoder.encode(0, 40, "<undecodable journal record>", {"bytes": length})
