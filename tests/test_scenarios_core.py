"""overhead, latency, throughput scenarios on tiny parameters: well-formed records, planted defects caught.

Timing assertions here rely only on guarantees (``time.sleep(d)`` sleeps at least
``d``), never on how fast this machine is.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import planted
import pytest

import loggers
from scenarios import SCENARIOS, ResultRecord
from scenarios.latency import PERCENTILES, run_latency
from scenarios._calibrate import around, relative_metric, relative_record
from scenarios._fronts import FRONTS, front_case, split_case, through
from scenarios.overhead import lines_per_s, run_overhead, sustainable_rate
from scenarios.throughput import run_throughput

SYNC = functools.partial(loggers.create, "sync")


def _check_records(records: list[ResultRecord], scenario: str, backend: str) -> None:
    assert records, "no records"
    for record in records:
        assert isinstance(record, ResultRecord)
        assert (record.scenario, record.backend) == (scenario, backend)
        if record.status == "ok":
            assert record.value is not None and math.isfinite(record.value)


def _by(records: list[ResultRecord], case: str, metric: str) -> ResultRecord:
    (match,) = [r for r in records if r.case == case and r.metric == metric]
    return match


def test_registered() -> None:
    assert SCENARIOS["overhead"] == "scenarios.overhead:run_overhead"
    assert SCENARIOS["latency"] == "scenarios.latency:run_latency"
    assert SCENARIOS["throughput"] == "scenarios.throughput:run_throughput"


def test_overhead_records_are_well_formed(tmp_path: Path) -> None:
    rates = ("rate=1/10units", "rate=1/unit", "rate=5/unit")
    records = run_overhead(SYNC, units=40, min_pairs=3, max_pairs=3, budget_s=0.0, rates=rates,
                           workdir=str(tmp_path))
    _check_records(records, "overhead", "sync")
    fronted = ("rate=1/unit,front=bridge", "rate=1/unit,front=accelerated")  # the gate's rate, through stdlib
    assert {(r.case, r.metric) for r in records} == {
        (case, metric) for case in (*rates, *fronted) for metric in ("wall_overhead_pct", "cpu_overhead_pct", "unit_us")
    } | {("sweep", "sustainable_lines_per_s")}
    for record in records:
        if record.metric == "sustainable_lines_per_s":
            assert record.unit == "lines/s" and record.verdict in ("pass", "fail")
            assert all(case in record.detail for case in rates)
            assert "front=" not in record.detail, "the sustainable rate is the native front's"
        elif record.metric.endswith("_overhead_pct"):
            assert record.low is not None and record.high is not None
            assert record.low <= record.value <= record.high
            assert record.verdict in ("pass", "fail", "inconclusive")
            assert "3 A/B pairs" in record.detail
        else:
            assert record.unit == "us" and record.value > 0
    assert list(tmp_path.iterdir()) == [], "scratch files left behind"


def test_overhead_runs_the_same_work_per_unit_in_every_process(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    """The built-in unit is fixed work, never calibrated unless a target is asked for (a calibration sampled at a
    slow moment chose 0 rounds where another process chose 9: one commit, units of 11 and 21 us)."""
    from scenarios import _workload
    from scenarios.overhead import Work

    def no_calibration(*_: object, **__: object) -> tuple[int, float]:
        raise AssertionError("the overhead scenario calibrated its unit")

    monkeypatch.setattr(_workload, "calibrate", no_calibration)
    work = Work.resolve(None, None)
    assert work.rounds == _workload.BUILTIN_ROUNDS and f"rounds={_workload.BUILTIN_ROUNDS};" in work.label
    records = run_overhead(SYNC, units=40, min_pairs=1, max_pairs=1, budget_s=0.0, rates=("rate=1/unit",),
                           fronts=("native",), workdir=str(tmp_path))
    assert all(f"rounds={_workload.BUILTIN_ROUNDS};" in r.detail for r in records if r.metric.endswith("_pct"))
    monkeypatch.setattr(_workload, "calibrate", lambda target_us, **_: (3, target_us))
    calibrated = Work.resolve(None, None, unit_target_us=12.0)
    assert calibrated.rounds == 3 and "rounds=3 (calibrated to 12 us)" in calibrated.label


def test_overhead_rates_take_turns_pair_by_pair(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each rate's pairs spread over the whole cell (this VM's speed flips for seconds), each pair's order
    alternating; the gate's rate, with more pairs, goes on alone once the others are done."""
    from scenarios import overhead

    blocks: list[tuple[str, int]] = []

    def fake_block(factory: object, path: str, units: int, work: object, every: int,
                   per_unit: int) -> tuple[float, float, float, float]:
        blocks.append(("B" if factory is SYNC else "A", every))
        return 1e-3, 1e-3, 0.0, 0.0

    monkeypatch.setattr(overhead, "_block", fake_block)
    run_overhead(SYNC, quick=True, units=40, max_pairs=2, budget_s=0.0, rates=("rate=1/10units", "rate=1/unit"),
                 fronts=("native",), workdir=str(tmp_path))
    warm_ups, pairs = blocks[:4], blocks[4:]
    assert warm_ups == [("A", 10), ("B", 10), ("A", 1), ("B", 1)]
    turns = [(pairs[i][1], pairs[i][0] + pairs[i + 1][0]) for i in range(0, len(pairs), 2)]
    assert turns[:4] == [(10, "AB"), (1, "AB"), (10, "BA"), (1, "BA")]  # the quick minimum: 7 pairs, 15 at the gate
    assert [rate for rate, _ in turns].count(10) == 7 and [rate for rate, _ in turns].count(1) == 15
    assert all(rate == 1 for rate, _ in turns[14:]), "the gate's rate goes on alone"


