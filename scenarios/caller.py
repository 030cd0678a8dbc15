"""Caller cost on pyperf: ns per logging call, per record shape, as pyperf measures it.

For one backend, :func:`run_caller` runs ``scenarios/_caller_bench.py`` under
``pyperf.Runner`` in a subprocess (pyperf re-launches its script for calibration
and worker processes, so it cannot run in this process or under pytest), loads
the suite it wrote with ``pyperf.BenchmarkSuite.load`` and turns each benchmark
(one per record shape of :mod:`scenarios._records`, plus pyperformance's bm_logging
workloads through stdlib ``logging``: case ``stdlib=<workload>,front=<front>``, see
:func:`stdlib_shapes`) into a ``ns_per_call`` record: the median of pyperf's values with its distribution-free 95% interval.
The suite is kept as ``ARTIFACTS/pyperf/<backend>.json`` when the harness gives
an artifacts directory, so ``python -m pyperf compare_to OLD/pyperf/mmap.json
NEW/pyperf/mmap.json`` compares two runs.

The time is the caller's wall time per call (what the application waits for),
with the backend's own threads and processes running beside it; the logger is
flushed after every timed batch, untimed.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from typing import Any

from . import ResultRecord
from ._common import Factory, backend_name
from ._fronts import STDLIB_FRONTS, has_stdlib_front
from ._records import RECORD_SHAPES
from ._stats import median_interval

__all__ = ["PYPERF_OPTIONS", "QUICK_SHAPES", "STDLIB_WORKLOADS", "run_caller", "stdlib_shapes"]

#: The quick suite's shapes (CI time): a written small record and a filtered call.
QUICK_SHAPES = ("small", "filtered")
#: pyperformance's bm_logging workloads, through stdlib ``logging`` (``stdlib-<workload>@<front>`` shapes).
STDLIB_WORKLOADS = ("silent", "simple", "format")

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_caller_bench.py")
#: pyperf options (quick, full): quick keeps a backend to a few seconds; full is pyperf's own default precision.
PYPERF_OPTIONS = (
    ("--processes", "2", "--values", "4", "--warmups", "1", "--loops", "4000"),
    ("--processes", "10", "--values", "3", "--warmups", "1"),
)


def run_caller(
    factory: Factory,
    *,
    backend: str | None = None,
    quick: bool = False,
    workdir: str | None = None,
    artifacts_dir: str | None = None,
    shapes: tuple[str, ...] | None = None,
    timeout_s: float | None = None,
) -> list[ResultRecord]:
    """ns per call of ``factory``'s logger for each record shape, measured by pyperf.

    Args:
        factory: picklable ``factory(path=..., level=...) -> Logger``.
        backend: the name in the records (and of the kept pyperf file).
        quick: 2 pyperf worker processes x 4 values of 4,000 calls, no calibration (CI); else 10 x 3, calibrated.
        workdir: scratch space for the factory pickle and the workers' log files.
        artifacts_dir: where ``pyperf/<backend>.json`` is kept (none kept when None).
        shapes: record shapes (see :mod:`scenarios._records`); default all of them, quick: ``QUICK_SHAPES``.
        timeout_s: limit for the pyperf run (default 40 s quick, 600 s full).

    Raises:
        RuntimeError: pyperf exited non-zero (its stderr in the message).
    """
    name = backend_name(factory, backend)
    scratch = tempfile.mkdtemp(prefix="logbench-caller-", dir=workdir)
    shapes = shapes or (QUICK_SHAPES if quick else RECORD_SHAPES) + stdlib_shapes(factory, quick=quick, workdir=scratch)
    factory_pickle = os.path.join(scratch, "factory.pickle")
    with open(factory_pickle, "wb") as file:
        pickle.dump(factory, file)
    output = _output_path(name, scratch, artifacts_dir)
    options = PYPERF_OPTIONS[0 if quick else 1]
    command = [sys.executable, SCRIPT, "--factory", factory_pickle, "--shapes", ",".join(shapes), "--logdir", scratch,
               "--quiet", "-o", output, *options]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          timeout=timeout_s or (40.0 if quick else 600.0))
    if done.returncode != 0:
        raise RuntimeError(f"pyperf exited with status {done.returncode}:\n{done.stderr[-4000:]}")
    return _records(output, name, options)


def stdlib_shapes(factory: Factory, *, quick: bool, workdir: str) -> tuple[str, ...]:
    """The ``stdlib-<workload>@<front>`` shapes for ``factory``'s logger (it is created once to tell).

    A peer with its own stdlib-style logger (``stdlib_logger``: stdlib's handlers, picologging)
    is measured as is (``own``); a logbench logger through the bridge and accelerated; any other
    peer has no stdlib front. Quick: only ``simple``, accelerated or own.
    """
    log = factory(path=os.path.join(workdir, "probe.log"), level="INFO")
    try:
        if getattr(log, "stdlib_logger", None) is not None:
            fronts: tuple[str, ...] = ("own",)
        elif has_stdlib_front(log):
            fronts = ("accelerated",) if quick else STDLIB_FRONTS
        else:
            return ()
    finally:
        log.close()
    workloads = ("simple",) if quick else STDLIB_WORKLOADS
    return tuple(f"stdlib-{workload}@{front}" for workload in workloads for front in fronts)


def _output_path(name: str, scratch: str, artifacts_dir: str | None) -> str:
    """A path pyperf may write (``-o`` refuses to overwrite: a stale file of ours is removed)."""
    if artifacts_dir is None:
        return os.path.join(scratch, "pyperf.json")
    directory = os.path.join(artifacts_dir, "pyperf")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}.json")
    if os.path.exists(path):
        os.remove(path)
    return path


def _records(output: str, name: str, options: tuple[str, ...]) -> list[ResultRecord]:
    import pyperf  # type: ignore[import-untyped]

    suite: Any = pyperf.BenchmarkSuite.load(output)
    records = []
    for bench in suite.get_benchmarks():
        shape = bench.get_name().removeprefix("caller[").removesuffix("]")
        values_ns = [value * 1e9 for value in bench.get_values()]
        estimate = median_interval(values_ns)
        detail = (f"pyperf {' '.join(options)}: {len(values_ns)} values from {bench.get_nrun()} worker runs, "
                  f"mean {bench.mean() * 1e9:.0f} ns +- {bench.stdev() * 1e9 if len(values_ns) > 1 else 0:.0f} ns; "
                  f"interval covers {estimate.coverage:.0%}")
        case = f"record={shape}"
        if shape.startswith("stdlib-"):  # stdlib-simple@accelerated -> stdlib=simple,front=accelerated
            workload, _, front = shape.removeprefix("stdlib-").partition("@")
            case = f"stdlib={workload},front={front}"
        records.append(ResultRecord("caller", name, case, "ns_per_call", estimate.value, "ns",
                                    low=estimate.low, high=estimate.high, detail=detail))
    return records
