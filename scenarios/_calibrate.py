"""The machine's speed, measured inside a cell: a fixed piece of logging work timed beside the backend's.

Two runs of the same commit minutes apart can differ as a whole: CPU frequency, steal time on a VM,
another job, the kernel's write path. ``null`` in the same run shows the interpreter's share of that,
but not the kernel's: on this 2-core VM ``sync``'s p50 moved 1.8x between runs while ``null``'s moved
1-25% (docs/regression-gate.md). A calibration timed in the same process, in the same directory,
between the backend's own repetitions, sees what the backend's calls saw.

The work is what a synchronous logger does for a record and nothing of any backend: ``json.dumps`` of a
record-sized dict and one ``os.write`` of the line to an ``O_APPEND`` file. Its figure is the p50 of
``calls`` such writes, in ns, taken beside every repetition of a case (the latency scenario: in
blocks between the chunks of each repetition; throughput: before each repetition and after the last).

The machine does not move only between runs: on this VM a calibration sample read ~5.3 or ~9 µs
depending on the moment, and the backend's repetitions moved with it, within one case. So besides the
case's ``calibration_ns`` (the median over its samples), each judged figure gets a **relative** twin,
computed repetition by repetition: the repetition's figure divided by the calibration taken beside it
(latency: the same percentile of the writes timed between its chunks; throughput, ``around``: the
mean of the p50 samples just before and just after it), then the median over repetitions with its
interval (``relative_record``; ``relative_metric`` names it). ``compare`` excuses a timing that got
worse in ns when its relative twin did not, and lets the twin decide alone where it follows the
machine closest (harness/compare.py). The calibration itself measures the machine, so it is never
judged as a regression.
"""

from __future__ import annotations

import fcntl
import json
import os
import time

from ._results import ResultRecord
from ._stats import median_interval

__all__ = ["CALIBRATION_CALLS", "METRIC", "Calibration", "around", "calibration_record", "relative_metric",
           "relative_record"]

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
        """The p50 (nearest rank) in ns of ``calls`` timed writes: ``p50(self.times(...))``."""
        times = self.times(self.calls, interval_ns, locked=locked)
        times.sort()
        return times[(len(times) - 1) // 2]

    def times(self, calls: int, interval_ns: int = 0, *, locked: bool = False) -> list[int]:
        """ns of each of ``calls`` timed ``json.dumps`` + ``os.write`` of one line (at least one).

        ``interval_ns`` > 0: paced like the latency scenario's ``paced`` case (spinning on the clock
        until each write is due), since a call made after a pause costs more
        than one in a tight loop, and by how much moves with the machine too. ``locked``: each write
        also as a size-rotating writer shared between processes makes it (an exclusive ``flock`` on a
        lock file, a ``stat`` of the path, the write, the unlock): the syscalls a rotating case pays.
        """
        if os.fstat(self._fd).st_size > _MAX_FILE_BYTES:
            os.ftruncate(self._fd, 0)
        calls = max(calls, 1)
        lock_path = self.path + ".lock"
        lock_fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644) if locked else -1
        try:
            return self._timed(calls, interval_ns, lock_fd)
        finally:
            if lock_fd >= 0:
                os.close(lock_fd)
                os.unlink(lock_path)

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


def calibration_record(scenario: str, backend: str, case: str, samples: list[int], how: str, when: str) -> ResultRecord:
    """A case's ``calibration_ns`` record: the median of its samples with its interval. ``how``: what
    each sample timed, ``when``: when it was taken, both for the detail (e.g. "1024", "256 paced";
    "before each repetition and after the last")."""
    est = median_interval(samples)
    return ResultRecord(scenario, backend, case, METRIC, est.value, "ns", low=est.low, high=est.high,
                        samples=est.samples, detail=f"p50 of {how} json.dumps + os.write of one line, timed {when} (the machine, "
                               f"not the backend: compare judges this case's timings relative to it); "
                               f"samples {samples}")


def relative_metric(metric: str, reference: str = "calibration") -> str:
    """The name of ``metric``'s per-repetition relative twin against ``reference`` (what was timed beside
    it): ``p50_ns`` -> ``p50_per_calibration``, ``records_per_s`` -> ``records_per_calibration`` (records
    in the time of one calibration write); ``("p50_ns", "null")`` -> ``p50_per_null``."""
    stem = metric.removesuffix("_ns").removesuffix("_per_s")
    return f"{stem}_per_{reference}"


def around(samples: list[int], repetitions: int) -> list[float]:
    """Per repetition, the machine's speed beside it: the mean of the samples just before and just after.

    ``samples`` holds one sample before each repetition and one after the last (``repetitions + 1``);
    with only the ``repetitions`` samples before, the last repetition gets its own sample alone.
    """
    if len(samples) < repetitions:
        raise ValueError(f"samples: expected at least {repetitions}, got {len(samples)}")
    return [(samples[i] + samples[i + 1]) / 2 if i + 1 < len(samples) else float(samples[i])
            for i in range(repetitions)]


def relative_record(scenario: str, backend: str, case: str, metric: str, figures: list[float],
                    machine: list[float], *, over: str, per_time: bool = False,
                    reference: str = "calibration") -> ResultRecord:
    """``metric``'s relative twin: per repetition its figure over the machine's speed beside it
    (``machine``, ns, e.g. from ``around``; ``over`` says what it is, for the detail; ``per_time``: the
    figure is a rate, so multiplied by it, in calls of 1e-9 s), the median over repetitions with its
    distribution-free interval. ``reference`` names the twin (:func:`relative_metric`)."""
    if len(figures) != len(machine):
        raise ValueError(f"figures and machine: one per repetition, got {len(figures)} and {len(machine)}")
    ratios = [f * m / 1e9 if per_time else f / m for f, m in zip(figures, machine)]
    est = median_interval(ratios)
    how = "times" if per_time else "over"
    return ResultRecord(scenario, backend, case, relative_metric(metric, reference), est.value, "x", low=est.low, high=est.high,
                        samples=est.samples, detail=f"per repetition {metric} {how} {over}; median of {len(ratios)}, interval coverage "
                               f"{est.coverage:.3f} (compare: a timing is a regression only if this moved too)")