def test_overhead_fronts_are_chosen_per_backend_and_checked(tmp_path: Path) -> None:
    records = run_overhead(SYNC, units=30, min_pairs=3, max_pairs=3, budget_s=0.0, rates=("rate=1/10units",),
                           fronts=("native", "accelerated"), front_rates=("rate=5/unit",), workdir=str(tmp_path))
    assert sorted({r.case for r in records}) == ["rate=1/10units", "rate=5/unit,front=accelerated", "sweep"]
    only_stdlib = run_overhead(SYNC, units=30, min_pairs=3, max_pairs=3, budget_s=0.0, fronts=("bridge",),
                               workdir=str(tmp_path))
    assert sorted({r.case for r in only_stdlib}) == ["rate=1/unit,front=bridge", "sweep"]
    peer = run_overhead(planted.sleepy, backend="sleepy", units=3, min_pairs=3, max_pairs=3, budget_s=0.0,
                        rates=("rate=1/10units",), workdir=str(tmp_path))
    assert {r.case for r in peer} == {"rate=1/10units", "sweep"}, "a non-logbench logger has no stdlib front"
    with pytest.raises(ValueError, match="unknown front 'own'"):
        run_overhead(SYNC, fronts=("own",), workdir=str(tmp_path))
    with pytest.raises(ValueError, match="unknown rate 'rate=3/unit'"):
        run_overhead(SYNC, front_rates=("rate=3/unit",), workdir=str(tmp_path))


@pytest.mark.parametrize("front", ["bridge", "accelerated"])
def test_a_stdlib_front_writes_the_record_the_native_call_writes(tmp_path: Path, front: str) -> None:
    fields = {"step": 1, "order": 7, "user": "u-7", "total": 12.5, "bytes": 80, "path": "/api/orders"}
    lines = {}
    for name, make in (("native", SYNC), (front, through(SYNC, front))):
        path = tmp_path / f"{name}.log"
        log = make(path=str(path))
        log.info("request handled", **fields)
        log.close()
        (line,) = path.read_text().splitlines()
        record = json.loads(line)
        record.pop("ts")
        lines[name] = record
    assert lines[front].pop("logger") == "logbench", "stdlib's record names its logger"
    assert lines[front] == lines["native"]
    assert list(lines[front]) == list(lines["native"]), "fields in the same order"


@pytest.mark.parametrize("record", [None, ("custom", {"k": 1})])
def test_the_workload_logs_the_same_records_through_stdlib(tmp_path: Path, record: object) -> None:
    from scenarios import _workload

    written = {}
    for name, make in (("native", SYNC), ("accelerated", through(SYNC, "accelerated"))):
        path = tmp_path / f"{name}.log"
        log = make(path=str(path))
        assert _workload.run_units(log, 4, 0, every=2, per_unit=3, record=record) == 6  # type: ignore[arg-type]
        log.close()
        records = [json.loads(line) for line in path.read_text().splitlines()]
        for each in records:
            each.pop("ts")
            each.pop("logger", None)
        written[name] = records
    assert len(written["native"]) == 6 and written["accelerated"] == written["native"]


