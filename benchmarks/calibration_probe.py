"""Does a cell's calibration follow the machine? Each line: one fresh process, one backend.

    python benchmarks/calibration_probe.py --processes 6 --backends sync thread-queue

Per process and case (the latency scenario's ``steady`` loop of 2 222 calls, the same with 64 KiB
rotation, its ``paced`` loop of 555 at 10 000/s): nine repetitions, each after one calibration sample (``scenarios._calibrate``, as the
latency scenario takes it); printed: the median p50 and p90 of the backend's calls, the median
calibration p50, and their ratios. If the ratio stays put while
the p50 moves between processes, dividing by the calibration removes the machine's drift
(docs/regression-gate.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure_in_child(backend: str) -> str:
    sys.path.insert(0, HERE)
    import loggers
    from scenarios._calibrate import Calibration
    from scenarios.latency import _paced, _steady

    cases = {"steady": (lambda log: _steady(log, 2222, 0.5), 0, {}),
             "rotating": (lambda log: _steady(log, 2222, 0.5), 0, {"max_bytes": 64 * 1024, "backup_count": 2}),
             "paced": (lambda log: _paced(log, 555, 10_000.0, 0.5), 100_000, {})}
    line = [backend]
    with tempfile.TemporaryDirectory() as tmp:
        for case, (run, interval_ns, options) in cases.items():
            log = loggers.create(backend, path=os.path.join(tmp, f"{case}.log"), **options)
            p50s, p90s, machine = [], [], []
            with Calibration(tmp) as calibration:
                for _ in range(9):
                    machine.append(calibration.sample(interval_ns, locked=case == "rotating"))
                    samples = sorted(run(log))
                    p50s.append(samples[(len(samples) - 1) // 2])
                    p90s.append(samples[(len(samples) * 9 - 1) // 10])
                    log.flush()
            log.close()
            p50, p90, cal = statistics.median(p50s), statistics.median(p90s), statistics.median(machine)
            line.append(f"{case} p50 {p50:,.0f} p90 {p90:,.0f} cal {cal:,.0f} ns, ratios {p50 / cal:.3f} {p90 / cal:.3f}")
    return " | ".join(line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=6)
    parser.add_argument("--backends", nargs="+", default=["sync", "thread-queue"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(measure_in_child(args.child))
        return
    for _ in range(args.processes):
        for backend in args.backends:
            done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", backend],
                                  capture_output=True, text=True, check=True)
            print(done.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
