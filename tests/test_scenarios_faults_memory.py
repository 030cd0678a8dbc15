"""memory, crash, rotation and loop_lag scenarios on tiny parameters, and the planted defects they must catch."""

from __future__ import annotations

import functools
import random
import importlib
import inspect

import planted
import pytest

import loggers
import scenarios
from scenarios import ResultRecord, crash
from scenarios.crash import EXIT_CASES, KILL_CASES, run_crash
from scenarios.loop_lag import run_loop_lag
from scenarios.memory import CASES as MEMORY_CASES
from scenarios.memory import run_memory
from scenarios.rotation import CASES as ROTATION_CASES
from scenarios.rotation import METRICS as ROTATION_METRICS
from scenarios.rotation import run_rotation

pytestmark = pytest.mark.slow

SYNC = functools.partial(loggers.create, "sync")
NULL = functools.partial(loggers.create, "null")
# The plain queued backend (a deque and a writer thread): its queue semantics are the textbook ones.
QUEUED = "thread-queue"
assert QUEUED in loggers.BACKENDS and "overflow" in loggers.backend_class(QUEUED).accepts


def _check_well_formed(records: list[ResultRecord], scenario: str) -> None:
    assert records
    for record in records:
        assert isinstance(record, ResultRecord)
        assert record.scenario == scenario
        ResultRecord(**record.as_dict())  # validates again, from the stored form
        if record.status == "ok":
            assert record.value is not None
        else:
            assert record.value is None and record.detail


def _by(records: list[ResultRecord], case: str, metric: str, trial: int | None = None) -> ResultRecord:
    found = [r for r in records if r.case == case and r.metric == metric and r.trial == trial]
    assert len(found) == 1, (case, metric, trial, records)
    return found[0]


@pytest.mark.parametrize("name", ["memory", "crash", "rotation", "loop_lag"])
def test_registered(name: str) -> None:
    """Registered as ``scenarios.<shape>:run_<shape>``, taking the backend factory first and ``quick`` by name."""
    assert scenarios.SCENARIOS[name] == f"scenarios.{name}:run_{name}"
    module_name, function_name = scenarios.SCENARIOS[name].split(":")
    parameters = inspect.signature(getattr(importlib.import_module(module_name), function_name)).parameters
    assert next(iter(parameters)) == "factory" and "quick" in parameters and "backend" in parameters


# -- memory -----------------------------------------------------------------------------------


def test_memory_sync_and_null_burst_measured_slow_sink_not_supported() -> None:
    for factory, name in ((SYNC, "sync"), (NULL, "null")):
        records = run_memory(factory, quick=True, records=2000, rss_runs=3, alloc_runs=2)
        _check_well_formed(records, "memory")
        assert {r.case for r in records} == set(MEMORY_CASES)
        burst = {r.metric: r for r in records if r.case == "burst"}
        assert set(burst) == {"peak_rss_bytes", "peak_alloc_bytes", "max_queue_depth", "dropped"}
        assert burst["peak_rss_bytes"].value > 1_000_000  # an interpreter is at least 1 MB resident
        assert burst["peak_alloc_bytes"].value > 0
        assert burst["dropped"].value == 0
        for record in burst.values():
            assert record.low is not None and record.high is not None and record.low <= record.value <= record.high
        assert "median of 3 runs, interval coverage 0.750" in burst["peak_rss_bytes"].detail
        assert "median of 2 runs" in burst["peak_alloc_bytes"].detail
        slow = [r for r in records if r.case.startswith("slow_sink/")]
        assert len(slow) == 12 and all(r.status == "not supported" and name in r.detail for r in slow)


def test_memory_queued_backend_slow_sink_shows_each_policy() -> None:
    factory = functools.partial(loggers.create, QUEUED)
    records = run_memory(factory, quick=True, records=2000, slow_records=3000, queue_size=200, stall_s=0.3,
                         rss_runs=2, alloc_runs=1)
    _check_well_formed(records, "memory")
    assert all(r.status == "ok" for r in records), [r.detail for r in records if r.status != "ok"]
    block = _by(records, "slow_sink/block", "dropped")
    assert block.value == 0 and block.high == 0 and "received by the stalled sink: 3000/0/3000, 3000/0/3000" in block.detail
    assert _by(records, "slow_sink/block", "max_queue_depth").value == 200
    for policy in ("drop_new", "drop_old"):
        dropped = _by(records, f"slow_sink/{policy}", "dropped")
        assert dropped.low is not None and dropped.low > 0  # 3000 records cannot fit 200 queued + a 64 KiB pipe
        per_run = dropped.detail.split("received by the stalled sink: ")[1].split(", ")
        for run in per_run:  # every run: what was not dropped reached the sink
            written, lost, received = (int(x) for x in run.split("/"))
            assert written + lost == 3000 and received == written, run


