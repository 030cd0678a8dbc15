"""harness: result format, discovery, one process per cell (failures become data), run end to end, compare, gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

import loggers
from harness import _format, discover, store
from harness._spawn import spawn_cell
from harness._summary import format_summary
from harness.cli import main
from scenarios import ResultRecord

ROOT = Path(__file__).resolve().parent.parent
TESTS = str(Path(__file__).resolve().parent)
META = {"machine": "m", "cpu_count": 2, "python": "3.11", "quick": True,
        "reference_backends": ["null", "sync", "thread-queue"], "baseline_backends": ["null"]}


def _rec(scenario: str, backend: str, case: str, metric: str, value: float | None, **kw: Any) -> dict[str, Any]:
    return ResultRecord(scenario, backend, case, metric, value, kw.pop("unit", "%"), **kw).as_dict()


def _overhead(backend: str, value: float, low: float, high: float, verdict: str) -> dict[str, Any]:
    return _rec("overhead", backend, "rate=1/unit", "wall_overhead_pct", value, low=low, high=high, verdict=verdict)


def _save(path: Path, records: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> str:
    store.save(str(path), meta or META, records)
    return str(path)


# -- format --------------------------------------------------------------------------


def test_format_round_trip_and_overwrite(tmp_path: Path) -> None:
    records = [_overhead("sync", 3.0, 1.0, 4.0, "pass"), _rec("latency", "sync", "steady", "p50_ns", 900.0, unit="ns")]
    _format.dump(tmp_path, META, records)
    data = _format.load(tmp_path)
    assert data["format_version"] == _format.FORMAT_VERSION == 1
    assert data["records"] == records and data["metadata"] == META
    with pytest.raises(FileExistsError):
        _format.dump(tmp_path, META, records)
    _format.dump(tmp_path, META, records[:1], overwrite=True)
    assert len(_format.load(tmp_path / "results.json")["records"]) == 1


def test_format_rejects_unknown_version(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"format_version": 2, "metadata": {}, "records": []}))
    with pytest.raises(ValueError, match="format_version"):
        _format.load(tmp_path)


def test_store_writes_a_loadable_table(tmp_path: Path) -> None:
    records = [_overhead("sync", 3.0, 1.0, 4.0, "pass"), _rec("crash", "sync", "sigkill/burst", "lost_records", 0.0,
                                                              unit="count", trial=2)]
    json_path, csv_path = store.save(str(tmp_path), META, records)
    meta, frame = store.load(str(tmp_path))
    assert meta == META and len(frame) == 2 and list(frame.columns) == list(store.COLUMNS)
    assert frame.loc[1, "trial"] == 2 and frame["trial"].isna().tolist() == [True, False]
    import pandas as pd

    assert len(pd.read_csv(csv_path)) == 2 and os.path.basename(json_path) == "results.json"


# -- discovery -------------------------------------------------------------------------


def test_discover_resolves_names() -> None:
    assert "sync" in discover.reference_backends() and "null" in discover.baseline_backends()
    assert "overhead" in discover.scenario_names()
    factory = discover.resolve_factory("sync")
    with tempfile.TemporaryDirectory() as tmp:
        log = factory(path=os.path.join(tmp, "app.log"))
        assert isinstance(log, loggers.backend_class("sync"))
        log.close()
    import planted

    assert discover.resolve_factory("planted:sleepy") is planted.sleepy
    with pytest.raises(ValueError, match="unknown backend"):
        discover.resolve_factory("no-such-backend")
    with pytest.raises(ValueError, match="unknown scenario"):
        discover.resolve_scenario("no-such-scenario")


def test_call_kwargs_passes_only_what_a_scenario_takes() -> None:
    def narrow(factory: object, *, quick: bool = False) -> None: ...
    def wide(factory: object, **kwargs: object) -> None: ...
    assert discover.call_kwargs(narrow, quick=True, workdir="/x", backend="b") == {"quick": True}
    assert discover.call_kwargs(wide, quick=True, backend="b") == {"quick": True, "backend": "b"}


# -- one process per cell -----------------------------------------------------------------


@pytest.fixture
def planted_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", TESTS)


@pytest.mark.usefixtures("planted_on_path")
def test_a_crashing_cell_becomes_a_failed_record() -> None:
    rows = spawn_cell("planted:broken", "throughput", quick=True, timeout=60)
    assert len(rows) == 1
    assert rows[0]["status"] == "failed" and rows[0]["backend"] == "planted:broken"
    assert "exited with status 1" in rows[0]["detail"] and "cannot be created" in rows[0]["detail"]


@pytest.mark.usefixtures("planted_on_path")
def test_a_hanging_cell_times_out() -> None:
    rows = spawn_cell("planted:hanging", "throughput", quick=True, timeout=3)
    assert len(rows) == 1 and rows[0]["status"] == "failed" and "timed out" in rows[0]["detail"]


def test_trials_reach_the_scenario_and_stretch_the_cell_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import run as run_module

    calls: list[tuple[float, dict[str, Any] | None]] = []
    monkeypatch.setattr(run_module, "spawn_cell", lambda backend, scenario, *, quick, timeout, options=None, artifacts_dir=None:
                        calls.append((timeout, options)) or [])
    run_module.run_matrix(["sync"], ["crash"], quick=True, scenario_options={"trials": 200})
    run_module.run_matrix(["sync"], ["crash"], quick=True)
    run_module.run_matrix(["sync"], ["crash"], quick=True, timeout=7.0, scenario_options={"trials": 200})
    quick_limit = run_module.CELL_TIMEOUT_S[0]
    assert calls == [(quick_limit * 10, {"trials": 200}), (quick_limit, None), (7.0, {"trials": 200})]


def test_worker_gives_options_to_a_scenario_that_takes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import _worker

    def scenario(factory: Any, *, quick: bool = False, trials: int | None = None) -> list[ResultRecord]:
        return [ResultRecord("crash", "x", "c", "trials", float(trials or 0), "count")]

    def no_trials(factory: Any, *, quick: bool = False) -> list[ResultRecord]:
        return [ResultRecord("crash", "x", "c", "trials", -1.0, "count")]

    spec = {"backend": "null", "scenario": "crash", "quick": True, "options": {"trials": 1000}}
    monkeypatch.setattr(_worker, "resolve_scenario", lambda name: scenario)
    assert _worker.run_cell(spec)[0]["value"] == 1000
    monkeypatch.setattr(_worker, "resolve_scenario", lambda name: no_trials)  # not taken: not passed
    assert _worker.run_cell(spec)[0]["value"] == -1


@pytest.mark.parametrize("option", ["--trials", "--trials-at-once"])
@pytest.mark.parametrize("bad", ["0", "-3", "many"])
def test_cli_rejects_a_bad_trial_count(option: str, bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "--scenarios", "crash", option, bad])
    assert exc.value.code == 2 and option in capsys.readouterr().err


def test_cli_gives_the_trial_options_to_the_scenarios_and_the_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness import run as run_module

    seen: list[dict[str, Any] | None] = []
    monkeypatch.setattr(run_module, "run_matrix", lambda *a, scenario_options=None, **k: seen.append(scenario_options) or [])
    out = tmp_path / "r"
    assert main(["run", "--backends", "sync", "--scenarios", "crash", "--trials", "7", "--trials-at-once", "3",
                 "--out", str(out)]) == 0
    assert seen == [{"trials": 7, "trials_at_once": 3}]
    meta = json.loads((out / "results.json").read_text())["metadata"]
    assert (meta["trials"], meta["trials_at_once"]) == (7, 3)


def test_run_end_to_end_in_a_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=TESTS)
    cmd = [sys.executable, "-m", "harness", "run", "--quick", "--backends", "null", "sync", "planted:broken",
           "--scenarios", "throughput", "latency", "--out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "[ 18/18]" in done.stderr and "FAILED" in done.stderr  # 3 rounds of each cell (DEFAULT_ROUNDS)
    data = _format.load(out)
    assert data["metadata"]["quick"] is True and data["metadata"]["finished_at"]
    assert len(data["metadata"]["git_commit"] or "0" * 40) == 40
    frame = store.load(str(out))[1]
    ok = frame[frame["status"] == "ok"]
    assert set(ok["backend"]) == {"null", "sync"} and set(ok["scenario"]) == {"throughput", "latency"}
    failed = frame[frame["status"] == "failed"]
    assert sorted(failed["scenario"]) == ["latency", "throughput"]
    lines = done.stdout.splitlines()
    sync_line = next(line for line in lines if line.startswith("sync "))
    assert " us" in sync_line and "FAILED" in next(line for line in lines if line.startswith("planted:broken"))
    # refuses to overwrite without --force
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "--force" in again.stderr


# -- ab: two trees, cell by cell --------------------------------------------------------------


def test_run_interleaved_alternates_which_tree_goes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import run

    calls: list[tuple[str, str, str, str | None]] = []

    def fake_spawn(backend: str, scenario: str, *, root: str, artifacts_dir: str | None,
                   **_: Any) -> list[dict[str, Any]]:
        calls.append((scenario, backend, root, artifacts_dir))
        return [{"scenario": scenario, "backend": backend, "status": "ok", "root": root}]

    monkeypatch.setattr(run, "spawn_cell", fake_spawn)
    lines: list[str] = []
    old, new = run.run_interleaved(["null", "sync"], ["latency", "memory"], ["/A", "/B"], quick=True,
                                   progress=lines.append, artifacts_dirs=["outA", "outB"])
    assert [c[:3] for c in calls] == [
        ("latency", "null", "/A"), ("latency", "null", "/B"), ("latency", "sync", "/B"), ("latency", "sync", "/A"),
        ("memory", "null", "/A"), ("memory", "null", "/B"), ("memory", "sync", "/B"), ("memory", "sync", "/A")]
    assert all(c[3] == ("outA" if c[2] == "/A" else "outB") for c in calls)
    assert {r["root"] for r in old} == {"/A"} and {r["root"] for r in new} == {"/B"} and len(old) == len(new) == 4
    assert len(lines) == 4 and lines[1].startswith("[  2/4] latency") and "#2 ok" in lines[1] and "#1 ok" in lines[1]
    with pytest.raises(ValueError, match="2 trees but 1 result directories"):
        run.run_interleaved(["null"], ["latency"], ["/A", "/B"], quick=True, artifacts_dirs=["outA"])


def test_ab_refuses_a_directory_that_is_not_a_logbench_tree(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ab", str(tmp_path), str(ROOT), "--backends", "null", "--scenarios", "latency",
                 "--out", str(tmp_path / "ab")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path} is not a logbench tree" in err and "harness/_worker.py" in err
    assert not (tmp_path / "ab").exists()


def _tree_with_a_slower_sync(tmp_path: Path) -> Path:
    """A copy of this tree whose ``sync`` spins 50 us in every call (a planted regression; a spin, not a sleep: a
    sleep of 200 us took over 1 ms under load in CI, and calls over 1 ms count as stalls, which compare excuses)."""
    import shutil

    tree = tmp_path / "new-tree"
    for package in ("loggers", "scenarios", "harness"):
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    sync = tree / "loggers" / "sync.py"
    source = sync.read_text(encoding="utf-8")
    head = "    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:\n"
    assert head in source
    spin = ("        until = __import__('time').perf_counter_ns() + 50_000  # planted\n"
            "        while __import__('time').perf_counter_ns() < until:\n            pass\n")
    sync.write_text(source.replace(head, head + spin), encoding="utf-8")
    return tree


@pytest.mark.slow
def test_ab_runs_each_trees_own_code_and_flags_the_planted_regression(tmp_path: Path) -> None:
    new_tree = _tree_with_a_slower_sync(tmp_path)
    out = tmp_path / "ab"
    cmd = [sys.executable, "-m", "harness", "ab", str(ROOT), str(new_tree), "--quick", "--backends", "null", "sync",
           "--scenarios", "latency", "--out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[  2/2] latency     sync" in done.stderr and "#2 ok" in done.stderr
    assert "regression: latency / sync / steady / p50" in done.stdout, done.stdout  # the ns figure or its twin
    assert "regression: latency / null" not in done.stdout
    (old_meta, old), (new_meta, new) = store.load(str(out / "old")), store.load(str(out / "new"))
    assert old_meta["tree"] == str(ROOT) == new_meta["interleaved_with"] and new_meta["tree"] == str(new_tree)

    def steady_p50(frame: Any) -> float:
        row = frame[(frame["backend"] == "sync") & (frame["case"] == "steady") & (frame["metric"] == "p50_ns")]
        return float(row["value"].iloc[0])

    assert steady_p50(old) < 40_000 < 50_000 <= steady_p50(new)  # each side ran its own tree's sync
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 2 and "--force" in again.stderr


# -- compare and gate ------------------------------------------------------------------------


def _pair(tmp_path: Path, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> tuple[str, str]:
    return _save(tmp_path / "old", old), _save(tmp_path / "new", new)


BASE = [
    _overhead("sync", 3.0, 2.0, 4.0, "pass"),
    _rec("latency", "sync", "steady", "p99_9_ns", 50_000.0, low=45_000.0, high=56_000.0, unit="ns"),
    _rec("throughput", "sync", "threads=1", "records_per_s", 100_000.0, low=95_000.0, high=104_000.0,
         unit="records/s"),
    _rec("rotation", "sync", "single-process", "lost", 0.0, unit="count", verdict="ok"),
]


def test_compare_identical_runs_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", *_pair(tmp_path, BASE, BASE)]) == 0
    assert "INTERPRETERS DIFFER" not in capsys.readouterr().out


def test_compare_across_interpreters_says_so_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _save(tmp_path / "old", BASE, {**META, "implementation": "CPython", "python": "3.11.7"})
    new = _save(tmp_path / "new", BASE, {**META, "implementation": "CPython", "python": "3.13.0"})
    assert main(["compare", old, new]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("INTERPRETERS DIFFER") and "3.11.7" in first and "3.13.0" in first


@pytest.mark.parametrize(
    ("index", "replacement"),
    [
        (0, _overhead("sync", 30.0, 25.0, 35.0, "fail")),
        (1, _rec("latency", "sync", "steady", "p99_9_ns", 80_000.0, low=70_000.0, high=90_000.0, unit="ns")),
        (2, _rec("throughput", "sync", "threads=1", "records_per_s", 60_000.0, low=55_000.0, high=65_000.0,
                 unit="records/s")),
        (3, _rec("rotation", "sync", "single-process", "lost", 3.0, unit="count", verdict="defect")),
        (3, _rec("rotation", "sync", "single-process", "cell", None, unit="-", status="failed", detail="boom")),
    ],
)
def test_compare_flags_a_planted_regression(tmp_path: Path, index: int, replacement: dict[str, Any],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    new = list(BASE)
    new[index] = replacement
    assert main(["compare", *_pair(tmp_path, BASE, new), "--threshold", "10"]) == 1
    assert "1 problem(s)" in capsys.readouterr().out


def test_compare_names_both_intervals_of_a_regression(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = [BASE[0], _rec("latency", "sync", "steady", "p99_9_ns", 80_000.0, low=70_000.0, high=90_000.0, unit="ns")]
    assert main(["compare", *_pair(tmp_path, BASE[:2], new)]) == 1
    assert "5e+04 [4.5e+04, 5.6e+04] -> 8e+04 [7e+04, 9e+04] (beyond 10%, intervals apart)" in capsys.readouterr().out


def test_compare_ignores_noise_and_improvements(tmp_path: Path) -> None:
    new = list(BASE)
    new[0] = _overhead("sync", 14.0, 3.5, 20.0, "inconclusive")  # +11 points, but intervals overlap
    new[1] = _rec("latency", "sync", "steady", "p99_9_ns", 70_000.0, low=52_000.0, high=90_000.0, unit="ns")
    new[2] = _rec("throughput", "sync", "threads=1", "records_per_s", 200_000.0, unit="records/s")
    assert main(["compare", *_pair(tmp_path, BASE, new)]) == 0
    assert main(["compare", *_pair(tmp_path / "x", BASE, new), "--threshold", "1000"]) == 0


def test_compare_reports_but_never_fails_figures_without_an_interval(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    old = [_rec("latency", "sync", "steady", "p99_9_ns", 50_000.0, unit="ns"),
           _rec("overhead", "sync", "rate=1/unit", "wall_overhead_pct", 3.0)]
    new = [_rec("latency", "sync", "steady", "p99_9_ns", 500_000.0, low=450_000.0, high=550_000.0, unit="ns"),
           _rec("overhead", "sync", "rate=1/unit", "wall_overhead_pct", 60.0, low=50.0, high=70.0)]
    assert main(["compare", *_pair(tmp_path, old, new)]) == 0
    out = capsys.readouterr().out
    assert out.count("unjudged") == 2 and "[no interval] -> 5e+05 [4.5e+05, 5.5e+05]" in out


def _p50(backend: str, value: float, case: str = "steady") -> dict[str, Any]:
    return _rec("latency", backend, case, "p50_ns", value, low=value * 0.97, high=value * 1.03, unit="ns")


def _kinds(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> dict[str, str]:
    """backend -> kind of its finding, comparing the record lists in memory."""
    return {f.text.split(" / ")[1]: f.kind for f in _compare(old, new)}


def test_compare_allows_for_a_machine_slower_as_a_whole() -> None:
    old = [_p50("null", 340.0), _p50("sync", 10_000.0), _p50("mmap", 2_000.0)]
    new = [_p50("null", 700.0), _p50("sync", 20_000.0), _p50("mmap", 6_000.0)]  # mmap: 3x while null 2x
    kinds = _kinds(old, new)
    assert kinds == {"null": "baseline moved", "sync": "within drift", "mmap": "regression"}


def test_compare_allowance_is_how_much_null_moved_either_way() -> None:
    old = [_p50("null", 800.0), _p50("sync", 10_000.0)]
    new = [_p50("null", 540.0), _p50("sync", 12_500.0)]  # null 48% faster: sync's +25% is within 10% + 48%
    assert _kinds(old, new) == {"null": "improvement", "sync": "within drift"}
    assert [f.kind for f in _compare(old[1:], new[1:])] == ["regression"]  # no null in the runs: plain rule


def test_compare_uses_nulls_steady_case_for_a_case_null_cannot_run() -> None:
    old = [_p50("null", 340.0), _p50("sync", 10_000.0, "rotating")]
    new = [_p50("null", 700.0), _p50("sync", 20_000.0, "rotating")]
    assert _kinds(old, new)["sync"] == "within drift"


def _calibration(backend: str, value: float, case: str = "steady", scenario: str = "latency") -> dict[str, Any]:
    return _rec(scenario, backend, case, "calibration_ns", value, low=value * 0.97, high=value * 1.03, unit="ns")


def test_compare_judges_a_cells_timings_relative_to_its_calibration_too() -> None:
    # null barely moved (the interpreter), but the cell's encode + write calibration went 1.8x with sync's p50
    old = [_p50("null", 300.0), _p50("sync", 7_500.0), _calibration("sync", 4_300.0)]
    new = [_p50("null", 310.0), _p50("sync", 14_000.0), _calibration("sync", 7_800.0)]
    findings = {f.text.split(" / ")[1] + " " + f.text.split(" / ")[3].split(":")[0]: f for f in _compare(old, new)}
    assert findings["sync p50_ns"].kind == "within drift" and not findings["sync p50_ns"].bad
    assert "calibration_ns (4300 -> 7800)" in findings["sync p50_ns"].text
    assert findings["sync calibration_ns"].kind == "machine moved" and not findings["sync calibration_ns"].bad
    # the same slowdown with the calibration steady is the backend's: a regression
    steady = [*new[:2], _calibration("sync", 4_400.0)]
    assert [f.kind for f in _compare(old, steady)] == ["regression"]
    # a calibration on one side only (an older result file): the other rules alone decide
    assert [f.kind for f in _compare(old[:2], new)] == ["regression"]


def test_a_calibration_that_moved_within_its_noise_excuses_nothing() -> None:
    """A gate-test run: ``slower`` (30% on top of sync) moved rotating p50 +22% while its cell's calibration
    happened to read 14% higher with the two intervals overlapping; dividing by it hid the regression."""
    def calibration(value: float, low: float, high: float) -> dict[str, Any]:
        return _rec("latency", "sync", "rotating", "calibration_ns", value, low=low, high=high, unit="ns")

    def p50(value: float, low: float, high: float) -> dict[str, Any]:
        return _rec("latency", "sync", "rotating", "p50_ns", value, low=low, high=high, unit="ns")

    old = [p50(17_584.0, 16_387.0, 18_293.0), calibration(8_477.0, 8_136.0, 9_986.0)]
    new = [p50(21_519.0, 19_116.0, 23_876.0), calibration(9_673.0, 8_350.0, 10_100.0)]
    assert [f.kind for f in _compare(old, new) if "p50_ns" in f.text] == ["regression"]


def _twin(metric: str, value: float, low: float, high: float, case: str = "steady",
          scenario: str = "latency") -> dict[str, Any]:
    from scenarios._calibrate import relative_metric

    return _rec(scenario, "sync", case, relative_metric(metric), value, low=low, high=high, unit="x")


def test_a_figures_relative_twin_decides_when_both_runs_carry_it() -> None:
    """A clean-clone CI run of one commit (072561a): sync's steady p50 went 7144 -> 11821 ns while the
    calibration read 5190 [5113, 5464] -> 8337 [5255, 9383]: the machine flipped between a fast and a slow
    state within the run, so the calibration's interval overlapped and excused nothing. Repetition by
    repetition, the p50 over the calibration beside it did not move: the twin excuses it."""
    def p50(value: float, low: float, high: float, case: str = "steady") -> dict[str, Any]:
        return _rec("latency", "sync", case, "p50_ns", value, low=low, high=high, unit="ns")

    def calibration(value: float, low: float, high: float) -> dict[str, Any]:
        return _rec("latency", "sync", "steady", "calibration_ns", value, low=low, high=high, unit="ns")

    old = [p50(7_144.0, 7_078.0, 7_275.0), calibration(5_190.0, 5_113.0, 5_464.0)]
    new = [p50(11_821.0, 7_406.0, 12_117.0), calibration(8_337.0, 5_255.0, 9_383.0)]
    assert [f.kind for f in _compare(old, new) if "p50" in f.text] == ["regression"]  # no twins: the old rule
    twins = ([_twin("p50_ns", 1.30, 1.21, 1.35)], [_twin("p50_ns", 1.33, 1.19, 2.06)])
    (finding,) = [f for f in _compare(old + twins[0], new + twins[1]) if "p50" in f.text]
    assert finding.kind == "within drift" and not finding.bad
    assert "p50_per_calibration 1.3 [1.21, 1.35] -> 1.33 [1.19, 2.06]" in finding.text
    # the twin moved beyond the threshold with its intervals apart: the backend's, though the machine moved too
    slower = [_twin("p50_ns", 1.70, 1.62, 1.80)]
    (finding,) = [f for f in _compare(old + twins[0], new + slower) if "p50" in f.text]
    assert finding.kind == "regression" and finding.bad
    assert finding.text.startswith("latency / sync / steady / p50_per_calibration: 1.3 [1.21, 1.35] -> 1.7 [1.62, 1.8]")
    assert "in ns 7144 [7078, 7275] -> 1.182e+04 [7406, 1.212e+04]" in finding.text
    # a twin on one side only (an older file): the old rule
    assert [f.kind for f in _compare(old, new + slower) if "p50" in f.text] == ["regression"]


def test_a_cheap_call_that_moved_with_the_null_calls_timed_beside_it_is_within_drift() -> None:
    """Two same-commit quick runs (2026-12-06, rounds of 3): ``thread-queue``'s steady p50 400 [390, 430] ->
    721 [621, 782] ns, ``null``'s cell 17% slower, the calibration twin 0.095 -> 0.11 (a hand-off is
    interpreter-bound and slowed more than the calibration's write): the p50 over the ``null`` calls timed
    beside it did not move, so the interpreter did. When that twin moved too, it is a regression."""
    from scenarios._calibrate import relative_metric

    def rows(ns: tuple[float, float, float], twin: tuple[float, float, float],
             per_null: tuple[float, float, float]) -> list[dict[str, Any]]:
        return [_rec("latency", "thread-queue", "steady", "p50_ns", ns[0], low=ns[1], high=ns[2], unit="ns"),
                _rec("latency", "thread-queue", "steady", relative_metric("p50_ns"), twin[0], low=twin[1],
                     high=twin[2], unit="x"),
                _rec("latency", "thread-queue", "steady", relative_metric("p50_ns", "null"), per_null[0],
                     low=per_null[1], high=per_null[2], unit="x")]

    old = rows((400.0, 390.0, 430.0), (0.093, 0.090, 0.097), (1.45, 1.40, 1.52))
    same = rows((721.0, 621.0, 782.0), (0.110, 0.104, 0.113), (1.47, 1.38, 1.55))
    (finding,) = [f for f in _compare(old, same) if "p50" in f.text]
    assert finding.kind == "within drift" and not finding.bad
    assert "not relative to the null calls timed beside it" in finding.text and "p50_per_null 1.45" in finding.text
    slower = rows((721.0, 621.0, 782.0), (0.110, 0.104, 0.113), (2.60, 2.41, 2.72))
    assert [f.kind for f in _compare(old, slower) if "p50" in f.text] == ["regression"]
    unmoved_calibration = rows((721.0, 621.0, 782.0), (0.094, 0.090, 0.099), (2.60, 2.41, 2.72))
    assert [f.kind for f in _compare(old, unmoved_calibration) if "p50" in f.text] == ["within drift"]


def test_a_twin_catches_what_a_faster_machine_hid_in_the_steady_p50_only() -> None:
    """A gate-test run: the planted 30% slowdown ran in a faster phase of the VM than sync's own cell, so
    its steady p50 went down in ns (11990 -> 9996) while its p50 over the calibration went 1.36 -> 1.85.
    For the steady case's p50 the twin decides; elsewhere (the steady p90, the rotating and paced cases,
    tails: twins that follow the machine less closely) a regression must show in ns too."""
    def rows(case: str, ns: tuple[float, float, float], twin: tuple[float, float, float],
             metric: str = "p50_ns") -> list[dict[str, Any]]:
        return [_rec("latency", "sync", case, metric, ns[0], low=ns[1], high=ns[2], unit="ns"),
                _twin(metric, *twin, case=case)]

    hidden = ((11_990.0, 11_043.0, 12_055.0), (1.365, 1.230, 1.478)), ((9_996.0, 9_747.0, 15_347.0), (1.850, 1.629, 1.941))
    (finding,) = _compare(rows("steady", *hidden[0]), rows("steady", *hidden[1]))
    assert finding.kind == "regression" and finding.bad
    for case, metric in (("steady", "p90_ns"), ("rotating", "p50_ns"), ("rotating", "p90_ns")):
        assert [f for f in _compare(rows(case, *hidden[0], metric), rows(case, *hidden[1], metric)) if f.bad] == [], \
            (case, metric)
    paced_old = rows("paced", (11_990.0, 11_043.0, 12_055.0), (1.365, 1.230, 1.478))
    paced_new = rows("paced", (9_996.0, 9_747.0, 15_347.0), (1.850, 1.629, 1.941))
    assert [f for f in _compare(paced_old, paced_new) if f.bad] == []
    # a tail's twin divides by the calibration's own tail (a few writes): a same-commit pair read a steady
    # p99 twin 0.64 -> 1.02 while the ns figure went 24.0 -> 19.2 us; tails must show in ns and in the twin
    tail_old = [_rec("latency", "sync", "steady", "p99_ns", 24_020.0, low=22_680.0, high=27_770.0, unit="ns"),
                _twin("p99_ns", 0.640, 0.633, 0.716)]
    tail_new = [_rec("latency", "sync", "steady", "p99_ns", 19_200.0, low=15_850.0, high=21_350.0, unit="ns"),
                _twin("p99_ns", 1.019, 0.957, 1.194)]
    assert [f for f in _compare(tail_old, tail_new) if f.bad] == []


def test_a_twin_that_rose_while_the_calls_got_faster_in_ns_flags_nothing() -> None:
    """A same-commit gate-test pair (2026-12-02, one of five alike): sync's steady p50 went 8713 [8563, 8793] ->
    6569 [6539, 6630] ns, 25% faster, intervals apart, while its twin went 1.507 -> 1.676: the write path sped
    up more than the calls. The twin decides the steady p50, but not against a clear improvement in ns."""
    def rows(ns: tuple[float, float, float], twin: tuple[float, float, float]) -> list[dict[str, Any]]:
        return [_rec("latency", "sync", "steady", "p50_ns", ns[0], low=ns[1], high=ns[2], unit="ns"),
                _twin("p50_ns", *twin)]

    old, new = rows((8_713.0, 8_563.0, 8_793.0), (1.507, 1.494, 1.510)), rows((6_569.0, 6_539.0, 6_630.0),
                                                                              (1.676, 1.665, 1.693))
    (finding,) = [f for f in _compare(old, new) if "p50" in f.text]
    assert finding.kind == "within drift" and not finding.bad and "sped up more than the calls" in finding.text
    # the same twin move with the ns figure flat, or faster only within its noise, is still a regression
    flat = rows((8_650.0, 8_500.0, 8_800.0), (1.676, 1.665, 1.693))
    assert [f.kind for f in _compare(old, flat) if f.bad] == ["regression"]


def test_a_steady_p90_twin_alone_flags_nothing_when_null_moved_more() -> None:
    """A same-commit gate-test pair (2026-12-02): sync's steady p90 went 17.6 us [16.8, 18.5] -> 25.4 us
    [24.4, 26.1] and its twin 1.55 [1.52, 1.64] -> 1.85 [1.75, 1.92], while null's p90 went 841 -> 431 ns:
    the machine moved as a whole, and the p90 twin is not tight enough to decide alone (it flagged this
    pair when it did), so the ns figure must also clear null's drift."""
    def rows(ns: tuple[float, float, float], twin: tuple[float, float, float], null: float) -> list[dict[str, Any]]:
        return [_rec("latency", "sync", "steady", "p90_ns", ns[0], low=ns[1], high=ns[2], unit="ns"),
                _twin("p90_ns", *twin),
                _rec("latency", "null", "steady", "p90_ns", null, low=null * 0.95, high=null * 1.05, unit="ns")]

    old = rows((17_583.0, 16_750.0, 18_520.0), (1.549, 1.521, 1.643), 841.0)
    new = rows((25_378.0, 24_380.0, 26_050.0), (1.846, 1.752, 1.921), 431.0)
    assert [f.text for f in _compare(old, new) if f.bad] == []


