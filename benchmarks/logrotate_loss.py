"""What Debian's logrotate does to a live logger, per writing backend: ``create`` vs ``copytruncate``.

    flock /tmp/logbench-heavy.lock python benchmarks/logrotate_loss.py [--rotations 100] [--rate 5000]

For each writing reference backend and mode, one logger logs ``--rate`` records/s
from a thread while ``logrotate -f`` runs ``--rotations`` times, ``--interval`` s
apart (``scenarios._logrotate.rotate_live``). Prints per run: records logged,
lost (and in how many runs of consecutive records, the largest run), duplicated,
torn, and the loss per rotation. Not a scenario of the matrix: it needs the
``logrotate`` program (``apt-get install -y logrotate``), which the matrix does not.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import loggers  # noqa: E402
from scenarios._logrotate import MODES, RotateOutcome, logrotate_binary, rotate_live  # noqa: E402


def format_row(backend: str, outcome: RotateOutcome) -> str:
    gaps = sorted(outcome.gaps)
    per_rotation = outcome.lost / outcome.rotations if outcome.rotations else float("nan")
    return (f"{backend:<13} {outcome.mode:<12} {outcome.rotations:>5} {outcome.logged:>8} {outcome.lost:>6} "
            f"{len(gaps):>5} {statistics.median(gaps) if gaps else 0:>6g} {gaps[-1] if gaps else 0:>5} "
            f"{per_rotation:>8.2f} {outcome.duplicated:>4} {outcome.torn:>4} {len(outcome.failures):>5}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rotations", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between logrotate runs")
    parser.add_argument("--rate", type=float, default=5000.0, help="records/s logged meanwhile")
    parser.add_argument("--backends", default=",".join(n for n in loggers.BACKENDS if loggers.backend_class(n).writes_file))
    args = parser.parse_args()
    binary = logrotate_binary()
    if binary is None:
        print("logrotate is not installed (apt-get install -y logrotate)", file=sys.stderr)
        return 2
    print(f"logrotate {binary}; {args.rotations} forced rotations {args.interval:g} s apart; {args.rate:g} records/s")
    print(f"{'backend':<13} {'mode':<12} {'rot.':>5} {'logged':>8} {'lost':>6} {'gaps':>5} {'gap50':>6} "
          f"{'gapmx':>5} {'lost/rot':>8} {'dup':>4} {'torn':>4} {'fail':>5}")
    for backend in args.backends.split(","):
        for mode in MODES:
            with tempfile.TemporaryDirectory(prefix="logbench-logrotate-") as directory:
                outcome = rotate_live(functools.partial(loggers.create, backend), directory, mode,
                                      rotations=args.rotations, interval_s=args.interval, rate=args.rate, binary=binary)
            print(format_row(backend, outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
