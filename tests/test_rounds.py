"""Rounds: one cell's repetitions in several processes, pooled (scenarios/_rounds.py, harness/run.py)."""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

import pytest

import loggers
from harness import discover
from harness import run as run_module
from harness.cli import main
from scenarios import ROUNDS, SCENARIOS, ResultRecord
from scenarios._rounds import pool, share
from scenarios._stats import median_interval
from scenarios.overhead import merge_rounds as merge_overhead
from scenarios.throughput import run_throughput


def _figure(samples: list[float], metric: str = "p50_ns", **extra: Any) -> ResultRecord:
    est = median_interval(samples)
    return ResultRecord("latency", "b", "steady", metric, est.value, "ns", low=est.low, high=est.high,
                        samples=est.samples, detail="d", **extra)


def test_share_is_a_rounded_up_part_and_refuses_no_rounds() -> None:
    assert [share(9, 3), share(5, 3), share(7, 3), share(15, 1), share(1, 3), share(2, 3, least=2)] == [3, 2, 3, 15, 1, 2]
    with pytest.raises(ValueError, match="rounds"):
        share(9, 0)


def test_pool_takes_the_median_and_interval_of_every_rounds_samples() -> None:
    """Three rounds, one of them in a slow spell: the pooled interval reaches it, each round's alone does not."""
    rounds = [[_figure([400, 410, 405])], [_figure([390, 401, 395])], [_figure([760, 770, 780])]]
    (pooled,) = pool(rounds)
    expected = median_interval([400, 410, 405, 390, 401, 395, 760, 770, 780])
    assert (pooled.value, pooled.low, pooled.high) == (expected.value, expected.low, expected.high)
    assert pooled.high >= 760 and len(pooled.samples or ()) == 9
    assert "pooled over 3 rounds (processes): 9 samples" in pooled.detail


def test_pool_sums_counts_combines_by_the_scenarios_rule_and_hulls_intervals_without_samples() -> None:
    def rec(metric: str, value: float, unit: str, low: float | None = None, high: float | None = None) -> ResultRecord:
        return ResultRecord("latency", "b", "steady", metric, value, unit, low=low, high=high)

    rounds = [[rec("stalls", 1, "count"), rec("stalled_calls_pct", 0.5, "%"), rec("x_ms", 3, "ms", 2, 4)],
              [rec("stalls", 2, "count"), rec("stalled_calls_pct", 4.0, "%"), rec("x_ms", 5, "ms", 4.5, 9)]]
    stalls, share_pct, x = pool(rounds, {"stalled_calls_pct": max})
    assert stalls.value == 3 and share_pct.value == 4.0
    assert (x.value, x.low, x.high) == (4.0, 2.0, 9.0)  # the median of the values; the hull of the intervals


def test_pool_keeps_a_record_that_is_not_ok_and_pools_what_some_rounds_lack() -> None:
    failed = ResultRecord("throughput", "b", "threads=8", "records_per_s", None, "records/s", status="failed",
                          detail="stuck")
    ok = _figure([1.0, 2.0, 3.0], metric="records_per_s")
    only_first = _figure([7.0, 8.0], metric="p90_ns")
    merged = pool([[ok, only_first], [dataclasses.replace(ok, case="threads=8"), failed]])
    by_key = {(r.case, r.metric): r for r in merged}
    assert by_key[("threads=8", "records_per_s")].status == "failed"
    assert by_key[("steady", "p90_ns")].value == 7.5  # one round had it: its own samples
    assert by_key[("steady", "records_per_s")].samples == (1.0, 2.0, 3.0)


def test_every_pooling_scenario_takes_rounds_and_its_merge_resolves() -> None:
    import inspect

    assert set(ROUNDS) <= set(SCENARIOS)
    for name in ROUNDS:
        assert "rounds" in inspect.signature(discover.resolve_scenario(name)).parameters, name
        assert callable(discover.resolve_merge(name))
    assert discover.resolve_merge("crash") is None


def test_a_round_does_its_share_of_the_repetitions(tmp_path: Path) -> None:
    factory = functools.partial(loggers.create, "null")
    records = run_throughput(factory, quick=True, workdir=str(tmp_path), threads=(1,), rounds=3)
    rate = next(r for r in records if r.metric == "records_per_s")
    assert len(rate.samples or ()) == 2 and "in 2 repetitions" in rate.detail  # 5 repetitions in 3 rounds: 2 each