def test_a_twin_decides_only_for_calls_the_size_of_a_calibration_write() -> None:
    """The issue's 4-backend runs of one commit: thread-queue's steady p90 moved 1484 -> 1629 ns (+9.8%)
    and its twin 0.139 -> 0.161 (+15%, intervals apart; here as the p50, the figure a twin decides). A
    hand-off at a seventh of a calibration write is interpreter-bound: the CPU and the write path moved
    differently, and the twin alone is no judge."""
    old = [_rec("latency", "thread-queue", "steady", "p50_ns", 1_484.0, low=1_457.0, high=1_602.0, unit="ns"),
           {**_twin("p50_ns", 0.1392, 0.1317, 0.1439), "backend": "thread-queue"}]
    new = [_rec("latency", "thread-queue", "steady", "p50_ns", 1_629.0, low=1_599.0, high=1_686.0, unit="ns"),
           {**_twin("p50_ns", 0.1606, 0.1527, 0.1628), "backend": "thread-queue"}]
    assert [f for f in _compare(old, new) if f.bad] == []
    # the same twins at sync's size (a call about a calibration write) decide
    big = [{**row, "value": row["value"] * 8, "low": row["low"] * 8, "high": row["high"] * 8}
           if row["metric"] != "p50_ns" else row for row in old]
    bigger = [{**row, "value": row["value"] * 8, "low": row["low"] * 8, "high": row["high"] * 8}
              if row["metric"] != "p50_ns" else row for row in new]
    assert [f.kind for f in _compare(big, bigger) if f.bad] == ["regression"]


