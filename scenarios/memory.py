"""memory: what a backend holds in memory under a burst and behind a stalled sink.

Cases (metric catalogue): ``burst`` — log ``records`` as fast as the caller can,
then ``close()``; ``slow_sink/<policy>`` for ``block``, ``drop_new`` and
``drop_old`` — the same burst with ``queue_size`` records of queue while the
sink stalls ``stall_s`` seconds (see :mod:`scenarios._slow_sink`).

Metrics per case, each from a fresh spawned process:

``peak_rss_bytes``
    The logging process's resident-set high-water mark (``VmHWM`` from
    ``/proc/self/status``, which starts afresh at ``exec``; ``ru_maxrss`` does
    not, it inherits the spawning parent's peak) after ``close()``, plus the
    peaks of the backend's own child processes (a writer process), sampled
    every 50 ms while they live. Includes the interpreter itself (compare with
    ``null``); the detail gives the baseline taken just before the logger was
    created.
``peak_alloc_bytes``
    memray's peak of live heap allocations in the logging process while the
    logger existed (``trace_python_allocators=True``: every pymalloc object
    counts, not whole 256 KiB arenas, which made the figure jump by ~1 MB from
    run to run), from a *separate* run (memray slows code down and must not
    share a run with anything timed; it does not follow child processes, so a
    writer process's allocations are not in it).
``max_queue_depth``, ``dropped``
    The backend's own ``stats()`` after ``close()``, from the RSS run.

Repetitions: every case runs ``rss_runs`` (5) RSS runs and ``alloc_runs`` (5) memray runs, each a fresh
spawned process, two at a time (``PARALLEL``: these are byte counts, not timings, and two
processes on two cores leave each its own core; the stalled sink of a slow-sink run sleeps). Each
metric is the median over its runs with the distribution-free interval ``[min, max]``
(``scenarios._stats.median_interval``), coverage 0.938 for 5 runs, stated in the detail. Memray had 3
runs until 2026-12-02 (coverage 0.75): two ``[min, max]`` intervals of 3 runs of one distribution lie
apart with probability 2/C(6,3) = 10%, of 5 runs 2/C(10,5) = 0.8%, and a same-commit pair of the
regression gate flagged ``thread-queue``'s burst peak that way (docs/regression-gate.md).

Backends without a queue (no ``overflow`` option: ``sync``, ``null``, most
peers) get ``not supported`` for the ``slow_sink`` cases: a stalled sink simply
blocks their caller. ``null`` writes nothing, so its burst is the baseline.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import Any

from ._proc import BackendInfo, ChildFailed, Factory, descendants, probe, refusal, run_child
from ._results import ResultRecord
from ._rounds import pool, share
from ._slow_sink import SlowFifoSink
from ._stats import median_interval

SCENARIO = "memory"
POLICIES = ("block", "drop_new", "drop_old")
CASES = ("burst", *(f"slow_sink/{policy}" for policy in POLICIES))
METRICS = (("peak_rss_bytes", "bytes"), ("peak_alloc_bytes", "bytes"), ("max_queue_depth", "count"), ("dropped", "count"))
PAYLOAD = "x" * 64  # a realistic field value: lines of ~150 bytes
#: fresh processes per case: RSS runs, memray runs; how many run at once
RSS_RUNS, ALLOC_RUNS, PARALLEL = 5, 5, 2


@dataclasses.dataclass(frozen=True)
class _Spec:
    """One measuring run: how many records, which options, track allocations or not."""

    records: int
    options: dict[str, Any]
    memray_path: str | None = None


def run_memory(
    factory: Factory,
    *,
    quick: bool = False,
    backend: str | None = None,
    workdir: str | None = None,
    records: int | None = None,
    slow_records: int | None = None,
    queue_size: int | None = None,
    stall_s: float | None = None,
    timeout: float = 300.0,
    rss_runs: int = RSS_RUNS,
    alloc_runs: int = ALLOC_RUNS,
    rounds: int = 1,
) -> list[ResultRecord]:
    """Measure every memory case for ``factory``; one record per (case, metric), median over runs.

    Defaults: quick burst 5 000 records, slow sink 5 000 records into a queue
    of 1 000 stalled 0.5 s; full 200 000, 50 000, 10 000 and 2 s. (The quick burst was 20 000 records
    in one run; a slow synchronous peer needs ~1 s for those, too long to repeat within the budget.) ``rss_runs`` / ``alloc_runs``
    fresh processes per case for the RSS figures and for memray's. ``rounds``: this process is one of
    ``rounds`` (:mod:`scenarios._rounds`) and does its share of each; :func:`merge_rounds` pools them.

    Raises:
        ValueError: ``rss_runs`` or ``alloc_runs`` below 1.
    """
    if rss_runs < 1 or alloc_runs < 1:
        raise ValueError(f"rss_runs, alloc_runs: expected at least 1 each, got {rss_runs!r}, {alloc_runs!r}")
    rss_runs, alloc_runs = share(rss_runs, rounds), share(alloc_runs, rounds)
    info = probe(factory)
    name = backend or info.name
    burst_n = records or (5_000 if quick else 200_000)
    slow_n = slow_records or (5_000 if quick else 50_000)
    qsize = queue_size or (1_000 if quick else 10_000)
    stall = stall_s if stall_s is not None else (0.5 if quick else 2.0)
    results: list[ResultRecord] = []
    for case in CASES:
        if case.startswith("slow_sink/") and not (info.has_queue and info.writes_file):
            results += _not_supported(name, case, _why_unsupported(info))
            continue
        if case == "burst":
            options: dict[str, Any] = {}
            n, case_stall = burst_n, None
        else:
            options = {"overflow": case.split("/", 1)[1], "queue_size": qsize}
            n, case_stall = slow_n, stall
            refused = refusal(factory, **options)
            if refused is not None:  # e.g. a peer whose queue cannot block
                results += _not_supported(name, case, f"{info.name} refuses {options}: {refused}")
                continue
        try:
            results += _measure_case(factory, name, case, n, options, case_stall, timeout, workdir,
                                     (rss_runs, alloc_runs))
        except ChildFailed as exc:
            results += [
                ResultRecord(SCENARIO, name, case, metric, None, unit, status="failed", detail=str(exc)[-2000:])
                for metric, unit in METRICS
            ]
    return results


def merge_rounds(rounds: Sequence[Sequence[ResultRecord]]) -> list[ResultRecord]:
    """One cell's records from its ``rounds`` processes, pooled (:func:`scenarios._rounds.pool`): every
    figure over every round's runs."""
    return pool(rounds)