def test_overhead_merge_judges_the_pooled_interval_again_and_recomputes_the_sustainable_rate() -> None:
    def round_of(samples: list[float]) -> list[ResultRecord]:
        est = median_interval(samples)
        return [ResultRecord("overhead", "b", "rate=1/unit", "wall_overhead_pct", est.value, "%", low=est.low,
                             high=est.high, samples=est.samples, verdict="pass" if est.high < 5 else "inconclusive"),
                ResultRecord("overhead", "b", "rate=1/unit", "unit_us", 25.0, "us", samples=(25.0,)),
                ResultRecord("overhead", "b", "sweep", "sustainable_lines_per_s", 1.0, "lines/s", verdict="pass")]

    merged = merge_overhead([round_of([1.0, 2.0, 3.0]), round_of([2.0, 3.0, 4.0]), round_of([6.0, 7.0, 8.0])])
    wall = next(r for r in merged if r.metric == "wall_overhead_pct")
    assert (wall.low, wall.high) == (2.0, 7.0) and wall.verdict == "inconclusive"
    sustainable = [r for r in merged if r.metric == "sustainable_lines_per_s"]
    assert len(sustainable) == 1 and sustainable[0].value == 0.0 and sustainable[0].verdict == "fail"


def _fake_spawn(calls: list[tuple[str, str, Any]], fail: tuple[str, int] | None = None) -> Any:
    def spawn(backend: str, scenario: str, *, quick: bool, timeout: float, options: Any = None,
              artifacts_dir: Any = None) -> list[dict[str, Any]]:
        calls.append((scenario, backend, options))
        number = sum(1 for c in calls if c[:2] == (scenario, backend))
        if fail == (scenario, number):
            return [ResultRecord(scenario, backend, "", "cell", None, "-", status="failed", detail="boom").as_dict()]
        est = median_interval([float(number)])
        return [ResultRecord(scenario, backend, "c", "p50_ns", est.value, "ns", low=est.low, high=est.high,
                             samples=est.samples).as_dict()]
    return spawn


def test_run_matrix_runs_pooling_cells_round_by_round_and_others_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str, Any]] = []
    monkeypatch.setattr(run_module, "spawn_cell", _fake_spawn(calls))
    lines: list[str] = []
    rows = run_module.run_matrix(["null", "sync"], ["latency", "crash"], quick=True, rounds=3, progress=lines.append)
    assert [c[:2] for c in calls] == [("latency", "null"), ("latency", "sync"), ("crash", "null"), ("crash", "sync"),
                                      ("latency", "null"), ("latency", "sync"),
                                      ("latency", "null"), ("latency", "sync")]
    assert [c[2] for c in calls[:3]] == [{"rounds": 3}, {"rounds": 3}, None]
    latency = [r for r in rows if r["scenario"] == "latency"]
    assert [(r["backend"], r["value"], r["low"], r["high"]) for r in latency] == [("null", 2.0, 1.0, 3.0),
                                                                                ("sync", 2.0, 1.0, 3.0)]
    assert len(lines) == 8 and "1/3" in lines[0] and "3/3" in lines[-1]


def test_a_cell_that_failed_in_any_round_is_that_rounds_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "spawn_cell", _fake_spawn([], fail=("latency", 2)))
    (row,) = run_module.run_matrix(["sync"], ["latency"], quick=True, rounds=3)
    assert row["status"] == "failed" and row["detail"].startswith("round 2 of 3: boom")


def test_cli_rounds_reach_the_matrix_and_the_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    monkeypatch.setattr(run_module, "run_matrix", lambda *a, rounds=1, **k: seen.append(rounds) or [])
    assert main(["run", "--backends", "sync", "--scenarios", "latency", "--rounds", "2", "--out", str(tmp_path / "a")]) == 0
    assert main(["run", "--backends", "sync", "--scenarios", "latency", "--out", str(tmp_path / "b")]) == 0
    assert seen == [2, run_module.DEFAULT_ROUNDS]
    assert json.loads((tmp_path / "a" / "results.json").read_text())["metadata"]["rounds"] == 2
    with pytest.raises(SystemExit):
        main(["run", "--rounds", "0"])