def test_a_twin_decided_regression_that_stalls_explain_is_stalled() -> None:
    """Stalls in NEW's cell still explain a tail that got worse in ns, twin or not (a stall lengthens the
    calls, not the calibration writes)."""
    def rows(ns: float, twin: float, stalls: float) -> list[dict[str, Any]]:
        return [_rec("latency", "sync", "steady", "max_ns", ns, low=ns * 0.9, high=ns * 1.1, unit="ns"),
                _twin("max_ns", twin, twin * 0.9, twin * 1.1),
                _rec("latency", "sync", "steady", "stalls", stalls, unit="count")]

    (finding,) = [f for f in _compare(rows(50_000.0, 5.0, 0), rows(2_000_000.0, 200.0, 2)) if "max" in f.text]
    assert finding.kind == "stalled" and not finding.bad


def test_a_records_per_s_twin_is_better_higher() -> None:
    def rate(value: float) -> dict[str, Any]:
        return _rec("throughput", "sync", "threads=1", "records_per_s", value, low=value * 0.97,
                    high=value * 1.03, unit="records/s")

    def twin(value: float) -> dict[str, Any]:
        return _twin("records_per_s", value, value * 0.95, value * 1.05, "threads=1", "throughput")

    old, new = [rate(100_000.0), twin(0.50)], [rate(60_000.0), twin(0.49)]
    assert [f.kind for f in _compare(old, new)] == ["within drift"]
    assert [f.kind for f in _compare(old, [rate(60_000.0), twin(0.30)])] == ["regression"]
    assert [f.kind for f in _compare(old, [rate(100_000.0), twin(0.30)])] == []  # a twin alone flags nothing


