"""The ``subprocess`` backend's writer process: read frames, encode, write, ack; exit at EOF.

Started by :class:`loggers.subprocess.backend.SubprocessBackend` through
``loggers._writer.process.spawn_writer`` with ``argv`` = path, max_bytes ("" for
none), backup_count, fsync ("0"/"1"), the inherited descriptor of the
creating process's connection (one end of a ``socketpair``) and of a
listening unix socket (``-1`` for none) on which other processes of the same
user (forked children) connect.

Single-threaded ``selectors`` loop over the listener and every connection.
Per read round of one connection it decodes every complete frame (see
``wire``), writes all their lines with one ``FileSink.write_many``
and then acks the connection's cumulative counters. At EOF on a connection it
handles what is left, sends a final ack and closes it; when no connection is
left (pending connects on the listener are accepted first) it closes the
file, removes the listening socket and exits. So it never outlives the last
application process by more than the time to write what it had received,
whether the application closed the logger, exited or was killed (SIGKILL).

SIGINT, SIGTERM and SIGHUP are ignored: a Ctrl-C or a group-wide SIGTERM
reaches the application too, which then drains through this writer; EOF ends
it either way. Only SIGKILL stops it early (the application then counts the
unconfirmed records as dropped). Nothing here unpickles: see the trust note
in ``wire``.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import struct
import sys

from .._base import ErrorReporter
from .._sink.encoder import JsonLinesEncoder
from .._options import Options
from .._sink import FileSink
from .._writer.process import remove_socket_dir
from .wire import ACK, HEADER, unpack_lines

RECV_BYTES = 1 << 18
_CRED = struct.Struct("3i")


class _Conn:
    """One application process: its socket, unparsed bytes and cumulative counters."""

    __slots__ = ("buf", "dropped", "errors", "rotations", "sock", "written")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(True)
        self.sock = sock
        self.buf = bytearray()
        self.written = self.dropped = self.errors = self.rotations = 0


class Writer:
    """Serve connections until none is left. Not thread-safe (one loop thread)."""

    def __init__(self, sink: FileSink, listener: socket.socket | None) -> None:
        self.sink = sink
        self.encoder = JsonLinesEncoder()
        self.listener = listener
        self.selector = selectors.DefaultSelector()
        self.conns: dict[socket.socket, _Conn] = {}
        self.reporter = ErrorReporter(f"subprocess writer for {sink.path}")
        if listener is not None:
            listener.setblocking(False)
            self.selector.register(listener, selectors.EVENT_READ, None)

    def add(self, sock: socket.socket) -> None:
        conn = _Conn(sock)
        self.conns[sock] = conn
        self.selector.register(sock, selectors.EVENT_READ, conn)

    def run(self) -> None:
        while self.conns:
            for key, _ in self.selector.select():
                if key.data is None:
                    self.accept_pending()
                else:
                    self.serve(key.data)
            if not self.conns:
                self.accept_pending()  # a process that connected just before the last one left

    def accept_pending(self) -> None:
        """Accept every queued connect from a process of our own uid."""
        if self.listener is None:
            return
        while True:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.reporter.report("accept", str(exc))
                return
            if _peer_uid(sock) not in (None, os.getuid()):
                self.reporter.report("foreign peer", "refused a connection from another user")
                sock.close()
                continue
            self.add(sock)

    def serve(self, conn: _Conn) -> None:
        """One read round: handle the complete frames received; at EOF, finish the connection."""
        try:
            data = conn.sock.recv(RECV_BYTES)
        except OSError:
            data = b""
        if data:
            conn.buf += data
            if self.handle_frames(conn):
                self.ack(conn, final=False)
            return
        self.accept_pending()  # so the final ack counts processes that are about to be served
        self.ack(conn, final=True)  # a torn last frame of a killed sender is discarded
        self.selector.unregister(conn.sock)
        del self.conns[conn.sock]
        conn.sock.close()

    def handle_frames(self, conn: _Conn) -> bool:
        """Decode and write every complete frame in ``conn.buf``; True if there was one."""
        buf, pos, lines, frames = conn.buf, 0, [], 0
        encoder, encode_errors = self.encoder, self.encoder.errors
        while len(buf) - pos >= HEADER.size:
            length, count = HEADER.unpack_from(buf, pos)
            end = pos + HEADER.size + length
            if len(buf) < end:
                break
            try:
                lines += unpack_lines(buf[pos + HEADER.size : end], count, encoder)
            except Exception as exc:  # a malformed frame: count it, keep the stream
                conn.dropped += count
                conn.errors += 1
                self.reporter.report("bad frame", f"{type(exc).__name__}: {exc} (records dropped)")
            pos, frames = end, frames + 1
        if pos:
            del buf[:pos]
        conn.errors += encoder.errors - encode_errors
        if lines:
            self.write(conn, lines)
        return frames > 0

    def write(self, conn: _Conn, lines: list[bytes]) -> None:
        sink = self.sink
        errors, rotations = sink.errors, sink.rotations
        with sink.lock:
            written = sink.write_many(lines)
        conn.written += written
        conn.dropped += len(lines) - written
        conn.errors += sink.errors - errors
        conn.rotations += sink.rotations - rotations

    def ack(self, conn: _Conn, *, final: bool) -> None:
        others = len(self.conns) - 1
        message = ACK.pack(conn.written, conn.dropped, conn.errors, conn.rotations, others, int(final))
        try:
            conn.sock.sendall(message)
        except OSError:
            pass  # the application is gone; nobody to tell

    def close(self) -> None:
        with self.sink.lock:
            self.sink.close()
        if self.listener is not None:
            _remove_socket(self.listener)


def _peer_uid(sock: socket.socket) -> int | None:
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    _pid, uid, _gid = _CRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CRED.size))
    return int(uid)


def _remove_socket(listener: socket.socket) -> None:
    """Remove the listening socket's path and its private directory (best effort)."""
    try:
        address = listener.getsockname()
    except OSError:
        address = None
    listener.close()
    if isinstance(address, str) and address:
        remove_socket_dir(address)


def main(argv: list[str]) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    path, max_bytes, backup_count, fsync, conn_fd, listen_fd, *stream = argv
    connection = socket.socket(fileno=int(conn_fd))
    listener = socket.socket(fileno=int(listen_fd)) if int(listen_fd) >= 0 else None
    try:
        options = Options(path=path or None, max_bytes=int(max_bytes) if max_bytes else None,
                          backup_count=int(backup_count), fsync=fsync == "1", stream=stream[0] if stream else None)
        sink = FileSink.from_options(options)
    except OSError as exc:
        sys.stderr.write(f"logbench: subprocess writer: cannot open {path!r}: {exc.strerror or exc}\n")
        sys.exit(1)
    writer = Writer(sink, listener)
    writer.add(connection)
    try:
        writer.run()
    finally:
        writer.close()
