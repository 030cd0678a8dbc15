"""Does a cell's calibration follow the machine? Each line: one fresh process, one backend.

    python benchmarks/calibration_probe.py --processes 6 --backends sync thread-queue

Per process, the latency scenario itself (``run_latency(quick=True)``: nine repetitions per case, the
calibration writes timed between each repetition's chunks, ``scenarios._calibrate``); printed per case:
the p50 and p90 of the backend's calls, the calibration's p50 and the relative twins
(``p50_per_calibration``, ``p90_per_calibration``), each a median over the repetitions. If a twin stays
put while the p50 moves between processes, judging by the twin removes the machine's drift
(docs/regression-gate.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure_in_child(backend: str) -> str:
    sys.path.insert(0, HERE)
    from harness.discover import resolve_factory
    from scenarios.latency import run_latency

    records = run_latency(resolve_factory(backend), backend=backend, quick=True)
    line = [backend]
    for case in ("steady", "rotating", "paced"):
        value = {r.metric: r.value for r in records if r.case == case and r.status == "ok"}
        if "p50_ns" in value:
            line.append(f"{case} p50 {value['p50_ns']:,.0f} p90 {value['p90_ns']:,.0f} cal {value['calibration_ns']:,.0f}"
                        f" ns, twins {value['p50_per_calibration']:.3f} {value['p90_per_calibration']:.3f}")
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