def test_compare_scales_records_per_s_by_a_calibration_the_other_way() -> None:
    def rate(value: float) -> dict[str, Any]:
        return _rec("throughput", "sync", "threads=1", "records_per_s", value, low=value * 0.97,
                    high=value * 1.03, unit="records/s")

    old = [rate(100_000.0), _calibration("sync", 4_000.0, "threads=1", "throughput")]
    slower_machine = [rate(55_000.0), _calibration("sync", 7_600.0, "threads=1", "throughput")]
    assert [f.kind for f in _compare(old, slower_machine) if f.text.startswith("throughput / sync / threads=1 / "
                                                                              "records")] == ["within drift"]
    slower_backend = [rate(55_000.0), _calibration("sync", 4_100.0, "threads=1", "throughput")]
    assert [f.kind for f in _compare(old, slower_backend)] == ["regression"]


def test_compare_leaves_tails_of_a_stalled_cell_and_contended_throughput_unjudged() -> None:
    def tail(value: float, metric: str = "max_ns") -> dict[str, Any]:
        return _rec("latency", "sync", "paced", metric, value, low=value * 0.9, high=value * 1.1, unit="ns")

    def stalls(count: float) -> dict[str, Any]:
        return _rec("latency", "sync", "paced", "stalls", count, unit="count")

    def share(pct: float) -> dict[str, Any]:
        return _rec("latency", "sync", "paced", "stalled_calls_pct", pct, unit="%")

    def threads(n: int, value: float) -> dict[str, Any]:
        return _rec("throughput", "sync", f"threads={n}", "records_per_s", value, low=value * 0.95,
                    high=value * 1.05, unit="records/s")

    assert [f.kind for f in _compare([tail(5e4), stalls(0)], [tail(1e6), stalls(3)])] == ["stalled"]
    assert [f.kind for f in _compare([tail(5e4), stalls(9)], [tail(1e6), stalls(22)])] == ["stalled"]
    # a CI run: the planted hiccup made 48 stall episodes against sync's 4; its p99 went 27.9 -> 154.7 us
    assert [f.kind for f in _compare([tail(2.8e4), stalls(4)], [tail(1.5e5), stalls(48)])] == ["regression"]
    # stalls only lengthen calls: OLD's cannot fake a regression (a CI run: OLD's 2 episodes hid the hiccup's
    # p99 47.7 -> 112.6 us, its own cell counting none)
    assert [f.kind for f in _compare([tail(4.8e4), stalls(2)], [tail(1.1e5), stalls(0)])] == ["regression"]
    # a p99 is not a max: two stall episodes in 20 000 calls cannot make it (a gate-test set: they hid the planted
    # hiccup's p99 13.7 -> 87.1 us); only a share of stalled calls that reaches 1% of a repetition excuses it
    assert [f.kind for f in _compare([tail(1.4e4, "p99_ns"), stalls(0)], [tail(8.7e4, "p99_ns"), stalls(2)])] \
        == ["regression"]
    assert [f.kind for f in _compare([tail(1.4e4, "p99_9_ns"), stalls(0), share(0.0)],
                                     [tail(8.7e4, "p99_9_ns"), stalls(2), share(0.05)])] == ["regression"]
    assert [f.kind for f in _compare([tail(1.4e4, "p99_ns"), stalls(0), share(0.0)],
                                     [tail(8.7e4, "p99_ns"), stalls(2), share(1.5)])] == ["stalled"]

    def p90(value: float) -> dict[str, Any]:  # a CI run: sync paced p90 22.7 -> 78.4 us
        return _rec("latency", "sync", "paced", "p90_ns", value, low=value * 0.9, high=value * 1.1, unit="ns")

    assert [f.kind for f in _compare([p90(2.3e4), share(0.0)], [p90(7.8e4), share(12.0)])] == ["stalled"]
    assert [f.kind for f in _compare([p90(2.3e4), share(0.0)], [p90(7.8e4), share(2.0)])] == ["regression"]
    assert [f.kind for f in _compare([p90(2.3e4), share(12.0)], [p90(7.8e4), share(0.0)])] == ["regression"]
    assert [f.kind for f in _compare([p90(2.3e4)], [p90(7.8e4)])] == ["regression"]  # older files: no share
    assert [f.kind for f in _compare([tail(5e4), stalls(0)], [tail(1e6), stalls(0)])] == ["regression"]
    assert [f.kind for f in _compare([threads(4, 5e4)], [threads(4, 3e4)])] == ["contended"]
    assert [f.kind for f in _compare([threads(1, 5e4)], [threads(1, 3e4)])] == ["regression"]


