"""The one sink: owns the log file, its rotation and the locking around both.

Every backend writes through a :class:`FileSink`; none opens the file itself.

Writing
    The file is opened ``O_RDWR|O_APPEND|O_CREAT|O_NOFOLLOW|O_CLOEXEC``, mode
    0o640 (umask applies; reading serves only the torn-tail check). ``write_many``
    joins encoded lines into one ``os.write`` per destination file. A symlink
    planted at the path makes the open fail (counted, reported), never followed.

Rotation (``max_bytes`` set)
    Sizes are bytes of encoded records. Before a record would push the file past
    ``max_bytes`` the file is renamed to ``.1`` (older backups shift up, the one
    beyond ``backup_count`` is replaced, so deleted) and a new file started. A
    record larger than ``max_bytes`` goes alone into its own file; a record is
    never split; an empty file is never rotated. The shift stops at the first
    missing backup, so a rotation cut by SIGKILL (each rename is atomic) is
    completed by the next one without deleting anything extra. The first batch
    into a newly opened file ends a torn tail left by a killed writer with
    ``\n`` (reported once) so the next record is not glued to it. With
    ``fsync`` the old file is synced before it is renamed.

Locking
    ``lock`` (a ``threading.Lock``; a ``threading.RLock`` with ``reentrant=True``,
    for a caller that must notice its own re-entry, as ``sync`` does) serialises the
    threads of one process; every caller of ``write_many``/``write_line`` holds it
    (``with sink.lock:``). With rotation on, an
    ``fcntl.flock`` on ``<path>.lock`` is held across check-rotate-write, so
    processes sharing a path agree on one current file: under it one ``stat``
    compares the path's device/inode with the open file (and gives the size);
    if another process or logrotate replaced it, the sink reopens, so nobody
    writes into a renamed file. A deleted ``<path>.lock`` (directory removed) is
    noticed on such a reopen or within a second (``st_nlink == 0``) and replaced.
    Cost: docs/rotation-and-locking.md. Without rotation, ``O_APPEND`` keeps
    concurrent appends whole and the same ``stat`` runs before each batch (as
    stdlib's ``WatchedFileHandler`` does per record), so no record goes into a
    renamed file or vanishes into a deleted one.

Failures
    ``write_many`` never raises ``OSError``: a failed batch counts one error
    and drops the records that did not reach the OS (a torn tail of a partial
    write is truncated when nobody else appended after it); the next batch tries
    again, so logging resumes when the disk has room again.

Fork
    In a forked child the thread lock and the flock descriptor are re-created,
    so a lock held by another parent thread at fork time cannot deadlock the child.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .. import _lifecycle
from .._base import ErrorReporter

if TYPE_CHECKING:
    from .._options import Options

FILE_MODE = 0o640
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
_LOG_OPEN_FLAGS = (_OPEN_FLAGS & ~os.O_WRONLY) | os.O_RDWR
IDENTITY_CHECK_SECONDS = 1.0


class FileSink:
    """Append encoded records to ``path``, rotating by size; see the module docstring."""

    def __init__(
        self, path: str, *, max_bytes: int | None = None, backup_count: int = 5, fsync: bool = False,
        reentrant: bool = False,
    ) -> None:
        """Open (creating) ``path``. Raises ``OSError`` if it cannot be opened."""
        self.path = path
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.fsync = fsync
        self._new_lock: Callable[[], Any] = threading.RLock if reentrant else threading.Lock
        self.lock = self._new_lock()
        self.written = 0
        self.dropped = 0
        self.errors = 0
        self.rotations = 0
        self._closed = False
        self._reporter = ErrorReporter(path)
        self._fd = -1
        self._identity: tuple[int, int] = (0, 0)
        self._next_identity_check = 0.0
        self._lock_fd = -1
        self._tail_unchecked = False
        self._open_file()
        if max_bytes is not None:
            try:
                self._lock_fd = self._open_lock_file()
            except OSError:
                os.close(self._fd)
                raise
        _lifecycle.track_fork(self)

    #: The file can be read back (``mmap.drain`` checks what a crashed batch wrote); a stream cannot.
    rereadable = True

    @classmethod
    def from_options(cls, options: Options, *, reentrant: bool = False) -> FileSink:
        """The sink of ``options`` (path, rotation, fsync; a ``StreamSink`` for ``stream=``).

        Raises ``OSError`` if the file cannot be opened.
        """
        if options.stream is not None:
            from .stream import StreamSink

            return StreamSink(options.stream, fsync=options.fsync, reentrant=reentrant)
        assert options.path is not None
        return cls(options.path, max_bytes=options.max_bytes, backup_count=options.backup_count, fsync=options.fsync,
                   reentrant=reentrant)

    # -- public -----------------------------------------------------------------

    def position(self) -> tuple[int, int, int]:
        """(device, inode, size) of the file the next write goes to. Raises ``OSError``."""
        st = os.fstat(self._fd)
        return st.st_dev, st.st_ino, st.st_size

    def write_many(self, lines: Sequence[bytes]) -> int:
        """Write encoded lines in order and return how many reached the OS.

        The caller holds ``self.lock``. Never raises ``OSError``; records that
        could not be written are counted in ``dropped`` and the failure in ``errors``.
        """
        if not lines:
            return 0
        if self._closed:
            self.dropped += len(lines)
            return 0
        progress = _Progress()
        try:
            if self.max_bytes is None:
                self._check_identity()
                self._write_to_current(lines, progress)
            else:
                with _PathFlock(self) as held:
                    self._write_rotating(lines, self._current_size(held), progress)
            if self.fsync:
                os.fsync(self._fd)
        except OSError as exc:
            self._count_error(exc)
        self.written += progress.records
        self.dropped += len(lines) - progress.records
        return progress.records

    def write_line(self, line: bytes) -> int:
        """``write_many((line,))``, same contract, with less bookkeeping for the common case
        (no rotation, no ``fsync``): the identity ``stat`` and one ``os.write``."""
        if self.max_bytes is not None or self.fsync or self._closed:
            return self.write_many((line,))
        try:
            self._check_identity()
            done = os.write(self._fd, line)
        except OSError as exc:
            self._count_error(exc)
            self.dropped += 1
            return 0
        if done != len(line):  # a short write: finish it (or cut its torn tail) as write_many does
            progress = _Progress()
            try:
                self._write_to_current((line,), progress, done)
            except OSError as exc:
                self._count_error(exc)
            self.written += progress.records
            self.dropped += 1 - progress.records
            return progress.records
        self.written += 1
        return 1

    def _count_error(self, exc: OSError) -> None:
        self.errors += 1
        self._reporter.report(_kind_of(exc), f"{exc.strerror or exc} (records dropped)")

    def close(self) -> None:
        """Close the file; idempotent. Later writes are counted as dropped."""
        if self._closed:
            return
        self._closed = True
        for fd in (self._fd, self._lock_fd):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._fd = self._lock_fd = -1

    # -- writing ----------------------------------------------------------------

    def _write_to_current(self, lines: Sequence[bytes], progress: _Progress, done: int = 0) -> None:
        """One ``os.write`` (looped on short writes) of ``lines`` to the open file (``done`` bytes already written)."""
        data = b"".join(lines) if len(lines) > 1 else lines[0]
        try:
            while done < len(data):
                done += os.write(self._fd, data[done:] if done else data)
        except OSError:
            progress.records += _whole_records(lines, done)
            self._truncate_torn_tail(lines, done)
            raise
        progress.records += len(lines)

    def _write_rotating(self, lines: Sequence[bytes], size: int, progress: _Progress) -> None:
        """Group lines per file, rotating before a line would exceed ``max_bytes``."""
        assert self.max_bytes is not None
        if size + sum(map(len, lines)) <= self.max_bytes or (size == 0 and len(lines) == 1):
            self._write_to_current(lines, progress)  # the common case: the batch fits
            return
        group: list[bytes] = []
        group_bytes = 0
        for line in lines:
            if size + group_bytes > 0 and size + group_bytes + len(line) > self.max_bytes:
                if group:
                    self._write_to_current(group, progress)
                self._rotate()
                size, group, group_bytes = 0, [], 0
            group.append(line)
            group_bytes += len(line)
        if group:
            self._write_to_current(group, progress)

    def _repair_torn_tail(self, size: int) -> int:
        """End a file left mid-record by a killed writer with ``\n``; return the new size.

        Called under the flock, so no writer of this path is mid-record now.
        """
        self._tail_unchecked = False
        if size == 0 or os.pread(self._fd, 1, size - 1) == b"\n":
            return size
        os.write(self._fd, b"\n")
        self._reporter.report("torn tail", "the file ended mid-record (a killed writer?); ended that line")
        return size + 1

    def _truncate_torn_tail(self, lines: Sequence[bytes], done: int) -> None:
        """After a short write, cut the partial record so the file ends on a line."""
        torn = done - sum(len(line) for line in lines[: _whole_records(lines, done)])
        if torn <= 0:
            return
        try:
            our_end = os.lseek(self._fd, 0, os.SEEK_CUR)
            if os.fstat(self._fd).st_size == our_end:  # nobody appended after us
                os.truncate(self._fd, our_end - torn)
        except OSError:
            pass

    # -- rotation and identity ---------------------------------------------------

    def _rotate(self) -> None:
        """Shift backups up to the first gap, move the file to ``.1``, open a new one."""
        base = self.path
        if self.fsync:
            os.fsync(self._fd)
        if self.backup_count == 0:
            _unlink_quietly(base)
        else:
            first_gap = 1
            while first_gap < self.backup_count and os.path.lexists(f"{base}.{first_gap}"):
                first_gap += 1
            for index in range(first_gap - 1, 0, -1):
                os.replace(f"{base}.{index}", f"{base}.{index + 1}")
            os.replace(base, f"{base}.1")
        self.rotations += 1
        self._reopen()

    def _current_size(self, held: _PathFlock) -> int:
        """Size of the file the path names, reopening it first if it is not ours; under the flock.

        One ``stat`` per batch: when the path still names our file its size is
        the file's. A mismatch, or once every ``IDENTITY_CHECK_SECONDS``, also
        checks that the lock file itself was not deleted.
        """
        st = _stat_or_none(self.path)
        now = time.monotonic()
        if st is not None and (st.st_dev, st.st_ino) == self._identity:
            size = st.st_size
            if now >= self._next_identity_check:
                self._next_identity_check = now + IDENTITY_CHECK_SECONDS
                held.refresh()
        else:
            held.refresh()
            self._reopen()
            size = os.fstat(self._fd).st_size
        return self._repair_torn_tail(size) if self._tail_unchecked else size

    def _check_identity(self) -> None:
        """Reopen if the path no longer names our file (renamed, replaced, deleted): one ``stat``."""
        st = _stat_or_none(self.path)
        if st is None or (st.st_dev, st.st_ino) != self._identity:
            self._reopen()

    def _reopen(self) -> None:
        old = self._fd
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self._open_file()
        if old >= 0:
            os.close(old)

    def _open_file(self) -> None:
        fd = os.open(self.path, _LOG_OPEN_FLAGS, FILE_MODE)
        st = os.fstat(fd)
        self._fd, self._identity = fd, (st.st_dev, st.st_ino)
        self._tail_unchecked = True

    def _open_lock_file(self) -> int:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        return os.open(self.path + ".lock", _OPEN_FLAGS, FILE_MODE)

    def _after_fork_in_child(self) -> None:
        self.lock = self._new_lock()
        if self._lock_fd >= 0:
            try:
                os.close(self._lock_fd)
                self._lock_fd = self._open_lock_file()
            except OSError:
                self._lock_fd = -1


class _Progress:
    """Records of the current batch that reached the OS (survives an exception)."""

    __slots__ = ("records",)

    def __init__(self) -> None:
        self.records = 0


class _PathFlock:
    """``with _PathFlock(sink) as held:`` holds an exclusive ``flock`` on ``<path>.lock``."""

    __slots__ = ("_sink",)

    def __init__(self, sink: FileSink) -> None:
        self._sink = sink

    def __enter__(self) -> _PathFlock:
        fcntl.flock(self._sink._lock_fd, fcntl.LOCK_EX)
        return self

    def refresh(self) -> None:
        """If the locked file was deleted (``st_nlink == 0``: its directory was removed,
        say), processes starting now lock a new ``<path>.lock``: switch to it too."""
        sink = self._sink
        while os.fstat(sink._lock_fd).st_nlink == 0:
            fresh = sink._open_lock_file()
            stale, sink._lock_fd = sink._lock_fd, fresh
            os.close(stale)  # releases the stale lock
            fcntl.flock(fresh, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._sink._lock_fd, fcntl.LOCK_UN)


def _whole_records(lines: Sequence[bytes], done: int) -> int:
    count = 0
    for line in lines:
        if done < len(line):
            break
        done -= len(line)
        count += 1
    return count


def _kind_of(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)


def _stat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass

