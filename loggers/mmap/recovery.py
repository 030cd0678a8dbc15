"""The application's side of the ``mmap`` journal's life: own one, recover orphans, start the writer.

A journal no live process holds (its ``flock`` is free) is an orphan: both its
application and its writer died. :func:`own_journal` writes the records such
journals still hold (exactly once, through :class:`Drainer`) before the new
logger uses one of them.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import TYPE_CHECKING

from .._sink import FileSink
from .._writer import process as _process
from . import journal as jr
from .drain import Drainer

if TYPE_CHECKING:
    import subprocess

    from .._options import Options


def own_journal(options: Options) -> tuple[jr.Journal, int]:
    """Recover every orphaned journal of ``options.path``, then own one (creating it).

    Returns the journal and how many left-over records recovery wrote. A journal
    another live logger (or its still-draining writer) holds is left alone.
    """
    directory, prefix = jr.journal_names(options.path or "") if options.stream is None else _stream_journal_names(options.stream)
    ours, recovered = None, 0
    for entry in sorted(os.listdir(directory)):
        if entry.startswith(prefix):
            journal = jr.Journal.try_own(os.path.join(directory, entry))
            if journal is None:
                continue
            recovered += drain_in_process(journal, options)
            if ours is None:
                ours = journal
            else:
                journal.release(unlink=True)
    index = 0
    while ours is None:
        ours = jr.Journal.try_own(os.path.join(directory, prefix + (f".{index}" if index else "")))
        index += 1
    return ours, recovered + drain_in_process(ours, options)


def _stream_journal_names(stream: str) -> tuple[str, str]:
    """(directory, prefix) of a journal for a stream: private to this process (pid and a clock
    reading), so no other logger ever recovers it: another process's stdout is not ours to write."""
    directory = os.path.join(tempfile.gettempdir(), f"logbench-{os.getuid()}")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return directory, f".{stream}-{os.getpid()}-{time.time_ns()}{jr.SUFFIX}"


def spawn_writer(journal: jr.Journal, options: Options) -> tuple[subprocess.Popen[bytes], int, int]:
    """Start the writer process (``loggers._writer.process``: same interpreter, ``loggers`` importable).

    It inherits the journal, the read end of a *wake* pipe and the write end of
    an *ack* pipe. Returns it, the wake pipe's write end (closing it tells the
    writer to drain and exit) and the ack pipe's read end (a byte: a flush may be done).
    """
    wake_r, wake_w = os.pipe()
    ack_r, ack_w = os.pipe()
    for fd in (wake_w, ack_r, ack_w):
        os.set_blocking(fd, False)
    args = [
        str(journal.fd), journal.name, str(wake_r), str(ack_w), os.path.abspath(options.path) if options.path else "",
        str(options.max_bytes or 0), str(options.backup_count), "1" if options.fsync else "0",
        str(options.batch_size), repr(options.flush_interval), options.stream or "",  # fd 1 and 2 are inherited
    ]
    try:
        proc = _process.spawn_writer("loggers.mmap.writer", args, pass_fds=(journal.fd, wake_r, ack_w))
    except BaseException:
        os.close(wake_w)
        os.close(ack_r)
        raise
    finally:
        os.close(wake_r)
        os.close(ack_w)
    return proc, wake_w, ack_r


def drain_in_process(journal: jr.Journal, options: Options) -> int:
    """Write what ``journal`` still holds (exactly once) with a sink of our own; return how many."""
    q = journal.q
    if q[jr.S_MAGIC] != jr.MAGIC or not (journal.has_pending() or q[jr.INTENT_END] > q[jr.TAIL]):
        return 0
    sink = FileSink.from_options(options)
    try:
        Drainer(journal, sink, batch_size=options.batch_size, publishes=False, fsync=options.fsync).drain_all(None)
        return sink.written
    finally:
        sink.close()
