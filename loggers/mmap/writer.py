"""The ``mmap`` backend's writer process.

Started by ``MmapBackend`` with the journal, the
read end of a *wake* pipe and the write end of an *ack* pipe inherited. It
drains in batches of up to ``batch_size``; while records keep coming it looks
again every millisecond (so encoding runs alongside the application and a
flush finds little left), when idle it sleeps up to ``flush_interval``; a byte
on the wake pipe (``batch_size`` records waiting, a flush) wakes it, and it
answers a flush on the ack pipe once ``TAIL`` passes ``FLUSH_WANTED``. It follows
the header words' tags (a committed record's tag matches its position), not
``HEAD``, which the application publishes only now and then. When the wake
pipe reports EOF (the application closed it or died, SIGKILL included) it
drains every committed record and exits. SIGINT is ignored (Ctrl-C goes
to the application, which then closes us); SIGTERM means drain and exit.
"""

from __future__ import annotations

import os
import select
import signal
import sys

from .._options import Options
from .._sink import FileSink
from . import journal as jr
from .drain import Drainer

BUSY_POLL_SECONDS = 0.001


def main(argv: list[str]) -> None:
    """Writer process entry: ``journal_fd journal_name wake_fd ack_fd path max_bytes
    backup_count fsync batch_size flush_interval [stream]`` (``path`` empty with a stream)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    jfd, name, wake_fd, ack_fd, path = int(argv[0]), argv[1], int(argv[2]), int(argv[3]), argv[4]
    max_bytes = int(argv[5]) or None
    backup_count, fsync, batch_size = int(argv[6]), argv[7] == "1", int(argv[8])
    flush_interval = float(argv[9])
    stream = argv[10] if len(argv) > 10 and argv[10] else None  # fd 1 or 2, inherited from the application
    journal = jr.Journal(jfd, name)
    options = Options(path=path or None, max_bytes=max_bytes, backup_count=backup_count, fsync=fsync, stream=stream)
    sink = FileSink.from_options(options)
    drainer = Drainer(journal, sink, batch_size=batch_size, publishes=True, fsync=fsync)
    q, parent = journal.q, os.getppid()
    app_alive, acked = True, 0
    q[jr.W_READY] = os.getpid()
    _poke(ack_fd)  # a flush waiting for us to start
    busy_poll = min(BUSY_POLL_SECONDS, flush_interval)
    while True:
        taken = drainer.drain_once(None)
        wanted = q[jr.FLUSH_WANTED]
        if wanted > acked and q[jr.TAIL] >= wanted:
            acked = wanted
            _poke(ack_fd)
        if taken >= batch_size or (taken and not app_alive):
            continue  # a full batch: more are likely waiting
        if not app_alive:
            break
        # Caught up. While records flow, look again after ``busy_poll`` (encode alongside the
        # application, in batches; a flush then finds little left); when idle, sleep up to
        # ``flush_interval``. A byte on the wake pipe (``batch_size`` waiting, a flush, EOF) wakes us.
        q[jr.W_SLEEPING] = 1
        ready, _, _ = select.select([wake_fd], [], [], busy_poll if taken else flush_interval)
        q[jr.W_SLEEPING] = 0
        if ready and not os.read(wake_fd, 65536):
            app_alive = False
        if stop or os.getppid() != parent:
            app_alive = False
    drainer.publish()
    sink.close()
    sys.exit(0)


def _poke(fd: int) -> None:
    try:
        os.write(fd, b"a")
    except OSError:  # full (the flusher will look anyway) or the application is gone
        pass