def test_front_cases_round_trip() -> None:
    assert front_case("rate=1/unit", "native") == "rate=1/unit"
    assert front_case("rate=1/unit", "bridge") == "rate=1/unit,front=bridge"
    for front in FRONTS:
        assert split_case(front_case("rate=5/unit", front)) == ("rate=5/unit", front)
    assert lines_per_s("rate=5/unit,front=accelerated", 20.0) == lines_per_s("rate=5/unit", 20.0) == pytest.approx(250_000)


def _point(case: str, low: float, high: float, unit_us: float = 20.0) -> list[ResultRecord]:
    return [ResultRecord("overhead", "b", case, "wall_overhead_pct", (low + high) / 2, "%", low=low, high=high),
            ResultRecord("overhead", "b", case, "unit_us", unit_us, "us")]


def test_sustainable_rate_is_the_highest_measured_rate_wholly_below_target() -> None:
    records = (_point("rate=1/20units", 0.1, 1.0) + _point("rate=1/10units", 1.0, 4.9)
               + _point("rate=1/2units", 3.0, 6.0) + _point("rate=1/unit", 2.0, 4.0, unit_us=25.0))
    best = sustainable_rate("b", records)
    assert best.value == pytest.approx(1 / 25e-6) and best.verdict == "pass"  # 40,000 lines/s at 1/unit
    assert "rate=1/2units" in best.detail  # every measured point is listed
    # a pass above a failure still counts (measured), a rate never measured never does
    only_low = sustainable_rate("b", _point("rate=1/20units", 0.1, 1.0) + _point("rate=1/10units", 4.0, 5.0))
    assert only_low.value == pytest.approx(1 / 20 / 20e-6)  # 2,500 lines/s; 1/10 touches 5%: not wholly below
    none = sustainable_rate("b", _point("rate=1/20units", 4.0, 7.0))
    assert none.value == 0.0 and none.verdict == "fail" and "no measured rate" in none.detail


def test_overhead_catches_a_backend_that_sleeps_per_call(tmp_path: Path) -> None:
    """1 ms of sleep per call against a ~20 µs unit: far beyond 5% whatever the noise."""
    records = run_overhead(planted.sleepy, backend="sleepy", units=30, min_pairs=5, max_pairs=5,
                           budget_s=0.0, rates=("rate=1/unit",), workdir=str(tmp_path))
    wall = _by(records, "rate=1/unit", "wall_overhead_pct")
    assert wall.verdict == "fail"
    assert wall.low is not None and wall.low > 100.0


def test_latency_records_are_well_formed(tmp_path: Path) -> None:
    records = run_latency(SYNC, calls=900, rotate_bytes=2048, workdir=str(tmp_path))
    _check_records(records, "latency", "sync")
    for case in ("steady", "rotating", "paced"):
        values = [_by(records, case, metric).value for metric in PERCENTILES]
        assert values == sorted(values), f"{case}: percentiles not monotone: {values}"
        assert values[0] > 0
        for metric in PERCENTILES:
            record = _by(records, case, metric)
            assert record.low is not None and record.high is not None
            assert record.low <= record.value <= record.high, record
            assert "9 repetitions" in record.detail and "coverage 0.961" in record.detail
        stalls = _by(records, case, "stalls")
        assert stalls.unit == "count" and stalls.value is not None and stalls.value >= 0
        share = _by(records, case, "stalled_calls_pct")
        assert share.unit == "%" and share.value is not None and 0 <= share.value <= 100
        assert (share.value > 0) == (stalls.value > 0)
        machine = _by(records, case, "calibration_ns")
        assert machine.unit == "ns" and machine.low is not None and machine.high is not None
        assert 0 < machine.low <= machine.value <= machine.high, machine
        samples = json.loads(machine.detail.split("samples ")[1])
        assert len(samples) == 9  # one per repetition, from the blocks between its chunks
        assert "blocks between the chunks" in machine.detail
        for metric in PERCENTILES:
            for reference in ("calibration", "null"):
                twin = _by(records, case, relative_metric(metric, reference))
                assert twin.unit == "x" and 0 < twin.low <= twin.value <= twin.high, twin
                assert "coverage 0.961" in twin.detail and len(twin.samples or ()) == 9
        assert "null-logger calls timed beside it" in _by(records, case, "p50_per_null").detail
    assert not list(tmp_path.rglob("calibration.log*"))  # the file and the rotating case's lock file: removed
    assert "flock + stat" in _by(records, "rotating", "calibration_ns").detail  # as a rotating write pays
    assert "paced" in _by(records, "paced", "calibration_ns").detail
    assert "rotations=0" not in _by(records, "rotating", "p50_ns").detail
    assert "coordinated-omission" in _by(records, "paced", "p99_9_ns").detail


