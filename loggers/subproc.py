"""``subprocess``: callers queue raw records; a writer *process* encodes and writes them.

Blocking: ``log()`` appends to a bounded deque (no encoding, no I/O, no lock on
the common path); ``overflow="block"`` makes the caller wait while the queue is
full and the writer is alive. A sender thread takes up to ``batch_size``
records (when that many are queued, every ``flush_interval`` seconds, or on
flush/close), ``marshal``-s them into one frame and ``sendall``-s it on a unix
stream socket; the writer process (``_subprocess_writer``) encodes with
``JsonLinesEncoder`` and writes through ``FileSink`` (rotation, flock). A
record ``marshal`` refuses (``datetime``, a custom object) is JSON-encoded by
the sender instead, so nothing is lost. No pickle anywhere; wire format and
trust boundary: ``_subprocess_wire``. Field values are captured when the
sender takes the batch.

Thread-safe. ``flush(timeout)`` returns True once the writer confirmed every
record logged before the call as handed to the OS (so reading the file then
shows them); False on timeout, or if records were lost to a writer death
meanwhile. ``close()`` drains the queue, shuts down the socket's sending side
(EOF is the close frame), waits for the writer's final ack and, in the process
that started the writer, reaps it (``waitpid``: its CPU time then appears in
``getrusage(RUSAGE_CHILDREN)``) unless other processes still use it; idempotent.

Sharing: forked children (pool workers) reconnect in ``_after_fork_in_child``
to the writer's listening socket (``writer_address``, in a private 0o700
directory) and never use the parent's connection; if that fails they start
their own writer. A *spawned* process simply creates its own logger on the same
path (its own writer; ``FileSink`` keeps appends whole and rotation agreed).

Crashes: app SIGKILL (or default SIGTERM) loses only what was still queued or
in the sender (at most ``queue_size``, in practice ~``batch_size`` or
``flush_interval`` worth); the writer writes everything already sent, then
exits at EOF. Writer death: the failure is reported once on stderr; records
sent but not confirmed and all later ones are counted as dropped (+1 error);
one new writer is started per process (``MAX_WRITERS``), after which records
are dropped and counted. ``stats()["written"]`` is what the writer confirmed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping

from . import _lifecycle
from ._base import Counters, Logger
from ._encoder import JsonLinesEncoder
from ._errors import ErrorReporter
from ._options import COMMON_OPTIONS, QUEUE_OPTIONS, Options
from ._process import reap, remove_socket_dir, spawn_writer
from ._queue import HandoffQueue, Record
from ._signals import start_quiet
from ._sink import FileSink
from ._subprocess_link import Link
from ._subprocess_wire import pack_batch

MAX_WRITERS = 2  # writers one process may start: the first and one replacement
REAP_SECONDS = 10.0
CONNECT_SECONDS = 5.0


class SubprocessBackend(Logger):
    name = "subprocess"
    accepts = COMMON_OPTIONS | QUEUE_OPTIONS | {"fsync"}
    crash_durability = "flushed"

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        assert options.path is not None
        FileSink(options.path, max_bytes=options.max_bytes, backup_count=options.backup_count).close()
        self._path = os.path.abspath(options.path)
        self._queue = HandoffQueue(options.queue_size, options.overflow, options.batch_size)
        self._queue.consumer_alive = self._sender_alive
        self._handoff = self._queue.put  # type: ignore[method-assign]  # one call less per record
        self._init_process_state()
        self._link = self._start_writer()
        self._sender = self._start_sender()
        _lifecycle.track(self)

    def _init_process_state(self) -> None:
        """State owned by this process (fresh in a forked child)."""
        self._close_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._encoder = JsonLinesEncoder()  # the sender thread's (marshal fallback)
        self._reporter = ErrorReporter(f"subprocess backend for {self._path}")
        self._links: list[Link] = []
        self._address: str | None = None
        self._spawned = 0
        self._fallback = 0  # records encoded here because marshal refused them
        self._unsent = 0  # records dropped for want of a writer
        self._deaths = 0
        self._loss_events = 0
        self._base = Counters()  # queue counters inherited over fork, subtracted in stats

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        self._queue.put(ts_ns, level, msg, fields)

    def _count_bad_call(self) -> None:
        self._queue.count_error()

    @property
    def writer_address(self) -> str | None:
        """The writer's listening socket path (what forked children connect to)."""
        return self._address

    @property
    def writer_pid(self) -> int | None:
        """Pid of the writer this process started and still uses, else None."""
        process = self._link.process
        return process.pid if process is not None else None

    # -- writers and links -----------------------------------------------------------

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
            opts = self.options
            args = [self._path, str(opts.max_bytes or ""), str(opts.backup_count), "1" if opts.fsync else "0"]
            fds = (theirs.fileno(), listener.fileno())
            process = spawn_writer("loggers._subprocess_writer", [*args, *map(str, fds)], pass_fds=fds)
        except BaseException:
            mine.close()
            remove_socket_dir(address)
            raise
        finally:
            theirs.close()
            listener.close()
        return self._adopt(Link(mine, self._link_ended), process, address)

    def _adopt(self, link: Link, process: subprocess.Popen[bytes] | None, address: str | None) -> Link:
        link.process, link.address = process, address
        with self._state_lock:
            self._links.append(link)
            if process is not None:
                self._spawned += 1
            if address is not None:
                self._address = address
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
        return self._adopt(Link(sock, self._link_ended), None, None)

    def _link_ended(self, link: Link) -> None:
        """Reader thread: the writer closed our connection; unexpected unless it sent its final ack."""
        if link.final:
            return
        lost = link.counts()[4]
        if link.address is not None:
            remove_socket_dir(link.address)  # nobody should connect to a writer we lost
        with self._state_lock:
            self._deaths += 1
            self._loss_events += 1
            retry = not self._closed and self._spawned < MAX_WRITERS
        then = "a new writer is started for later records" if retry else "later records are dropped"
        self._reporter.report("writer lost", f"the writer process is gone; {lost} unconfirmed record(s) dropped, {then}")

    def _usable_link(self) -> Link | None:
        """The link to send on: the current one, or a new writer if it broke and one may start."""
        link = self._link
        if not link.broken:
            return link
        with self._state_lock:
            may_start = self._spawned < MAX_WRITERS
        if may_start:
            try:
                self._link = link = self._start_writer()
                return link
            except OSError as exc:
                with self._state_lock:
                    self._spawned = MAX_WRITERS
                self._reporter.report("writer start", f"cannot start a writer: {exc}")
        return None

    # -- the sender thread --------------------------------------------------------------

    def _start_sender(self) -> threading.Thread:
        sender = threading.Thread(target=self._run_sender, name=f"logbench-sender:{self._path}", daemon=True)
        start_quiet(sender)  # SIGTERM & co. go to the application's threads (see ``_signals``)
        return sender

    def _sender_alive(self) -> bool:
        return self._sender.is_alive()

    def _run_sender(self) -> None:
        queue, interval = self._queue, self.options.flush_interval
        while True:
            batch = queue.take(interval)
            if batch is None:
                return
            if batch:
                try:
                    self._send(batch)
                finally:
                    queue.finish(len(batch))

    def _send(self, batch: list[Record]) -> None:
        try:
            frame, fallback = pack_batch(batch, self._encoder)
        except Exception as exc:  # a batch over 4 GiB; nothing else raises here
            self._queue.count_error()
            self._count_unsent(len(batch))
            self._reporter.report("frame", f"{exc} (records dropped)")
            return
        self._fallback += fallback
        while (link := self._usable_link()) is not None:
            if link.send(frame, len(batch)):
                return
        self._count_unsent(len(batch))

    def _count_unsent(self, count: int) -> None:
        with self._state_lock:
            self._unsent += count
            self._loss_events += 1

    # -- lifecycle -------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._state_lock:
            losses = self._loss_events
        if not self._queue.wait_done(self._queue.mark(), timeout):
            return False
        with self._state_lock:
            links = [link for link in self._links if not link.ended]
        for link in links:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not link.wait_confirmed(link.snapshot_sent(), remaining):
                return False
        with self._state_lock:
            return self._loss_events == losses and not (self._link.broken and self._spawned >= MAX_WRITERS)

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._queue.close()
        if self._sender is not threading.current_thread():
            self._sender.join()
        self._queue.drop_remaining()
        with self._state_lock:
            links = list(self._links)
        for link in links:
            link.finish()
        for link in links:
            link.join()
            link.sock.close()
        self._reap(links)
        _lifecycle.untrack(self)

    def _reap(self, links: list[Link]) -> None:
        """Wait for the writers this process started, unless another process still uses one."""
        for link in links:
            if link.process is None:
                continue
            if link.final and link.others > 0 and link.process.poll() is None:
                continue  # forked children still log through it; it exits after the last of them
            reap(link.process, REAP_SECONDS)
            if link.address is not None:
                remove_socket_dir(link.address)  # normally the writer did; not if it was killed

    def _after_fork_in_child(self) -> None:
        inherited, address = self._links, self._address
        self._init_process_state()
        self._queue.reset_after_fork()
        self._base = self._queue.counters
        for link in inherited:
            link.close_in_child()
        if self._closed:
            return
        try:
            if address is None:
                raise OSError("no writer to join")
            self._link = self._connect(address)
            self._address = address
        except OSError:
            self._link = self._start_writer()
        self._sender = self._start_sender()

    def _counter_values(self) -> dict[str, int]:
        q, base = self._queue.counters, self._base
        with self._state_lock:
            links = list(self._links)
            extra = {"dropped": self._unsent, "errors": self._deaths, "writer_spawns": self._spawned}
        written = rotations = 0
        dropped, errors = extra["dropped"], extra["errors"] + self._encoder.errors
        for link in links:
            l_written, l_dropped, l_errors, l_rotations, lost = link.counts()
            written += l_written
            dropped += l_dropped + lost
            errors += l_errors
            rotations += l_rotations
        return {
            "emitted": q.emitted - base.emitted,
            "written": written,
            "dropped": q.dropped - base.dropped + dropped,
            "errors": q.errors - base.errors + errors,
            "rotations": rotations,
            "max_queue_depth": q.max_queue_depth,
            "queue_depth": self._queue.depth(),
            "in_flight": sum(link.in_flight() for link in links),
            "encoded_in_app": self._fallback,
            "writer_spawns": extra["writer_spawns"],
        }