def _compare(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Any]:
    from harness.compare import compare

    return compare(store.to_frame(old), store.to_frame(new))


@pytest.mark.parametrize(
    ("records", "code"),
    [
        ([_overhead("sync", 30.0, 25.0, 35.0, "fail"), _overhead("thread-queue", 4.0, 1.0, 9.0, "inconclusive")], 0),
        ([_overhead("sync", 30.0, 25.0, 35.0, "fail"), _overhead("thread-queue", 9.0, 6.0, 12.0, "fail"),
          _overhead("null", 0.0, -1.0, 1.0, "pass"), _overhead("some-peer", 1.0, 0.0, 2.0, "pass")], 3),
        ([_overhead("sync", 30.0, 25.0, 35.0, "fail"),  # target missed and a defect: the defect decides
          _rec("crash", "sync", "sigkill/paced", "lost_max", 2.0, unit="count", verdict="defect")], 1),
        ([_overhead("sync", 3.0, 2.0, 4.0, "pass"),
          _rec("crash", "sync", "sigkill/paced", "lost_max", 2.0, unit="count", verdict="defect")], 1),
        ([_overhead("sync", 3.0, 2.0, 4.0, "pass"),  # a peer's defect is a finding about that library
          _rec("rotation", "some-peer", "multi-process", "lost", 9.0, unit="count", verdict="defect")], 0),
    ],
)
def test_gate(tmp_path: Path, records: list[dict[str, Any]], code: int) -> None:
    assert main(["check", _save(tmp_path, records)]) == code


