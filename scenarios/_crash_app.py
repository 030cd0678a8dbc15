"""The application the crash scenario kills: ``python -m scenarios._crash_app SPEC``.

A real interpreter (not a multiprocessing child) so that a normal end, an
unhandled exception, ``sys.exit`` and signals behave exactly as in a program.

``SPEC`` is a pickle of :class:`AppSpec`. Progress goes to a small file shared
with the parent through ``mmap`` (``MAP_SHARED``: stores survive the process's
death, no system call per record). Slots (int64): ``RETURNED`` the highest
``seq`` whose logging call returned, ``FLUSHED`` the highest ``seq`` covered
by a ``flush()`` that returned True, ``STARTED`` set once the logger exists,
``GO`` set by the parent once it noted the logger's processes. Every value is
stored *after* the call it reports returned, so a kill can only make the
parent under-count what was promised, never over-count it.
"""

from __future__ import annotations

import dataclasses
import mmap
import os
import pickle
import signal
import sys
import time
from typing import Any

RETURNED, FLUSHED, STARTED, GO = range(4)
SLOTS = 4
PAYLOAD = "y" * 48
_KEEP: list[Any] = []


@dataclasses.dataclass(frozen=True)
class AppSpec:
    """What the app does. ``mode``: paced, burst, sigterm (paced until signalled), sigterm_graceful (the same
    with ``loggers.drain_on_signals(signal.SIGTERM)`` installed first), normal, exception, sys_exit."""

    factory: Any
    log_path: str
    progress_path: str
    mode: str
    rate: float = 5000.0
    burst_len: int = 2000
    burst_pause_s: float = 0.01
    flush_every: int = 500
    records: int = 2000
    max_s: float = 60.0


def create_progress(path: str) -> None:
    """Create the zeroed progress file, with ``RETURNED``/``FLUSHED`` at -1."""
    with open(path, "wb") as file:
        for slot in range(SLOTS):
            file.write((-1 if slot in (RETURNED, FLUSHED) else 0).to_bytes(8, sys.byteorder, signed=True))


def open_progress(path: str) -> memoryview:
    """The progress slots as a writable int64 view (the mapping stays open for the process's life)."""
    fd = os.open(path, os.O_RDWR)
    mapping = mmap.mmap(fd, SLOTS * 8)
    os.close(fd)
    return memoryview(mapping).cast("q")


def main(spec_path: str) -> None:
    with open(spec_path, "rb") as file:
        spec: AppSpec = pickle.load(file)
    progress = open_progress(spec.progress_path)
    logger = spec.factory(path=spec.log_path)
    _KEEP.append(logger)  # like a module-level logger: alive until interpreter exit
    progress[STARTED] = 1
    deadline = time.monotonic() + 30.0
    while progress[GO] == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    if spec.mode == "sigterm_graceful":
        import loggers

        loggers.drain_on_signals(signal.SIGTERM)
    if spec.mode in ("paced", "sigterm", "sigterm_graceful"):
        _paced(logger, spec, progress)
    elif spec.mode == "burst":
        _bursts(logger, spec, progress)
    else:
        _log_and_end(logger, spec, progress)


def _paced(logger: Any, spec: AppSpec, progress: memoryview) -> None:
    """One record every ``1/rate`` seconds, a flush every ``flush_every``, until killed."""
    start = time.perf_counter()
    seq = 0
    while time.perf_counter() - start < spec.max_s:
        logger.info("paced record", writer=0, seq=seq, payload=PAYLOAD)
        progress[RETURNED] = seq
        if (seq + 1) % spec.flush_every == 0 and logger.flush(timeout=1.0):
            progress[FLUSHED] = seq
        seq += 1
        ahead = start + seq / spec.rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
    time.sleep(spec.max_s)  # never end on our own: only the parent ends a kill trial


def _bursts(logger: Any, spec: AppSpec, progress: memoryview) -> None:
    """``burst_len`` records as fast as possible, then a pause (a flush after every second burst); until killed."""
    start = time.perf_counter()
    seq = 0
    bursts = 0
    while time.perf_counter() - start < spec.max_s:
        for _ in range(spec.burst_len):
            logger.info("burst record", writer=0, seq=seq, payload=PAYLOAD)
            progress[RETURNED] = seq
            seq += 1
        bursts += 1
        if bursts % 2 == 0 and logger.flush(timeout=1.0):
            progress[FLUSHED] = seq - 1
        time.sleep(spec.burst_pause_s)
    time.sleep(spec.max_s)


def _log_and_end(logger: Any, spec: AppSpec, progress: memoryview) -> None:
    """Log ``records`` without flush or close, then end the way ``mode`` says."""
    for seq in range(spec.records):
        logger.info("exit record", writer=0, seq=seq, payload=PAYLOAD)
        progress[RETURNED] = seq
    if spec.mode == "exception":
        raise RuntimeError("logbench crash scenario: planted unhandled exception")
    if spec.mode == "sys_exit":
        sys.exit(3)
    # "normal": fall off the end of the program


if __name__ == "__main__":
    main(sys.argv[1])