# -- crash ------------------------------------------------------------------------------------


def test_crash_sync_keeps_every_returned_record() -> None:
    records = run_crash(SYNC, quick=True, trials=2, kill_window_s=(0.05, 0.2))
    _check_well_formed(records, "crash")
    for case in KILL_CASES:
        for trial in (0, 1):
            record = _by(records, case, "lost_records", trial)
            assert record.value == 0 and record.verdict == "ok", record.detail
        for metric in ("lost_median", "lost_max", "torn_lines", "duplicates", "lost_p99", "defect_trials"):
            assert _by(records, case, metric).verdict == "ok"
        assert _by(records, case, "defect_trials").value == 0 and _by(records, case, "lost_p99").value == 0
    for case in EXIT_CASES:
        record = _by(records, case, "lost_records")
        assert record.value == 0 and record.verdict == "ok", record.detail


def test_crash_flags_planted_drop_every_100th() -> None:
    records = run_crash(
        planted.drop_every_100, quick=True, trials=2, kill_window_s=(0.1, 0.2), cases=("sigkill/paced", "exit/normal")
    )
    _check_well_formed(records, "crash")
    for trial in (0, 1):
        record = _by(records, "sigkill/paced", "lost_records", trial)
        assert record.verdict == "defect" and record.value is not None and record.value >= 1, record.detail
    assert _by(records, "sigkill/paced", "lost_max").verdict == "defect"
    assert _by(records, "sigkill/paced", "defect_trials").value == 2  # every trial is judged on its own
    normal = _by(records, "exit/normal", "lost_records")
    assert normal.verdict == "defect" and normal.value == 20  # 2000 records, every 100th dropped


def test_crash_trials_side_by_side_keep_their_seeded_kill_moments_and_order() -> None:
    window = (0.1, 0.2)
    records = run_crash(planted.drop_every_100, quick=True, trials=4, trials_at_once=2, kill_window_s=window,
                        cases=("sigkill/paced",), seed=5)
    rng = random.Random(5)
    for trial in range(4):
        record = _by(records, "sigkill/paced", "lost_records", trial)
        assert record.verdict == "defect" and record.detail.startswith(f"SIGKILL after {rng.uniform(*window):.3f} s")
    assert _by(records, "sigkill/paced", "defect_trials").value == 4
    with pytest.raises(ValueError, match="trials_at_once"):
        run_crash(SYNC, quick=True, trials_at_once=0)


def test_crash_queued_backend_loss_is_data_not_defect() -> None:
    factory = functools.partial(loggers.create, QUEUED)
    records = run_crash(factory, quick=True, trials=2, kill_window_s=(0.05, 0.2), cases=("sigkill/burst", "exit/sys_exit"))
    _check_well_formed(records, "crash")
    assert all(r.verdict == "ok" for r in records), [r.detail for r in records if r.verdict != "ok"]
    assert _by(records, "exit/sys_exit", "lost_records").value == 0


def test_crash_summary_gives_the_loss_window_distribution() -> None:
    # 40 trials losing 0..39 records, one of them breaking the contract: nearest-rank p99 of 40 values is the max.
    outcomes = [{"lost": i, "torn": 0, "duplicates": 0, "defect": i == 7, "detail": f"trial {i}"} for i in range(40)]
    records = {r.metric: r for r in crash._summary_records("b", "sigkill/paced", outcomes)}
    assert (records["lost_median"].value, records["lost_p99"].value, records["lost_max"].value) == (19.5, 39, 39)
    assert records["defect_trials"].value == 1 and records["lost_p99"].verdict == "defect"
    assert "loss window p50 19.5, p99 39, max 39" in records["lost_p99"].detail  # 40 > LIST_LOSSES_UP_TO: no list
    assert "first defect: trial 7" in records["lost_p99"].detail
    few = {r.metric: r for r in crash._summary_records("b", "sigkill/paced", outcomes[:3])}
    assert "losses [0, 1, 2]" in few["lost_max"].detail and few["defect_trials"].value == 0


def test_crash_null_not_supported() -> None:
    records = run_crash(NULL, quick=True)
    _check_well_formed(records, "crash")
    assert records and all(r.status == "not supported" for r in records)


