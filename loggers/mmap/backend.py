"""``mmap``: records go into a shared, file-backed memory map; a writer process drains it.

Hand-off: the caller ``marshal``-s ``(ts_ns, level, msg, fields)`` (a record
marshal refuses is encoded to its JSON line instead), copies it into the
journal ring (``loggers.mmap.journal``) and commits it with one aligned 8-byte
store; no system call in the common case. The moment that store is done the
record is in the kernel's page cache: a SIGKILL of the application loses no
record whose call returned (``crash_durability = "returned"``). A writer
process (``loggers.mmap.drain``) encodes and writes them through the usual
:class:`FileSink` in batches of up to ``batch_size`` (it looks every 1 ms
while records flow, every ``flush_interval`` when idle, and is woken by a
pipe byte when ``batch_size`` records wait: one syscall per such batch).

Blocking: only a full ring (``queue_size`` records, or its ``queue_size*128``
bytes) makes a call wait (``overflow="block"``; after ``STALL_TAKEOVER`` the
caller also drains batches itself, so a stopped writer never blocks it for
good) or drop (``drop_new``: the new record; ``drop_old``: the oldest records
not yet written, or the new one while a batch is being written). A record
longer than half the ring is written by the caller itself, like ``sync``, once
the writer has written everything before it (``block``: waits as long as that
takes; other policies: up to 1 s, then it is dropped).
Thread-safe (one lock around the copy). ``max_queue_depth`` is sampled when
the ring's cached limit is refreshed (within every ``batch_size`` records, and
exactly when the ring is full).
Re-entrancy: a call made while the same thread is already inside a hand-off
or waiting for room (a signal handler that logs, a ``__repr__`` that logs
while its record is encoded) never waits, deadlocks or recurses: its record is
deferred and committed right after the outer call's own (``Ring.defer``; past
``MAX_REENTRANT`` deferred records it is dropped and counted); a ``close()``
made that way runs once the outer call returns. ``flush`` waits until the writer runs
and its tail passes the caller's head (the writer answers on a pipe);
``close`` drains, stops and reaps the writer (``waitpid``; after
``CLOSE_TIMEOUT`` it kills it and drains the journal itself).

Exits: ``close`` at interpreter exit (atexit). SIGTERM/SIGKILL of the
application: the writer sees its pipe close, drains every committed record and
exits. Writer death while the application runs: noticed on the next
``flush``/full ring/``close``; the application drains the journal itself,
reports once on stderr and starts a new writer. Both killed: the next logger
opened on the same path writes the left-over records first, exactly once
(``recovered`` in its stats). With ``stream=`` the journal lives in a private
``$TMPDIR/logbench-<uid>/`` under a per-process name and is never recovered by
another process (another program's stdout is not ours): the writer, holding
the same descriptor, still drains it when the application dies. Fork: the child lets go of the parent's journal
and writer; its first call starts its own (its stats start from zero).
"""

from __future__ import annotations

import os
import select
import subprocess
import threading
import time

from .. import _lifecycle
from .._base import Counters, ErrorReporter, Logger
from .._sink.encoder import JsonLinesEncoder
from .._options import COMMON_OPTIONS, PRODUCTION_OPTIONS, QUEUE_OPTIONS, Options
from .._sink import FileSink
from . import journal as jr
from .drain import Drainer
from .recovery import own_journal, spawn_writer
from .ring import Ring, ring_bytes_for

FLUSH_POLL = 0.01  # a flush re-checks at least this often (missed ack, dead writer, timeout)
CLOSE_TIMEOUT = 10.0  # seconds close() waits for the writer before killing it and draining itself
_TAIL = jr.TAIL
__all__ = ["MmapBackend", "ring_bytes_for"]