def _why_unsupported(info: BackendInfo) -> str:
    if not info.writes_file:
        return f"{info.name} writes nothing: no sink to stall and no queue to fill"
    return f"{info.name} has no queue (no overflow policy): a stalled sink blocks the caller itself"


def _not_supported(name: str, case: str, reason: str) -> list[ResultRecord]:
    return [ResultRecord(SCENARIO, name, case, metric, None, unit, status="not supported", detail=reason) for metric, unit in METRICS]


def _measure_case(
    factory: Factory,
    name: str,
    case: str,
    n: int,
    options: dict[str, Any],
    stall: float | None,
    timeout: float,
    workdir: str | None,
    runs: tuple[int, int] = (RSS_RUNS, ALLOC_RUNS),
) -> list[ResultRecord]:
    """``runs`` = (RSS runs, memray runs), fresh processes, ``PARALLEL`` at a time; one record per metric."""
    rss, alloc = _run_all(factory, n, options, stall, timeout, workdir, runs)
    first = rss[0]
    note = (
        f"{n} records, options {options or 'default'}"
        + (f", sink stalled {stall:g} s" if stall is not None else "")
        + f"; {len(rss)} RSS runs, {len(alloc)} memray runs ({PARALLEL} at a time)"
        + f"; first RSS run: caller spent {first['caller_s']:.3f} s logging, close took {first['close_s']:.3f} s"
    )
    counts = ", ".join("/".join(str(x) for x in (r["stats"]["written"], r["stats"]["dropped"], r.get("lines_read"))
                                if x is not None) for r in rss)
    runs_note = ("per RSS run written/dropped" + ("/received by the stalled sink" if stall is not None else "")
                 + f": {counts}")
    rss_note = (
        f"process peak before the logger {first['baseline_rss']} B; own peaks {[r['self_peak'] for r in rss]} B, "
        f"writer processes' peaks {[r['children_peak'] for r in rss]} B; " + note
    )

    def record(metric: str, unit: str, values: list[int], detail: str) -> ResultRecord:
        est = median_interval(values)
        return ResultRecord(SCENARIO, name, case, metric, est.value, unit, low=est.low, high=est.high,
                            samples=est.samples, detail=f"median of {est.n} runs, interval coverage {est.coverage:.3f}; {detail}")

    return [
        record("peak_rss_bytes", "bytes", [r["self_peak"] + r["children_peak"] for r in rss], rss_note),
        record("peak_alloc_bytes", "bytes", alloc, "memray, separate runs; " + note),
        record("max_queue_depth", "count", [r["stats"]["max_queue_depth"] for r in rss], f"{note}; {runs_note}"),
        record("dropped", "count", [r["stats"]["dropped"] for r in rss], f"{note}; {runs_note}"),
    ]


