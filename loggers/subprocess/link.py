"""One application process's connection to a ``subprocess`` writer: send frames, read acks.

The sender thread calls :meth:`Link.send`; a daemon reader thread reads the
writer's cumulative acks (see ``wire``) until the writer closes
the connection, which it does after the final ack once we shut our sending
side down (``finish``) or when it dies. ``sent`` counts records handed to
``sendall``; ``written + dropped`` is what the writer confirmed; once the
reader has ended, ``lost`` = sent - confirmed are records the writer never
confirmed (it died with them) and the owner counts them as dropped.

Thread-safety: every method may be called from any thread; one Condition
guards the counters.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable

from .._lifecycle.signals import start_quiet
from .wire import ACK


class Link:
    """A connected socket to a writer process plus the thread that reads its acks."""

    def __init__(self, sock: socket.socket, on_end: Callable[[Link], None]) -> None:
        self.sock = sock
        self.sent = 0
        self.written = self.dropped = self.errors = self.rotations = 0
        self.others = 0  # other processes the writer served at its last ack
        self.final = False  # the writer sent its final ack: it finished this connection
        self.ended = False  # no more acks will come
        self.broken = False  # nothing more may be sent
        self.process: subprocess.Popen[bytes] | None = None  # the writer, if this process started it
        self.address: str | None = None  # its listening socket, if this process started it
        self._on_end = on_end
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="logbench-subprocess-acks", daemon=True)
        start_quiet(self._reader)  # SIGTERM & co. go to the application's threads (see ``_lifecycle.signals``)

    # -- the sender's side --------------------------------------------------------

    def send(self, frame: bytes, count: int) -> bool:
        """Send one frame of ``count`` records; False (nothing counted) if the link is broken.

        Blocks while the writer does not read (its socket buffer is full). A
        failed send breaks the link; its records stay in ``sent`` and so end
        up in ``lost``.
        """
        with self._cond:
            if self.broken:
                return False
            self.sent += count
        try:
            self.sock.sendall(frame)
        except OSError:
            self.abort()
        return True

    def finish(self) -> None:
        """No more frames: the writer writes what it has, acks a last time and closes."""
        with self._cond:
            self.broken = True
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def abort(self) -> None:
        """Give up on the writer: stop sending and end the reader now."""
        with self._cond:
            self.broken = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def join(self, timeout: float | None = None) -> None:
        if self._reader is not threading.current_thread():
            self._reader.join(timeout)

    def close_in_child(self) -> None:
        """In a forked child: forget the parent's connection (close our copy of the fd only)."""
        self.broken = self.ended = True
        try:
            self.sock.close()  # no shutdown(): that would end the parent's connection too
        except OSError:
            pass

    # -- flush ---------------------------------------------------------------------------

    def snapshot_sent(self) -> int:
        with self._cond:
            return self.sent

    def wait_confirmed(self, needed: int, timeout: float | None) -> bool:
        """Block until the writer confirmed ``needed`` records; False on timeout or end."""
        with self._cond:
            return self._cond.wait_for(lambda: self.written + self.dropped >= needed or self.ended, timeout) and (
                self.written + self.dropped >= needed
            )

    def counts(self) -> tuple[int, int, int, int, int]:
        """(written, dropped, errors, rotations, lost) as confirmed so far."""
        with self._cond:
            lost = self.sent - self.written - self.dropped if self.ended else 0
            return self.written, self.dropped, self.errors, self.rotations, max(lost, 0)

    def in_flight(self) -> int:
        with self._cond:
            return 0 if self.ended else self.sent - self.written - self.dropped

    # -- the reader thread -------------------------------------------------------------

    def _read(self) -> None:
        pending = b""
        size = ACK.size
        try:
            while True:
                data = self.sock.recv(4096)
                if not data:
                    break
                pending += data
                complete = len(pending) // size
                if complete:
                    self._apply(ACK.unpack_from(pending, (complete - 1) * size))
                    pending = pending[complete * size :]
        except OSError:
            pass
        finally:
            with self._cond:
                self.ended = self.broken = True
                self._cond.notify_all()
            self._on_end(self)

    def _apply(self, ack: tuple[int, ...]) -> None:
        with self._cond:
            self.written, self.dropped, self.errors, self.rotations, self.others, final = ack
            self.final = self.final or bool(final)
            self._cond.notify_all()