class MmapBackend(Logger):
    name = "mmap"
    accepts = COMMON_OPTIONS | PRODUCTION_OPTIONS | QUEUE_OPTIONS | {"fsync"}
    crash_durability = "returned"

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        # Re-entrant, so a call made inside a hand-off of the same thread (a signal handler that logs)
        # gets in and is deferred (``Ring.defer``) instead of deadlocking.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)  # overflow="block" waits on it
        self._counters = Counters()
        self._encoder = JsonLinesEncoder()  # only for records marshal refuses; used under _lock
        self._reporter = ErrorReporter(options.target)
        self._off = False  # closed, or the child of a fork: calls are dropped
        self._final: list[int] | None = None
        self._restart_in_child = False
        self._start()
        _lifecycle.track(self)
        self._start_pressure()

    def _start(self) -> None:
        """Own a journal (recovering orphans), start the writer. Raises OSError."""
        opts = self.options
        # Our own sink, opened now so an unusable path fails here: the application writes through
        # it itself for an oversize record, a stalled writer under "block", or a dead writer.
        self._sink = FileSink.from_options(opts)
        self._sink_inherited = False  # True in a fork child until it opens its own
        try:
            self._journal, self._recovered = own_journal(opts)
        except BaseException:
            self._sink.close()
            raise
        try:
            self._start_writer()
        except BaseException:
            self._sink.close()
            self._journal.release(unlink=True)
            raise

    def _start_writer(self) -> None:
        opts = self.options
        self._journal.reset(ring_bytes_for(opts.queue_size))
        self._drainer = Drainer(self._journal, self._sink, batch_size=opts.batch_size, publishes=False, fsync=opts.fsync)
        self._q = self._journal.q
        self._ring = Ring(
            self._journal, queue_size=opts.queue_size, overflow=opts.overflow, batch_size=opts.batch_size,
            lock=self._lock, cond=self._cond, counters=self._counters, encoder=self._encoder, sink=self._sink,
            drainer=self._drainer, wake=self._wake, writer_running=self._writer_running, admit=self._admit,
            close=self.close,
        )
        self._handoff = self._ring.handoff  # the hot path is the ring's (one call less per record)
        self._handoff_args = self._ring.handoff  # type: ignore[method-assign]  # the writer process formats
        self._seq_base = 0  # the ring's records before a fork (the parent's)
        self._wake_w = self._ack_r = -1
        self._proc = self._spawn()

    # -- the caller's side ----------------------------------------------------------

    def _admit(self) -> Ring | None:
        """Under ``_lock``, the ring is stopped: the ring that takes a record now (a forked child's own,
        started by its first call), or None (the record is dropped: closed, or no writer)."""
        if self._off and self._restarted_in_child():
            return self._ring
        return None

    def _close_wake(self) -> None:
        """Close our pipe ends (the writer sees EOF); -1 so a recycled fd number is never used."""
        for fd in (self._wake_w, self._ack_r):
            _close_fd(fd)
        self._wake_w = self._ack_r = -1

    def _wake(self) -> None:
        """Under ``_lock``: one byte on the pipe wakes the writer before ``flush_interval`` ends."""
        if self._wake_w < 0:
            return
        try:
            os.write(self._wake_w, b"w")
        except OSError:  # pipe full (the writer will look anyway) or writer gone (noticed elsewhere)
            pass

    def _count_bad_call(self) -> None:
        with self._lock:
            self._counters.errors += 1

    # -- flush, close, stats ------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the writer runs and has written every record committed before the call.

        Event-driven: ``FLUSH_WANTED`` is raised to our head and the writer is woken; it
        answers on the ack pipe once its tail passes it (we read a private ``dup``, so a
        concurrent ``close`` never makes us read a recycled descriptor).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            if self._off:
                return self._restart_in_child or self._closed  # a fresh child logger has nothing to flush
            target = self._ring.head
        ack = -1
        try:
            while True:
                with self._lock:
                    if self._off:
                        return self._closed
                    q = self._q
                    if q[_TAIL] >= target and q[jr.W_READY]:  # also: the writer is up and running
                        return True
                    if self._proc.poll() is not None:
                        self._replace_dead_writer()
                        continue
                    q[jr.FLUSH_WANTED] = max(q[jr.FLUSH_WANTED], target)
                    if ack < 0:
                        ack = os.dup(self._ack_r)
                    self._wake()
                wait = FLUSH_POLL if deadline is None else min(FLUSH_POLL, deadline - time.monotonic())
                if wait <= 0:
                    return False
                if select.select([ack], [], [], wait)[0]:
                    try:
                        if not os.read(ack, 4096):  # EOF: that writer is gone; dup its successor's pipe
                            ack = _close_fd(ack)
                    except OSError:
                        pass
        finally:
            _close_fd(ack)

    def close(self) -> None:
        """Drain everything, stop the writer and reap it (``waitpid``); idempotent.

        Called inside a hand-off of the same thread (a signal handler), it runs once that returns.
        """
        with self._lock:
            if self._closed:
                return
            if self._ring.reentered():
                self._ring.pending.append(None)  # the outer call runs it (Ring.put_pending)
                return
            if self._ring.pending and not self._off:
                self._ring.put_pending()  # deferred records whose outer call an exception ended
                if self._closed:
                    return
            self._closed = True
            _lifecycle.untrack(self)
            if self._off:  # forked child that never logged: nothing of ours to drain
                return
            self._stop()
            self._close_wake()
            try:
                self._proc.wait(timeout=CLOSE_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._drain_here()
            self._final = jr.writer_counters(self._q)
            self._q = None  # type: ignore[assignment]
            self._journal.release(unlink=True)
            with self._sink.lock:
                self._sink.close()

    def _counter_values(self) -> dict[str, int]:
        with self._lock:
            values = self._counters.as_dict()
            ring = self._ring
            values["emitted"] += ring.seq - self._seq_base + ring.pending_records()  # the fast path counts nothing
            values["max_queue_depth"] = ring.max_depth
            written, dropped, errors, rotations = self._final or jr.writer_counters(self._q)
            own = self._own_sink_counts()
            values["written"] = written + own[0]
            values["dropped"] += dropped + own[1]
            values["errors"] += errors + own[2] + self._encoder.errors + self._drainer.encoder.errors
            values["rotations"] = rotations + own[3]
            values["recovered"] = self._recovered
            values["queue_depth"], values["oldest_queued_age_ns"] = self._queued_now()
            return values

    def _queued_now(self) -> tuple[int, int]:
        """Under ``_lock``: (records committed and not yet written, ns since the oldest of them was logged)."""
        q = self._q
        if q is None or self._off:
            return 0, 0
        depth = self._ring.seq - q[jr.TAIL_SEQ]
        if depth <= 0:
            return 0, 0
        ts_ns = jr.oldest_ts_ns(self._journal, q[jr.TAIL], self._ring.head)
        return depth, (max(0, time.time_ns() - ts_ns) if ts_ns else 0)

    def _own_sink_counts(self) -> tuple[int, int, int, int]:
        """Under ``_lock``: written, dropped, errors, rotations of our own sink (none yet in a fresh fork child)."""
        if self._sink_inherited:
            return 0, 0, 0, 0
        own = self._sink
        return own.written, own.dropped, own.errors, own.rotations

    # -- journal ownership, the writer process ------------------------------------------

    def _drain_here(self) -> None:
        """Under ``_lock`` with no writer running: write what the journal still holds."""
        q = self._q
        if q[jr.INTENT_END] > q[jr.TAIL] or self._journal.has_pending():
            self._drainer.drain_all(None)

    def _replace_dead_writer(self) -> None:
        """Under ``_lock``: the writer died while we run. Drain ourselves, report, restart it."""
        self._counters.errors += 1
        self._reporter.report("writer-died", f"writer process exited with {self._proc.returncode}; restarting it")
        self._close_wake()
        self._drain_here()
        try:
            self._proc = self._spawn()
        except OSError as exc:
            self._reporter.report("writer-spawn", f"cannot restart the writer: {exc} (later records dropped)")
            self._stop()

    def _writer_running(self) -> bool:
        """Under ``_lock``: False if the writer has exited (it is then drained and replaced, or we stop)."""
        if self._proc.poll() is None:
            return True
        self._replace_dead_writer()
        return False

    def _stop(self) -> None:
        """Under ``_lock``: later calls are dropped; a caller waiting for room gives up."""
        self._off = True
        self._ring.stop()

    def _spawn(self) -> subprocess.Popen[bytes]:
        self._q[jr.W_READY] = 0
        proc, self._wake_w, self._ack_r = spawn_writer(self._journal, self.options)
        return proc

    def _after_fork_in_child(self) -> None:
        """In a forked child: let go of the parent's journal, pipes and writer (the parent's
        records are the parent's); the child's first call starts its own journal and writer."""
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._ring.forget_threads_after_fork(self._lock, self._cond)  # a parent thread inside a hand-off is not ours
        self._seq_base = self._ring.seq
        if self._off:
            return
        self._stop()
        self._restart_in_child = True
        self._close_wake()
        self._q = None  # type: ignore[assignment]
        self._journal.release(unlink=False)
        self._sink.close()  # the child's copies of the descriptors only
        self._counters, self._recovered, self._final = Counters(), 0, [0, 0, 0, 0]
        self._ring.counters = self._counters  # the child's first call counts into them
        self._sink_inherited = True

    def _restarted_in_child(self) -> bool:
        """Under ``_lock``: start this forked child's own journal and writer on first use."""
        if not self._restart_in_child or self._closed:
            return False
        self._restart_in_child = False
        try:
            self._start()
        except OSError as exc:
            self._reporter.report("fork-restart", f"cannot start a journal in the forked child: {exc}")
            return False
        self._off, self._final = False, None
        return True


def _close_fd(fd: int) -> int:
    """Close ``fd`` if open; return -1 (the "no descriptor" value)."""
    if fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass
    return -1

