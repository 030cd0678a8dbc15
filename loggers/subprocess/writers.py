"""The writer processes one application process of the ``subprocess`` backend uses.

:class:`Writers` starts a writer (connected by a ``socketpair``, listening in a
private 0o700 directory for forked children), connects a forked child to its
parent's writer, adopts each connection as a :class:`Link`, notices a writer's
death (reported once; its unconfirmed records count as dropped), starts one
replacement per process (``MAX_WRITERS``) and, at close, finishes every link
and reaps the writers this process started (``waitpid``) unless other
processes still use one.

Thread-safety: every method may be called from any thread; ``lock`` guards the
counters and the link list. ``link`` (the one the sender uses) is replaced by
the sender thread only (``usable_link``) and in a forked child.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time

from .._base import ErrorReporter
from .._options import Options
from .._writer.process import reap, remove_socket_dir, spawn_writer
from .link import Link

MAX_WRITERS = 2  # writers one process may start: the first and one replacement
REAP_SECONDS = 10.0
CONNECT_SECONDS = 5.0


class Writers:
    """This process's writers and links. ``start()`` (or ``join_or_start``) must run before use."""

    def __init__(self, options: Options, path: str) -> None:
        self._options = options
        self._path = path
        self._init_state()

    def _init_state(self) -> None:
        self.lock = threading.Lock()
        self.reporter = ErrorReporter(f"subprocess backend for {self._path}")
        self.closing = False  # set by the owner's close: a lost writer is then not replaced
        self._links: list[Link] = []
        self.address: str | None = None
        self._spawned = 0
        self._unsent = 0  # records dropped for want of a writer
        self._deaths = 0
        self._loss_events = 0

    # -- starting and connecting ------------------------------------------------------

    def start(self) -> Link:
        """Start a writer process and make its link current. Raises OSError."""
        self.link = self._start_writer()
        return self.link

    def _start_writer(self) -> Link:
        """Start a writer process connected by a socketpair, listening in a private directory."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        directory = tempfile.mkdtemp(prefix="logbench-w-")  # mode 0o700
        if len(directory) > 90:  # sun_path is ~108 bytes
            os.rmdir(directory)
            directory = tempfile.mkdtemp(prefix="logbench-w-", dir="/tmp")
        address = os.path.join(directory, "w.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(address)
            listener.listen(128)
            opts = self._options
            path = "" if opts.stream is not None else self._path
            args = [path, str(opts.max_bytes or ""), str(opts.backup_count), "1" if opts.fsync else "0"]
            fds = (theirs.fileno(), listener.fileno())
            stream = [opts.stream] if opts.stream is not None else []  # the writer inherits fd 1 and 2
            process = spawn_writer("loggers.subprocess.writer", [*args, *map(str, fds), *stream], pass_fds=fds)
        except BaseException:
            mine.close()
            remove_socket_dir(address)
            raise
        finally:
            theirs.close()
            listener.close()
        link = Link(mine, self._link_ended)
        link.process, link.address = process, address
        return self._adopt(link)

    def _adopt(self, link: Link) -> Link:
        with self.lock:
            self._links.append(link)
            if link.process is not None:
                self._spawned += 1
            if link.address is not None:
                self.address = link.address
        return link

    def _connect(self, address: str) -> Link:
        """Connect to a running writer (forked child). Raises OSError."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(CONNECT_SECONDS)
            sock.connect(address)
            sock.settimeout(None)
        except BaseException:
            sock.close()
            raise
        return self._adopt(Link(sock, self._link_ended))

    def _link_ended(self, link: Link) -> None:
        """Reader thread: the writer closed our connection; unexpected unless it sent its final ack."""
        if link.final:
            return
        lost = link.counts()[4]
        if link.address is not None:
            remove_socket_dir(link.address)  # nobody should connect to a writer we lost
        with self.lock:
            self._deaths += 1
            self._loss_events += 1
            retry = not self.closing and self._spawned < MAX_WRITERS
        then = "a new writer is started for later records" if retry else "later records are dropped"
        self.reporter.report("writer lost", f"the writer process is gone; {lost} unconfirmed record(s) dropped, {then}")

    def usable_link(self) -> Link | None:
        """Sender thread: the link to send on: the current one, or a new writer if it broke and one may start."""
        link = self.link
        if not link.broken:
            return link
        with self.lock:
            may_start = self._spawned < MAX_WRITERS
        if may_start:
            try:
                return self.start()
            except OSError as exc:
                with self.lock:
                    self._spawned = MAX_WRITERS
                self.reporter.report("writer start", f"cannot start a writer: {exc}")
        return None

    def count_unsent(self, count: int) -> None:
        """``count`` records could not be sent to any writer: dropped."""
        with self.lock:
            self._unsent += count
            self._loss_events += 1

    # -- flush and close --------------------------------------------------------------

    def loss_events(self) -> int:
        with self.lock:
            return self._loss_events

    def wait_confirmed(self, deadline: float | None) -> bool:
        """Block until every live link's writer confirmed what was sent on it; False on timeout.

        ``deadline``: a ``time.monotonic()`` value, or None to wait as long as it takes.
        """
        with self.lock:
            links = [link for link in self._links if not link.ended]
        for link in links:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not link.wait_confirmed(link.snapshot_sent(), remaining):
                return False
        return True

    def intact_since(self, losses: int) -> bool:
        """No record was lost since ``loss_events()`` returned ``losses``, and a writer is usable."""
        with self.lock:
            return self._loss_events == losses and not (self.link.broken and self._spawned >= MAX_WRITERS)

    def close(self) -> None:
        """Finish every link (the writers write what they have and ack), then reap our writers."""
        with self.lock:
            links = list(self._links)
        for link in links:
            link.finish()
        for link in links:
            link.join()
            link.sock.close()
        for link in links:
            if link.process is None:
                continue
            if link.final and link.others > 0 and link.process.poll() is None:
                continue  # forked children still log through it; it exits after the last of them
            reap(link.process, REAP_SECONDS)
            if link.address is not None:
                remove_socket_dir(link.address)  # normally the writer did; not if it was killed

    def after_fork_in_child(self, *, closed: bool) -> None:
        """In a forked child: forget the parent's links; unless ``closed``, connect to the parent's
        writer or, failing that, start our own. Raises OSError if neither works."""
        inherited, address = self._links, self.address
        self._init_state()
        for link in inherited:
            link.close_in_child()
        if closed:
            return
        try:
            if address is None:
                raise OSError("no writer to join")
            self.link = self._connect(address)
            self.address = address
        except OSError:
            self.start()

    # -- stats ------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """written, dropped, errors, rotations, in_flight, writer_spawns over every link of this process."""
        with self.lock:
            links = list(self._links)
            values = {"written": 0, "dropped": self._unsent, "errors": self._deaths, "rotations": 0,
                      "in_flight": 0, "writer_spawns": self._spawned}
        for link in links:
            written, dropped, errors, rotations, lost = link.counts()
            values["written"] += written
            values["dropped"] += dropped + lost
            values["errors"] += errors
            values["rotations"] += rotations
            values["in_flight"] += link.in_flight()
        return values
