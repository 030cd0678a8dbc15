"""Does a cell's calibration follow the machine? Each line: one fresh process, one backend.

    python benchmarks/calibration_probe.py --processes 6 --backends sync thread-queue

Per process and case (the latency scenario's ``steady`` loop of 2 222 calls, its ``paced`` loop of 555
at 10 000/s): nine repetitions, each after one calibration sample (``scenarios._calibrate``, as the
latency scenario takes it); printed: the median p50 of the backend's calls, the median calibration
p50, and their ratio. If the ratio stays put while
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

    cases = {"steady": (lambda log: _steady(log, 2222, 0.5), 0),
             "paced": (lambda log: _paced(log, 555, 10_000.0, 0.5), 100_000)}
    line = [backend]
    with tempfile.TemporaryDirectory() as tmp:
        for case, (run, interval_ns) in cases.items():
            log = loggers.create(backend, path=os.path.join(tmp, f"{case}.log"))
            calls, machine = [], []
            with Calibration(tmp) as calibration:
                for _ in range(9):
                    machine.append(calibration.sample(interval_ns))
                    samples = sorted(run(log))
                    calls.append(samples[(len(samples) - 1) // 2])
                    log.flush()
            log.close()
            p50, cal = statistics.median(calls), statistics.median(machine)
            line.append(f"{case} p50 {p50:,.0f} ns, calibration {cal:,.0f} ns, ratio {p50 / cal:.3f}")
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
