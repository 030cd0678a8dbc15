"""What rotation's locking costs per batch: ``FileSink.write_many`` with and without ``max_bytes``.

    python benchmarks/lock_cost.py [--rounds 15] [--batches 2000] [--batch-sizes 1,64]

"raw": ``os.write`` of the joined batch on an ``O_APPEND`` descriptor, no sink.
A ("plain"): ``max_bytes=None`` — the identity ``stat`` of the path, then the
write. B ("locked"): ``max_bytes`` so large the file never rotates — ``flock``
on ``<path>.lock``, the same ``stat`` (which also gives the size), the write,
unlock. The rounds interleave the three (order rotating) on fresh files, so
drift and noise from other processes hit all; the script prints per-batch
medians and the paired differences A - raw and B - A (median and interquartile
range over rounds). Not a pyperf benchmark on purpose: it isolates the sink.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

from loggers import FileSink  # noqa: E402

RECORD = b'{"ts":"2026-01-01T00:00:00.000000Z","level":"INFO","msg":"' + b"x" * 40 + b'","n":1}\n'
NEVER = 1 << 62


def seconds_raw(directory: str, batch: list[bytes], batches: int) -> float:
    """Mean nanoseconds per bare ``os.write`` of the joined ``batch`` on a fresh file."""
    path = fresh_path(directory)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    start = time.perf_counter_ns()
    for _ in range(batches):
        os.write(fd, b"".join(batch))
    elapsed = time.perf_counter_ns() - start
    os.close(fd)
    return elapsed / batches


def fresh_path(directory: str) -> str:
    path = os.path.join(directory, "app.log")
    for name in (path, path + ".lock"):
        if os.path.exists(name):
            os.unlink(name)
    return path


def seconds_batches(directory: str, max_bytes: int | None, batch: list[bytes], batches: int) -> float:
    """Mean nanoseconds per ``write_many`` of ``batch`` on a fresh file."""
    path = fresh_path(directory)
    sink = FileSink(path, max_bytes=max_bytes, backup_count=1)
    write_many, lock = sink.write_many, sink.lock
    start = time.perf_counter_ns()
    for _ in range(batches):
        with lock:
            write_many(batch)
    elapsed = time.perf_counter_ns() - start
    sink.close()
    assert sink.written == batches * len(batch) and sink.errors == 0
    return elapsed / batches


def spread(label: str, base: list[float], other: list[float], size: int) -> str:
    """Median and interquartile range of the paired per-round differences, in us per batch."""
    q1, q2, q3 = statistics.quantiles([b - a for a, b in zip(base, other)], n=4, method="inclusive")
    return f"{label} {q2 / 1000:.2f} us/batch (IQR {q1 / 1000:.2f}..{q3 / 1000:.2f}), {q2 / size / 1000:.3f} us/record"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--batch-sizes", default="1,64")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for size in (int(s) for s in args.batch_sizes.split(",")):
            batch = [RECORD] * size
            seconds_batches(directory, None, batch, args.batches // 4)  # warm up
            raw: list[float] = []
            plain: list[float] = []
            locked: list[float] = []
            runs = [
                lambda: raw.append(seconds_raw(directory, batch, args.batches)),
                lambda: plain.append(seconds_batches(directory, None, batch, args.batches)),
                lambda: locked.append(seconds_batches(directory, NEVER, batch, args.batches)),
            ]
            for round_ in range(args.rounds):
                for i in range(3):
                    runs[(i + round_) % 3]()
            print(
                f"batch={size:3d}: raw {statistics.median(raw) / 1000:6.2f}, plain {statistics.median(plain) / 1000:6.2f},"
                f" locked {statistics.median(locked) / 1000:6.2f} us/batch; "
                f"{spread('identity check (plain-raw)', raw, plain, size)}; {spread('flock (locked-plain)', plain, locked, size)}"
            )


if __name__ == "__main__":
    main()
