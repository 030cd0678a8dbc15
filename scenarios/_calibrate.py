"""The machine's speed, measured inside a cell: a fixed piece of logging work timed beside the backend's.

Two runs of the same commit minutes apart can differ as a whole: CPU frequency, steal time on a VM,
another job, the kernel's write path. ``null`` in the same run shows the interpreter's share of that,
but not the kernel's: on this 2-core VM ``sync``'s p50 moved 1.8x between runs while ``null``'s moved
1-25% (docs/regression-gate.md). A calibration timed in the same process, in the same directory,
between the backend's own repetitions, sees what the backend's calls saw.

The work is what a synchronous logger does for a record and nothing of any backend: ``json.dumps`` of a
record-sized dict and one ``os.write`` of the line to an ``O_APPEND`` file. Its figure is the p50 of
``calls`` such writes, in ns. ``compare`` divides a cell's timings by it (harness/compare.py); the figure
itself measures the machine, so it is never judged as a regression.
"""

from __future__ import annotations

import fcntl
import json
import os
import time

from ._results import ResultRecord
from ._stats import median_interval

__all__ = ["CALIBRATION_CALLS", "METRIC", "Calibration", "calibration_record"]

#: the record metric a calibrated scenario reports per case (ns, median over repetitions with its interval)
METRIC = "calibration_ns"
#: timed writes per sample: ~1-2 ms of work here, small beside a repetition
CALIBRATION_CALLS = 256
#: the file the writes go to, in the case's directory, truncated past this size
_MAX_FILE_BYTES = 4 << 20


class Calibration:
    """``with Calibration(directory) as cal: cal.sample()`` -> p50 ns of one encode + write.

    Each ``sample()`` times ``calls`` writes (one ``perf_counter_ns`` pair each) into
    ``directory/calibration.log``; the file is removed on exit.
    """

    def __init__(self, directory: str, calls: int = CALIBRATION_CALLS) -> None:
        if calls < 1:
            raise ValueError(f"calls: expected at least 1, got {calls!r}")
        self.path = os.path.join(directory, "calibration.log")
        self.calls = calls
        self._fd = -1

    def __enter__(self) -> Calibration:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)
        self._fd = -1
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def sample(self, interval_ns: int = 0, *, locked: bool = False) -> int:
        """The p50 (nearest rank) in ns of ``calls`` timed ``json.dumps`` + ``os.write`` of one line.

        ``interval_ns`` > 0: paced like the latency scenario's ``paced`` case (spinning on the clock
        until each write is due, ``calls // 4`` writes), since a call made after a pause costs more
        than one in a tight loop, and by how much moves with the machine too. ``locked``: each write
        also as a size-rotating writer shared between processes makes it (an exclusive ``flock`` on a
        lock file, a ``stat`` of the path, the write, the unlock): the syscalls a rotating case pays.
        """
        if os.fstat(self._fd).st_size > _MAX_FILE_BYTES:
            os.ftruncate(self._fd, 0)
        calls = max(self.calls // 4, 1) if interval_ns > 0 else self.calls
        lock_path = self.path + ".lock"
        lock_fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644) if locked else -1
        try:
            times = self._timed(calls, interval_ns, lock_fd)
        finally:
            if lock_fd >= 0:
                os.close(lock_fd)
                os.unlink(lock_path)
        times.sort()
        return times[(len(times) - 1) // 2]

    def _timed(self, calls: int, interval_ns: int, lock_fd: int) -> list[int]:
        """ns of each of ``calls`` writes (``lock_fd`` >= 0: each under its flock, with a stat)."""
        fd, path, now, dumps, write, stat, flock = (
            self._fd, self.path, time.perf_counter_ns, json.dumps, os.write, os.stat, fcntl.flock)
        times = []
        due = now()
        for seq in range(calls):
            if interval_ns > 0:
                due += interval_ns
                while now() < due:
                    pass
            t0 = now()
            if lock_fd >= 0:
                flock(lock_fd, fcntl.LOCK_EX)
                stat(path)
            record = {"ts": 1764547200.123456, "level": "info", "msg": "request handled", "seq": seq,
                      "user": 42, "path": "/api/orders", "status": 200}
            write(fd, (dumps(record) + "\n").encode())
            if lock_fd >= 0:
                flock(lock_fd, fcntl.LOCK_UN)
            times.append(now() - t0)
        return times


def calibration_record(scenario: str, backend: str, case: str, samples: list[int], how: str) -> ResultRecord:
    """A case's ``calibration_ns`` record: the p50 per repetition (``samples``), median and interval.
    ``how``: what each sample timed, for the detail (e.g. "256", "64 paced")."""
    est = median_interval(samples)
    return ResultRecord(scenario, backend, case, METRIC, est.value, "ns", low=est.low, high=est.high,
                        detail=f"p50 of {how} json.dumps + os.write of one line, timed before each of the "
                               f"{len(samples)} repetitions (the machine, not the backend: compare judges this "
                               f"case's timings relative to it); per repetition {samples}")