def test_gate_on_failed_reference_cells_only_when_asked(tmp_path: Path) -> None:
    records = [_overhead("thread-queue", 3.0, 2.0, 4.0, "pass"),
               _rec("memory", "sync", "", "cell", None, unit="-", status="failed", detail="Traceback\nboom")]
    path = _save(tmp_path, records)
    assert main(["check", path]) == 0
    assert main(["check", path, "--fail-on-failed-cells"]) == 1


def test_summary_marks_missing_and_failed_columns() -> None:
    frame = store.to_frame([
        _overhead("sync", 3.04, 2.0, 4.0, "pass"),
        _rec("rotation", "sync", "single-process", "lost", 0.0, unit="count", verdict="ok"),
        _rec("memory", "sync", "", "cell", None, unit="-", status="failed", detail="x"),
    ])
    header, rule, row = format_summary(frame)
    assert row.startswith("sync") and "+3.0% [+2.0,+4.0] pass" in row and "FAILED" in row
    cells = row.split()
    assert cells.count("-") >= 3 and "ok" in cells


# -- the user's own workload and record ------------------------------------------------------

WORKLOAD_MODULE = '''
import json

CALLS = []

def unit():
    json.loads(json.dumps({"a": list(range(40))}))

def record():
    return "checkout", {"cart": 3, "user": "ada"}

def broken():
    raise RuntimeError("database is down")

not_callable = 42
'''


