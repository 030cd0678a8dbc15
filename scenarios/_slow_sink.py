"""A slow sink that works for every backend, without reaching into its internals.

The log "file" is a named pipe (FIFO) created at the log path. A reader thread
in the *scenario* process (not in the measured one, so it costs the measured
process no GIL time and no memory) opens it first, then reads nothing for
``stall_s`` seconds and afterwards drains it at full speed. While it stalls,
the pipe's kernel buffer (64 KiB on Linux) fills and every ``os.write`` of the
backend blocks: to the backend this looks exactly like a disk or a network
file system that stopped answering for ``stall_s`` seconds. Because the stall
lives in the file system object, it reaches a writer in another process
(``subprocess``, ``mmap`` backends) as well as a writer thread or the caller
itself. Limits: only unrotated logs (a FIFO cannot be renamed meaningfully),
and a backend that ``fstat``s or seeks its file sees a pipe.

The reader counts bytes and lines so the scenario can check that what the
backend says it wrote really arrived.
"""

from __future__ import annotations

import os
import select
import threading
import time

_CHUNK = 1 << 20
_GIVE_UP_S = 2.0


class SlowFifoSink:
    """A FIFO at ``path`` read by a thread that stalls ``stall_s`` seconds first.

    Use as a context manager around the measured child's run; call
    :meth:`writers_done` once the writing process(es) ended so the reader
    stops at the pipe's end of file. Not reusable.
    """

    def __init__(self, path: str, stall_s: float) -> None:
        self.path = path
        self.stall_s = stall_s
        self.bytes_read = 0
        self.lines_read = 0
        self.first_read_at: float | None = None
        self._done = threading.Event()
        self._fd = -1
        self._started = self._last_data = 0.0
        self._thread = threading.Thread(target=self._run, name="logbench-slow-sink", daemon=True)

    def __enter__(self) -> SlowFifoSink:
        os.mkfifo(self.path, 0o600)
        # Non-blocking open succeeds without a writer; the writer's open then does not block.
        self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self._started = self._last_data = time.monotonic()
        self._thread.start()
        return self

    def writers_done(self) -> None:
        """Tell the reader that no more data will come once the pipe reports end of file."""
        self._done.set()

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(30)
        os.close(self._fd)

    def _run(self) -> None:
        self._done.wait(self.stall_s)
        while True:
            ready, _, _ = select.select([self._fd], [], [], 0.05)
            if not ready:
                # Done and silent for a while: a writer that never connected or hangs.
                if self._done.is_set() and time.monotonic() - self._last_data > _GIVE_UP_S:
                    return
                continue
            data = os.read(self._fd, _CHUNK)
            if data:
                if self.first_read_at is None:
                    self.first_read_at = time.monotonic() - self._started
                self._last_data = time.monotonic()
                self.bytes_read += len(data)
                self.lines_read += data.count(b"\n")
                continue
            if self._done.is_set():  # no writer left and none will come
                return
            time.sleep(0.01)  # no writer connected (yet, or between opens)