# -- rotation ---------------------------------------------------------------------------------

TINY_ROTATION = {"threads": 3, "processes": 2, "records": 300, "max_bytes": 2048}


def test_rotation_sync_ok() -> None:
    records = run_rotation(SYNC, quick=True, **TINY_ROTATION)
    _check_well_formed(records, "rotation")
    assert {(r.case, r.metric) for r in records} == {(c, m) for c in ROTATION_CASES for m in ROTATION_METRICS}
    assert all(r.verdict == "ok" and r.value == 0 for r in records), [r.detail for r in records]
    assert "900/900 records" in records[0].detail
    assert "survivors + repair 901/901 records" in _by(records, "multi-process-kill", "lost").detail


@pytest.mark.parametrize("name", [name for name in loggers.BACKENDS if loggers.backend_class(name).writes_file])
def test_rotation_kill_case_every_backend(name: str) -> None:
    records = run_rotation(functools.partial(loggers.create, name), quick=True, records=150, seed=1,
                           cases=("multi-process-kill",))
    _check_well_formed(records, "rotation")
    assert {r.metric for r in records} == set(ROTATION_METRICS)
    assert all(r.verdict == "ok" and r.value == 0 for r in records), records[0].detail
    assert "SIGKILLed" in records[0].detail and "survivors + repair 451/451 records" in records[0].detail


def test_rotation_flags_planted_drop_every_100th_as_lost() -> None:  # the kill case too: survivors' losses
    records = run_rotation(planted.drop_every_100, quick=True, **TINY_ROTATION)
    for case in ROTATION_CASES:
        lost = _by(records, case, "lost")
        assert lost.verdict == "defect" and lost.value is not None and lost.value >= 6, lost.detail


def test_rotation_flags_planted_write_into_renamed_file() -> None:
    records = run_rotation(planted.renamed_file, quick=True, **TINY_ROTATION)
    for case in ROTATION_CASES:
        oversize = _by(records, case, "oversize_files")
        assert oversize.verdict == "defect" and oversize.value is not None and oversize.value > 0, oversize.detail


def test_rotation_losses_explained_by_backup_count_are_not_defects() -> None:
    records = run_rotation(SYNC, quick=True, **TINY_ROTATION, backup_count=2, cases=("single-process",))
    lost = _by(records, "single-process", "lost")
    assert lost.verdict == "ok" and lost.value == 0
    assert "deleted by backup_count" in lost.detail


def test_rotation_null_not_supported() -> None:
    records = run_rotation(NULL, quick=True)
    assert len(records) == len(ROTATION_CASES) * len(ROTATION_METRICS) == 18
    assert all(r.status == "not supported" for r in records)


# -- loop_lag ---------------------------------------------------------------------------------


def test_loop_lag_shows_a_backend_that_sleeps_per_call() -> None:
    baseline = run_loop_lag(NULL, quick=True, rates=(2000,), duration_s=0.3)
    sleepy = run_loop_lag(planted.sleepy, quick=True, rates=(2000,), duration_s=0.3)
    for records in (baseline, sleepy):
        _check_well_formed(records, "loop_lag")
        assert {r.metric for r in records} == {"lag_p50_ms", "lag_p99_ms", "lag_max_ms"}
        assert {r.case for r in records} == {"rate=2000/s"}
        p50, p99, worst = (_by(records, "rate=2000/s", m) for m in ("lag_p50_ms", "lag_p99_ms", "lag_max_ms"))
        assert p50.value is not None and p99.value is not None and worst.value is not None
        assert 0 <= p50.value <= p99.value <= worst.value
        for estimate in (p50, p99):  # a median over windows of the run, with its interval
            assert estimate.low is not None and estimate.high is not None
            assert estimate.low <= estimate.value <= estimate.high <= worst.value
        assert "6000 grid points every 50 us" in p50.detail  # 0.3 s on a 50 us grid
    # 2000 calls/s x 1 ms of sleep each: every wake logs its 2 ms cap of 4 records, a 4 ms stall of the loop
    # (half of the grid points that pass in it wait 2 ms or more) and the asked rate is not reached.
    sleepy_p50 = _by(sleepy, "rate=2000/s", "lag_p50_ms").value
    baseline_p50 = _by(baseline, "rate=2000/s", "lag_p50_ms").value
    assert sleepy_p50 is not None and baseline_p50 is not None
    assert sleepy_p50 > 1.0 and sleepy_p50 > 3 * baseline_p50
    assert "/s of 2000/s asked" in sleepy[0].detail