def _logbench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240, check=False)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--workload", "nosuchmod_xyz:unit", "workload: cannot import 'nosuchmod_xyz'"),
    ("--workload", "usermod:broken", "workload: usermod:broken() raised RuntimeError: database is down"),
    ("--workload", "usermod:not_callable", "workload: usermod:not_callable is not callable"),
    ("--workload", "usermod", "workload: expected package.module:callable"),
    ("--record", "usermod:unit", "record: usermod:unit() must return (msg: str, fields: dict"),
    ("--record", "huge", "unknown record shape 'huge'"),
])
def test_a_bad_workload_or_record_fails_before_any_cell(tmp_path: Path, option: str, value: str, message: str) -> None:
    (tmp_path / "usermod.py").write_text(WORKLOAD_MODULE)
    done = _logbench("run", "--quick", "--backends", "sync", "--scenarios", "overhead", option, value,
                     "--out", str(tmp_path / "R"), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "[  1/" not in done.stderr and not (tmp_path / "R").exists()  # no cell ran


def test_overhead_runs_around_the_users_workload_and_record(tmp_path: Path) -> None:
    (tmp_path / "usermod.py").write_text(WORKLOAD_MODULE)
    done = _logbench("run", "--quick", "--backends", "sync", "--scenarios", "overhead", "--workload", "usermod:unit",
                     "--record", "usermod:record", "--out", str(tmp_path / "R"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    meta, frame = store.load(str(tmp_path / "R"))
    assert meta["workload"] == "usermod:unit" and meta["record"] == "usermod:record"
    rows = frame[(frame["metric"] == "wall_overhead_pct") & (frame["status"] == "ok")]
    assert not rows.empty and rows["detail"].str.contains("workload usermod:unit; record usermod:record").all()


def test_summary_shows_the_service_ratio_and_loop_lag_in_microseconds() -> None:
    frame = store.to_frame([
        _rec("service", "asyncio", "lines=5/request", "requests_ratio", 0.93, unit="x", low=0.9, high=0.96),
        _rec("loop_lag", "asyncio", "rate=100000/s", "lag_p99_ms", 0.0421, unit="ms"),
    ])
    header, rule, row = format_summary(frame)
    assert "service 5 lines/req" in header
    assert "0.93x [0.90,0.96]" in row and "0.042 ms" in row


def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``logbench compare A B | head``: the reader went away; no BrokenPipeError traceback, exit code 1."""
    old = [_p50(f"backend-{i}", 1000.0) for i in range(400)]  # 400 regressions: far more than a pipe's buffer
    new = [_p50(f"backend-{i}", 2000.0) for i in range(400)]
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "harness", "compare", *_pair(tmp_path, old, new)], cwd=ROOT,
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
