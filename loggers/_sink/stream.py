"""The sink for a standard stream: records go to file descriptor 1 (stdout) or 2 (stderr).

:class:`StreamSink` is what :meth:`FileSink.from_options` returns for
``stream=...``; it keeps the sink interface (``lock``, ``write_many``, the
counters, ``close``) and drops what a stream cannot do: no rotation (refused at
configuration), no identity check, no torn-tail repair (a pipe cannot be cut).

The descriptor is the process's own 1 or 2, used by number and never closed:
writer processes (``subprocess``, ``mmap``) inherit it, so every process
writes to the same open file (the terminal, the pipe, the container's log).

A reader that goes away (``python app.py | head -1``): CPython ignores
SIGPIPE, so the ``write`` fails with EPIPE. That batch's unwritten records and
every later one are counted in ``dropped`` (one error, reported once on
stderr); no later ``write`` is tried and nothing is raised, so the
application goes on and ``emitted == written + dropped`` still holds. Other
failures (EAGAIN on a non-blocking descriptor, EIO) count one error and drop
that batch only, like the file sink. (A program that restores SIGPIPE's
default action chooses to be killed by it; nothing here changes that.)
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Sequence

from .. import _lifecycle
from .._base import ErrorReporter
from . import FileSink, _whole_records

STREAM_FDS = {"stdout": 1, "stderr": 2}


class StreamSink(FileSink):
    """Append encoded records to stdout or stderr; see the module docstring. The caller holds ``lock``."""

    #: A stream cannot be read back: a crashed batch cannot be checked against it (``mmap.drain``).
    rereadable = False

    def __init__(self, stream: str, *, fsync: bool = False, reentrant: bool = False) -> None:  # nothing to open
        self.stream = stream
        self.path = f"<{stream}>"
        self.max_bytes = None
        self.backup_count = 0
        self.fsync = fsync
        self._new_lock = threading.RLock if reentrant else threading.Lock
        self.lock = self._new_lock()
        self.written = self.dropped = self.errors = self.rotations = 0
        self._closed = False
        self._broken = False  # the reader went away (EPIPE): drop without trying
        self._reporter = ErrorReporter(self.path)
        self._fd = STREAM_FDS[stream]
        self._lock_fd = -1
        _lifecycle.track_fork(self)

    def write_many(self, lines: Sequence[bytes]) -> int:
        """Write ``lines`` in order and return how many reached the OS; never raises ``OSError``."""
        if not lines:
            return 0
        if self._closed or self._broken:
            self.dropped += len(lines)
            return 0
        data = b"".join(lines) if len(lines) > 1 else lines[0]
        done = 0
        try:
            while done < len(data):
                done += os.write(self._fd, data[done:] if done else data)
            if self.fsync:
                _fsync_quietly(self._fd)
        except OSError as exc:
            self._failed(exc)
        whole = _whole_records(lines, done)
        self.written += whole
        self.dropped += len(lines) - whole
        return whole

    def write_line(self, line: bytes) -> int:
        """``write_many((line,))``."""
        return self.write_many((line,))

    def _failed(self, exc: OSError) -> None:
        self.errors += 1
        if exc.errno == errno.EPIPE:
            self._broken = True
            self._reporter.report("EPIPE", "the reader went away; this and every later record is dropped")
        else:
            kind = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
            self._reporter.report(kind, f"{exc.strerror or exc} (records dropped)")

    def position(self) -> tuple[int, int, int]:
        """(device, inode, 0): a stream has no size worth recording. Raises ``OSError``."""
        st = os.fstat(self._fd)
        return st.st_dev, st.st_ino, 0

    def close(self) -> None:
        """Stop writing (later records are dropped); the descriptor stays open, it is the process's."""
        self._closed = True

    def _after_fork_in_child(self) -> None:
        self.lock = self._new_lock()


def _fsync_quietly(fd: int) -> None:
    """``fsync`` where the stream is a file; a pipe or terminal refuses it (EINVAL), which is no failure."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EROFS):
            raise