def _run_all(
    factory: Factory, n: int, options: dict[str, Any], stall: float | None, timeout: float, workdir: str | None,
    runs: tuple[int, int],
) -> tuple[list[dict[str, Any]], list[int]]:
    """(each RSS run's result, each memray run's peak allocation), the runs interleaved and ``PARALLEL`` at a time.

    Raises:
        ChildFailed: a run crashed or timed out (the first such, as ``ThreadPoolExecutor.map`` raises).
    """
    jobs = sorted([("rss", i) for i in range(runs[0])] + [("alloc", i) for i in range(runs[1])],
                  key=lambda job: job[1])  # rss 0, alloc 0, rss 1, ...
    with tempfile.TemporaryDirectory(prefix="logbench-memory-", dir=workdir) as tmp:

        def run(job: tuple[str, int]) -> dict[str, Any]:
            kind, index = job
            memray_path = os.path.join(tmp, f"{kind}{index}.memray") if kind == "alloc" else None
            result = _run_once(factory, os.path.join(tmp, f"{kind}{index}"), _Spec(n, options, memray_path),
                               stall, timeout)
            if memray_path is not None:
                result["peak_alloc"] = _memray_peak(memray_path)
            return result

        with concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            results = list(pool.map(run, jobs))
    rss = [result for job, result in zip(jobs, results) if job[0] == "rss"]
    return rss, [result["peak_alloc"] for job, result in zip(jobs, results) if job[0] == "alloc"]


def _run_once(factory: Factory, directory: str, spec: _Spec, stall: float | None, timeout: float) -> dict[str, Any]:
    os.makedirs(directory)
    path = os.path.join(directory, "app.log")
    if stall is None:
        result: dict[str, Any] = run_child(_measure, factory, path, spec, timeout=timeout)
        return result
    with SlowFifoSink(path, stall) as sink:
        try:
            result = run_child(_measure, factory, path, spec, timeout=timeout)
        finally:
            sink.writers_done()
    result["lines_read"] = sink.lines_read
    return result


def _memray_peak(path: str) -> int:
    import memray

    return int(memray.FileReader(path).metadata.peak_memory)


# -- in the measuring child -------------------------------------------------------------


def _measure(factory: Factory, path: str, spec: _Spec) -> dict[str, Any]:
    """Log ``spec.records`` as fast as possible, close, report peaks and stats."""
    baseline = peak_rss(os.getpid())
    sampler = _ChildPeaks()
    if spec.memray_path is None:
        result = _burst(factory, path, spec, sampler)
    else:
        import memray

        with memray.Tracker(spec.memray_path, follow_fork=False, trace_python_allocators=True):
            result = _burst(factory, path, spec, sampler)
    result.update(baseline_rss=baseline, self_peak=peak_rss(os.getpid()), children_peak=sampler.total())
    return result


def _burst(factory: Factory, path: str, spec: _Spec, sampler: _ChildPeaks) -> dict[str, Any]:
    logger = factory(path=path, **spec.options)
    sampler.start()
    try:
        start = time.perf_counter()
        for seq in range(spec.records):
            logger.info("burst record", writer=0, seq=seq, payload=PAYLOAD)
        logged = time.perf_counter()
        sampler.sample()
        logger.close()
        closed = time.perf_counter()
    finally:
        sampler.stop()
    return {"stats": logger.stats(), "caller_s": logged - start, "close_s": closed - logged}


def peak_rss(pid: int) -> int:
    """Resident-set high-water mark of ``pid`` in bytes (0 if it is gone).

    Linux ``VmHWM``; elsewhere ``ru_maxrss`` of this process (which may include
    the peak of the process it was spawned from).
    """
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        if pid != os.getpid():
            return 0
    scale = 1 if sys.platform == "darwin" else 1024
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale


class _ChildPeaks:
    """Samples the RSS peak of this process's descendants (a backend's writer processes)."""

    def __init__(self) -> None:
        self._peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if descendants(os.getpid()):  # no writer process: no sampling thread at all
            self._thread = threading.Thread(target=self._run, name="logbench-rss-sampler", daemon=True)
            self._thread.start()

    def sample(self) -> None:
        for pid in descendants(os.getpid()):
            self._peaks[pid] = max(self._peaks.get(pid, 0), peak_rss(pid))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def total(self) -> int:
        return sum(self._peaks.values())

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.sample()