def test_a_repetitions_machine_speed_is_the_mean_of_the_samples_around_it() -> None:
    assert around([100, 300, 200], 2) == [200.0, 250.0]
    assert around([100, 300], 2) == [200.0, 300.0]  # no sample after the last: its own alone
    with pytest.raises(ValueError, match="at least 3"):
        around([100, 300], 3)


def test_a_relative_twin_is_the_median_of_per_repetition_ratios() -> None:
    # a machine that flips between two speeds: the figure moves with it, the ratio does not
    figures, machine = [7_000.0, 11_000.0, 7_100.0, 11_200.0, 10_900.0], [5_000.0, 8_000.0, 5_100.0, 8_000.0, 7_900.0]
    twin = relative_record("latency", "sync", "steady", "p50_ns", figures, machine, over="its calibration")
    assert (twin.metric, twin.unit) == ("p50_per_calibration", "x")
    assert (twin.low, twin.high) == (min(f / m for f, m in zip(figures, machine)),
                                     max(f / m for f, m in zip(figures, machine)))
    assert 1.37 < twin.low <= twin.value <= twin.high < 1.41
    rate = relative_record("throughput", "sync", "threads=1", "records_per_s", [100_000.0], [5_000.0], per_time=True,
                           over="its calibration")
    assert (rate.metric, rate.value) == ("records_per_calibration", 0.5)  # records in one 5 µs calibration write
    with pytest.raises(ValueError, match="one per repetition"):
        relative_record("latency", "sync", "steady", "p50_ns", figures, machine[:2], over="its calibration")
    assert relative_metric("p99_9_ns") == "p99_9_per_calibration" and relative_metric("p50_ns", "null") == "p50_per_null"


