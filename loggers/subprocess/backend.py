"""``subprocess``: callers queue raw records; a writer *process* encodes and writes them.

Blocking: ``log()`` appends to a bounded deque (no encoding, no I/O, no lock on
the common path); ``overflow="block"`` makes the caller wait while the queue is
full and the writer is alive. A sender thread takes up to ``batch_size``
records (when that many are queued, every ``flush_interval`` seconds, or on
flush/close), ``marshal``-s them into one frame and ``sendall``-s it on a unix
stream socket; the writer process (``writer``) encodes with
``JsonLinesEncoder`` and writes through ``FileSink`` (rotation, flock). A
record ``marshal`` refuses (``datetime``, a custom object) is JSON-encoded by
the sender instead, so nothing is lost. No pickle anywhere; wire format and
trust boundary: ``wire``. Field values are captured when the
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
import threading
import time

from .. import _lifecycle
from .._base import Counters, Logger
from .._sink.encoder import JsonLinesEncoder
from .._options import COMMON_OPTIONS, PRODUCTION_OPTIONS, QUEUE_OPTIONS, Options
from .._sink import FileSink
from .._writer.handoff import HandoffQueue, Record
from .._writer.thread import ConsumerThread
from .wire import pack_batch
from .writers import MAX_WRITERS, Writers

__all__ = ["MAX_WRITERS", "SubprocessBackend"]


class SubprocessBackend(Logger):
    name = "subprocess"
    accepts = COMMON_OPTIONS | PRODUCTION_OPTIONS | QUEUE_OPTIONS | {"fsync"}
    crash_durability = "flushed"

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        FileSink.from_options(options).close()  # an unusable path fails here, not in the writer
        self._path = os.path.abspath(options.path) if options.path is not None else options.target
        self._queue = HandoffQueue(options.queue_size, options.overflow, options.batch_size)
        self._handoff = self._queue.put  # one call less per record
        self._handoff_args = self._queue.put_args  # type: ignore[method-assign]  # the writer process formats
        self._init_process_state()
        self._writers = Writers(options, self._path)
        self._writers.start()
        self._sender = ConsumerThread(
            self._queue, self._send, interval=options.flush_interval, name=f"logbench-sender:{self._path}"
        )
        _lifecycle.track(self)
        self._start_pressure()

    def _init_process_state(self) -> None:
        """State owned by this process (fresh in a forked child)."""
        self._close_lock = threading.Lock()
        self._encoder = JsonLinesEncoder()  # the sender thread's (marshal fallback)
        self._fallback = 0  # records encoded here because marshal refused them
        self._base = Counters()  # queue counters inherited over fork, subtracted in stats

    def _count_bad_call(self) -> None:
        self._queue.count_error()

    @property
    def writer_address(self) -> str | None:
        """The writer's listening socket path (what forked children connect to)."""
        return self._writers.address

    @property
    def writer_pid(self) -> int | None:
        """Pid of the writer this process started and still uses, else None."""
        process = self._writers.link.process
        return process.pid if process is not None else None

    # -- the sender thread (a ConsumerThread of the queue) -------------------------------

    def _send(self, batch: list[Record]) -> None:
        try:
            frame, fallback = pack_batch(batch, self._encoder)
        except Exception as exc:  # a batch over 4 GiB; nothing else raises here
            self._queue.count_error()
            self._writers.count_unsent(len(batch))
            self._writers.reporter.report("frame", f"{exc} (records dropped)")
            return
        self._fallback += fallback
        while (link := self._writers.usable_link()) is not None:
            if link.send(frame, len(batch)):
                return
        self._writers.count_unsent(len(batch))

    # -- lifecycle -------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        losses = self._writers.loss_events()
        if not self._sender.flush(timeout):
            return False
        return self._writers.wait_confirmed(deadline) and self._writers.intact_since(losses)

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._writers.closing = True
        self._sender.stop()
        self._writers.close()
        _lifecycle.untrack(self)

    def _after_fork_in_child(self) -> None:
        self._init_process_state()
        self._sender.restart_after_fork(running=False)
        self._base = self._queue.counters
        self._writers.after_fork_in_child(closed=self._closed)
        if self._closed:
            return
        self._sender.resume()

    def _counter_values(self) -> dict[str, int]:
        q, base = self._queue.counters, self._base
        values = self._writers.counts()
        return {
            "emitted": q.emitted - base.emitted,
            "written": values["written"],
            "dropped": q.dropped - base.dropped + values["dropped"],
            "errors": q.errors - base.errors + values["errors"] + self._encoder.errors,
            "rotations": values["rotations"],
            "max_queue_depth": q.max_queue_depth,
            "queue_depth": self._queue.depth(),
            "oldest_queued_age_ns": self._queue.oldest_age_ns(),
            "in_flight": values["in_flight"],
            "encoded_in_app": self._fallback,
            "writer_spawns": values["writer_spawns"],
        }