@pytest.mark.parametrize(("calls", "chunks"), [(2_000, 8), (200, 3), (40, 1)])
def test_a_repetition_calibrates_between_its_chunks(calls: int, chunks: int) -> None:
    """The machine's speed is taken at the moments the calls are timed: a block of calibration writes
    before each chunk (chunks of at least 64 calls, at most 8), 1024 writes in all (steady), and every
    write is returned for the twins' percentiles."""
    from scenarios.latency import _repetition

    events: list[str] = []

    class Recorder:
        def info(self, msg: str, **fields: object) -> None:
            events.append("call")

        def flush(self, timeout: float | None = None) -> bool:
            events.append("flush")
            return True

    class NullRecorder:
        def info(self, msg: str, **fields: object) -> None:
            events.append("null")

    def calibrate(writes: int) -> list[int]:
        events.append(f"calibrate {writes}")
        return [len(events)] * writes

    samples, machine, nulls = _repetition(Recorder(), "steady", calls, 10_000.0, 60.0, calibrate, NullRecorder())
    assert machine == sorted(machine) and len(machine) == 1024 // chunks * chunks  # every write, for any percentile
    assert nulls == sorted(nulls) and len(nulls) == events.count("null") == 1024 // chunks * chunks
    assert len(samples) == calls and events.count("call") == calls and events[-1] == "flush"
    for block in (i for i, event in enumerate(events) if event.startswith("calibrate")):  # then the null calls
        assert events[block + 1: block + 1 + 1024 // chunks] == ["null"] * (1024 // chunks)
    events[:] = [event for event in events if event != "null"]
    blocks = [i for i, event in enumerate(events) if event.startswith("calibrate")]
    assert len(blocks) == chunks and blocks[0] == 0
    assert all(event == f"calibrate {1024 // chunks}" for event in (events[i] for i in blocks))
    assert min(b - a - 1 for a, b in zip(blocks, [*blocks[1:], len(events) - 1])) >= min(64, calls)
    assert len(set(machine)) == chunks  # one block's writes per chunk


def test_latency_cases_take_turns_repetition_by_repetition_each_on_a_fresh_logger(tmp_path: Path) -> None:
    """Each case's repetitions spread over the whole cell (steady 1, rotating 1, paced 1, steady 2, ...), each
    repetition on its own logger: one logger's repetitions are not independent (its writer's placement)."""
    flushes: list[str] = []
    created: list[str] = []

    def watched(path: str, **options: object) -> loggers.Logger:
        created.append(Path(path).stem)
        log = loggers.create("sync", path=path, **options)
        flush = log.flush

        def recorded_flush(timeout: float | None = None) -> bool:
            flushes.append(Path(path).stem)
            return flush(timeout)

        log.flush = recorded_flush  # type: ignore[method-assign]
        return log

    records = run_latency(watched, backend="sync", calls=600, repeats=3, budget_s=5.0, workdir=str(tmp_path))
    assert created == ["steady", "rotating", "paced"] * 3
    assert flushes == ["steady", "steady", "rotating", "rotating", "paced", "paced"] * 3  # ready, then the last records
    assert [r.case for r in records if r.metric == "p50_ns"] == ["steady", "rotating", "paced"]
    assert all("each on a fresh logger, taking turns" in r.detail for r in records if r.metric == "p50_ns")
    rotating = next(r for r in records if r.case == "rotating" and r.metric == "p50_ns")
    assert int(rotating.detail.split("rotations=")[1].split()[0]) > 0, "rotations summed over the loggers"


def test_latency_marks_unsupported_rotation(tmp_path: Path) -> None:
    records = run_latency(functools.partial(loggers.create, "null"), calls=100, workdir=str(tmp_path))
    rotating = [r for r in records if r.case == "rotating"]
    assert len(rotating) == 1 and rotating[0].status == "not supported"
    assert "max_bytes" in rotating[0].detail


def test_latency_catches_sleep_and_corrects_coordinated_omission(tmp_path: Path) -> None:
    """Each call takes >= 1 ms but is due every 0.1 ms: call i waits behind i earlier ones."""
    records = run_latency(planted.sleepy, backend="sleepy", calls=100, rate_per_s=10_000.0,
                          cases=("steady", "paced"), workdir=str(tmp_path), repeats=1)
    assert _by(records, "steady", "p50_ns").value >= 1_000_000
    assert _by(records, "steady", "stalled_calls_pct").value == 100.0  # every call over 1 ms
    # 25 paced calls: the last is due at 2.4 ms but cannot finish before 25 ms.
    assert _by(records, "paced", "max_ns").value >= 20_000_000
    # Every call over 1 ms: one stall episode each in steady (each call alone), one long one when paced.
    assert _by(records, "paced", "stalls").value == 1


def test_stall_episodes_count_runs_not_calls() -> None:
    from scenarios.latency import stall_episodes

    ms = 1_000_000
    assert stall_episodes([10, 10]) == 0
    assert stall_episodes([10, 2 * ms, 3 * ms, 5 * ms, 10, 2 * ms]) == 2
    assert stall_episodes([2 * ms]) == 1


def test_stalled_calls_count_the_ramp_behind_a_stall() -> None:
    """Paced: a 3 ms stall makes the next calls late by less and less; those under 1 ms but over 0.1 ms
    are the stall's too. Steady: the call after a stall is back to normal and is not counted."""
    from scenarios.latency import stalled_calls

    us = 1_000
    assert stalled_calls([10 * us, 3_000 * us, 2_000 * us, 900 * us, 400 * us, 90 * us, 500 * us]) == 4
    assert stalled_calls([10 * us, 2_000 * us, 12 * us, 2_500 * us]) == 2
    assert stalled_calls([500 * us, 20 * us]) == 0  # slow, but no stall before it


def test_a_latency_stall_moves_one_repetition_not_the_median(tmp_path: Path) -> None:
    """A backend that stalls 5 ms on one call in the whole case: the medians of p99.9 and max stay
    below it (only one repetition saw it), the stall count shows it."""
    records = run_latency(planted.stall_once, backend="stall-once", calls=900, cases=("steady",),
                          workdir=str(tmp_path))
    p99_9 = _by(records, "steady", "p99_9_ns")
    assert p99_9.value is not None and p99_9.value < 5_000_000
    assert _by(records, "steady", "max_ns").value < 5_000_000
    stalls = _by(records, "steady", "stalls")
    per_rep = [int(n) for n in stalls.detail.split("per repetition [")[1].split("]")[0].split(",")]
    assert per_rep[(planted.STALL_ONCE_AT - 1) // 100] >= 1  # the repetition holding call 300 saw it
    assert stalls.value == sum(per_rep)


def test_latency_and_throughput_stop_at_their_time_budget(tmp_path: Path) -> None:
    """A slow backend cannot stretch a case far beyond its budget (1 ms a call, 0.1 s budget)."""
    latency = run_latency(planted.sleepy, backend="sleepy", calls=10_000, cases=("steady",), budget_s=0.1,
                          workdir=str(tmp_path))
    calls = int(latency[0].detail.split("(")[1].split()[0])
    assert 9 * 64 <= calls < 1000
    (throughput,) = run_throughput(planted.sleepy, backend="sleepy", records=10_000, threads=(2,), budget_s=0.1,
                                   workdir=str(tmp_path))
    logged = int(throughput.detail.split()[0])
    assert 64 <= logged < 1000 and throughput.value <= 1000.0


def test_throughput_records_are_well_formed(tmp_path: Path) -> None:
    every = run_throughput(SYNC, records=800, threads=(1, 2, 4, 8), workdir=str(tmp_path))
    _check_records(every, "throughput", "sync")
    (machine,) = [r for r in every if r.metric == "calibration_ns"]  # the judged single-producer case only
    assert machine.case == "threads=1" and machine.unit == "ns" and machine.low <= machine.value <= machine.high
    assert len(json.loads(machine.detail.split("samples ")[1])) == 6  # before each of 5 repetitions, after the last
    (twin,) = [r for r in every if r.metric == "records_per_calibration"]
    assert twin.case == "threads=1" and twin.unit == "x" and 0 < twin.low <= twin.value <= twin.high
    records = [r for r in every if r.metric == "records_per_s"]
    assert [r.case for r in records] == ["threads=1", "threads=2", "threads=4", "threads=8"]
    assert all(r.value > 0 and r.unit == "records/s" and "0 dropped" in r.detail for r in records)
    assert all(r.low is not None and r.high is not None and r.low <= r.value <= r.high for r in records)
    assert all("5 repetitions" in r.detail and "coverage 0.938" in r.detail for r in records)


def test_throughput_catches_a_backend_that_sleeps_per_call(tmp_path: Path) -> None:
    """The sleep holds the sink lock, so no thread count gets past 1000 records/s."""
    records = run_throughput(planted.sleepy, backend="sleepy", records=40, threads=(1, 4), workdir=str(tmp_path))
    records = [r for r in records if r.metric == "records_per_s"]
    assert len(records) == 2 and all(r.value <= 1000.0 for r in records), [r.value for r in records]


def test_throughput_turns_a_multi_thread_deadlock_into_a_failed_case(tmp_path: Path) -> None:
    """A backend that hangs once a second thread logs: the single-thread case is measured, the
    multi-thread cases are killed after ``stall_s`` without progress and recorded as failed."""
    records = run_throughput(planted.second_thread_hangs, backend="hangs", records=2000, threads=(1, 2, 4),
                             stall_s=1.0, workdir=str(tmp_path))
    records = [r for r in records if r.metric == "records_per_s"]
    assert [r.case for r in records] == ["threads=1", "threads=2", "threads=4"]
    assert records[0].status == "ok" and records[0].value is not None and records[0].value > 0
    for record in records[1:]:
        assert record.status == "failed" and record.value is None, record.detail
        assert record.detail == "deadlock: no progress in 1s"


@pytest.mark.parametrize("name", [n for n in loggers.BACKENDS if n not in ("null", "sync")])
def test_scenarios_run_every_other_reference_backend(name: str, tmp_path: Path) -> None:
    factory = functools.partial(loggers.create, name)
    records = run_throughput(factory, records=200, threads=(2,), workdir=str(tmp_path))
    records += run_latency(factory, calls=200, cases=("steady",), workdir=str(tmp_path))
    timed = [r for r in records if r.metric not in ("stalls", "stalled_calls_pct")]  # counts, may be 0
    assert all(r.status == "ok" and r.backend == name and r.value and r.value > 0 for r in timed)
    assert "0 dropped" in records[0].detail
