"""The asv suite: discoverable, well-formed, and its helpers skip/fail the right way.

A full asv run builds wheels per commit and takes minutes: that is ``nox -s asv``, not pytest.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import asv_runner.discovery as asv_runner_discovery  # asv is in the dev extra
import pytest

from benchmarks import _common
from benchmarks.bench_caller import CallerCost

ROOT = pathlib.Path(__file__).resolve().parent.parent

EXPECTED = {
    "bench_caller.CallerCost.track_ns_per_call",
    "bench_caller.BurstMemory.peakmem_burst",
    "bench_scenarios.Overhead.track_wall_overhead_pct",
    "bench_scenarios.Crash.track_lost_per_trial_max",
    "bench_scenarios.Rotation.track_defects",
    "bench_scenarios.Memory.track_peak_rss_bytes",
}


def test_asv_discovers_the_suite() -> None:
    names = {b.name for b in asv_runner_discovery.disc_benchmarks(str(ROOT / "benchmarks"))}
    assert EXPECTED <= names, EXPECTED - names
    kinds = {name.rsplit(".", 1)[1].split("_", 1)[0] for name in names}
    assert kinds == {"track", "peakmem"}  # no time_: asv#966 makes one-call time_ benchmarks lie


def test_asv_check_passes_without_touching_home(tmp_path: pathlib.Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "asv", "--config", "asv.conf.json", "check", "--python=same"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No problems found" in done.stdout


def test_asv_config_keeps_everything_under_ignored_dot_asv() -> None:
    from asv.util import load_json  # asv.conf.json may hold // comments

    conf = load_json(str(ROOT / "asv.conf.json"), js_comments=True)
    assert conf["environment_type"] == "virtualenv" and conf["repo"] == "." and conf["branches"] == ["main"]
    assert conf["benchmark_dir"] == "benchmarks"
    for key in ("env_dir", "results_dir", "html_dir"):
        assert conf[key].startswith(".asv/")
    assert "/.asv/" in (ROOT / ".gitignore").read_text().splitlines()
    assert "build" in conf["build_command"][0]


#: what the scenarios asv runs import beyond the standard library (asv installs the wheel without extras)
ASV_NEEDS = {"pyperf": "bench_caller: the caller scenario runs pyperf", "memray": "memory: allocations",
             "psutil": "child CPU"}


def test_asv_environments_install_what_the_benchmarked_scenarios_import() -> None:
    from asv.util import load_json

    conf = load_json(str(ROOT / "asv.conf.json"), js_comments=True)
    missing = {name: why for name, why in ASV_NEEDS.items() if name not in conf["matrix"]["req"]}
    assert not missing, missing


def test_caller_benchmark_reports_the_caller_scenarios_figure() -> None:
    """asv's caller history is the ``caller`` scenario's pyperf median, not a one-call ``time_`` sample."""
    cache = _common.run_per_backend("caller", "run_caller", ["sync"], shapes=("small", "filtered"))
    records = {r["case"]: r for r in cache["sync"]}
    bench = CallerCost()
    for record in ("small", "filtered"):
        bench.setup(cache, "sync", record)
        assert bench.track_ns_per_call(cache, "sync", record) == records[f"record={record}"]["value"]
    assert records["record=filtered"]["value"] < records["record=small"]["value"]
    with pytest.raises(NotImplementedError):
        CallerCost().setup(cache, "no-such-backend-here", "small")


def test_helpers_skip_unsupported_and_fail_failed_cells() -> None:
    record = {"case": "c", "metric": "m", "trial": None, "detail": "why", "value": 3.0, "status": "ok"}
    assert _common.pick([record], "c", "m") == 3.0
    with pytest.raises(NotImplementedError, match="not supported"):
        _common.pick([{**record, "status": "not supported", "value": None}], "c", "m")
    with pytest.raises(RuntimeError, match="failed"):
        _common.pick([{**record, "status": "failed", "value": None}], "c", "m")
    with pytest.raises(NotImplementedError, match="does not exist"):
        _common.require({_common.MISSING: "scenarios.x.run_x does not exist at this commit"}, "sync", "c")
    with pytest.raises(NotImplementedError):
        _common.require({}, "sync", "c")
    # asv skips a benchmark only when setup() raises NotImplementedError: a "not supported" case must be
    # refused there, not in the track_ function (asv counted those as failed and `nox -s asv` exited 2)
    unsupported = {"sync": [{**record, "case": "slow_sink/block", "status": "not supported", "value": None}, record]}
    with pytest.raises(NotImplementedError, match="not supported: why"):
        _common.require(unsupported, "sync", "slow_sink/block")
    assert _common.require(unsupported, "sync", "c") == unsupported["sync"]
    assert _common.scenario("no_such_scenario", "run_it") is None
    json.dumps(_common.run_per_backend("no_such_scenario", "run_it", ["sync"]))  # the cache is plain data


def test_asv_nox_and_pyproject_claim_the_same_interpreters() -> None:
    """asv's matrix, nox's test sessions and ``requires-python`` name the same interpreters."""
    import ast
    import re
    import tomllib

    from asv.util import load_json

    conf = load_json(str(ROOT / "asv.conf.json"), js_comments=True)
    match = re.search(r"^PYTHONS = (\[.*\])", (ROOT / "noxfile.py").read_text(), re.MULTILINE)
    assert match, "noxfile.py defines PYTHONS"
    nox_pythons = ast.literal_eval(match.group(1))
    with open(ROOT / "pyproject.toml", "rb") as file:
        requires = tomllib.load(file)["project"]["requires-python"]
    assert conf["pythons"] == nox_pythons
    assert requires == f">={nox_pythons[0]}"
    assert nox_pythons == [f"3.{minor}" for minor in range(11, 11 + len(nox_pythons))]


def test_asv_params_are_the_registry() -> None:
    """asv params are a fixed list (results line up across commits); it must name exactly the registry's backends."""
    import loggers

    assert sorted(_common.BACKENDS) == sorted(loggers.BACKENDS)
    assert sorted(_common.WRITING_BACKENDS) == sorted(b for b in loggers.BACKENDS if loggers.backend_class(b).writes_file)


def test_caller_cost_digest_names_functions_that_exist_and_is_stable() -> None:
    """``benchmarks/caller_cost.py --digest`` hashes the callers' hot path: every function it names must
    exist (it broke when mmap's hand-off moved to the ring), and the same tree gives the same digest."""
    import importlib

    from benchmarks import caller_cost

    for module, qualname in caller_cost.HOT_PATH:
        owner, name = qualname.split(".")
        assert callable(getattr(getattr(importlib.import_module(module), owner), name)), (module, qualname)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "caller_cost.py"), "--digest", "--base", str(ROOT)],
                          capture_output=True, text=True, timeout=120, check=True)
    digests = [line.split()[4] for line in done.stdout.splitlines()]
    assert len(digests) == 2 and digests[0] == digests[1] and len(digests[0]) == 16, done.stdout


def test_calibration_probe_reports_the_scenarios_own_twins() -> None:
    """``benchmarks/calibration_probe.py`` measures with the latency scenario itself: one line per
    process with, per case, the p50, p90, calibration and both relative twins."""
    from benchmarks.calibration_probe import measure_in_child

    line = measure_in_child("sync")
    cases = line.split(" | ")
    assert cases[0] == "sync" and [c.split()[0] for c in cases[1:]] == ["steady", "rotating", "paced"]
    for case in cases[1:]:
        twins = [float(x) for x in case.split("twins ")[1].split()]
        assert len(twins) == 2 and all(x > 0 for x in twins)


def test_commit_floor_commits_each_record_as_the_journal_lays_it_out() -> None:
    """``benchmarks/overhead_floor.py``'s ``commit`` and ``copy`` floors really serialise, copy and commit: every
    call that passed the level reads back from its ring, in order, through the tags (so the floor
    measures a commit, not a no-op); a wrapped ring refuses to pretend it still holds the first records."""
    from benchmarks import overhead_floor

    sent = [("user login", {"user_id": i, "ok": i % 2 == 0, "path": "/api/v1/items", "total": i / 3}) for i in range(50)]
    for name in ("commit", "copy"):  # the same commit, with and without the lock
        log = overhead_floor.floor_factory(name)(path=None)
        for msg, fields in sent:
            log.info(msg, **fields)
            log.debug("filtered out", n=1)
        got = list(log.floor.records())
        assert [(msg, fields) for _ts, _level, msg, fields in got] == sent, name
        assert {level for _ts, level, _msg, _fields in got} == {20}
    small = overhead_floor.CommitFloor(4096)
    for i in range(100):
        small.handoff(i, 20, "x" * 40, {"i": i})
    with pytest.raises(ValueError, match="wrapped"):
        list(small.records())
    with pytest.raises(ValueError, match="power of two"):
        overhead_floor.CommitFloor(5000)


def test_sender_floor_marshals_every_record_before_flush_returns() -> None:
    from benchmarks import overhead_floor

    log = overhead_floor.floor_factory("append+sender")(path=None)
    try:
        for i in range(3000):
            log.info("request handled", step=i, path="/api/orders")
        assert log.flush(timeout=10.0)
        assert log.floor.marshalled == log.floor.taken == 3000 and not log.floor.items
        assert log.floor.payload_bytes > 3000 * 20
    finally:
        log.close()
    with pytest.raises(ValueError, match="unknown floor"):
        overhead_floor.floor_factory("memcpy")


def test_overhead_floor_measures_each_row_with_the_overhead_scenario(tmp_path: pathlib.Path) -> None:
    """End to end, quick: one row per floor and backend, each an interval from the scenario's A/B pairs."""
    from benchmarks import overhead_floor

    out = tmp_path / "floor.json"
    assert overhead_floor.main(["--quick", "--pairs", "3", "--floors", "null,append", "--backends", "thread-queue",
                                "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [row["row"] for row in rows] == ["null", "append", "thread-queue"]
    for row in rows:
        assert row["low_pct"] <= row["median_pct"] <= row["high_pct"]
        assert row["verdict"] in ("pass", "fail", "inconclusive") and 5 < row["unit_us"] < 500
        assert row["detail"].startswith("3 A/B pairs") and row["front"] == "native"
    assert overhead_floor.main(["--quick", "--pairs", "3", "--front", "accelerated", "--floors", "null", "--backends",
                                "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert row["front"] == "accelerated" and row["low_pct"] <= row["median_pct"] <= row["high_pct"]


def test_serialiser_costs_time_each_serialiser_on_the_scenarios_record() -> None:
    from benchmarks import overhead_floor

    costs = overhead_floor.serialiser_costs(number=200, repeat=1)
    assert "marshal.dumps(rec, 2)" in costs and "json.dumps(fields)" in costs and len(costs) == 7
    assert all(ns > 0 for ns in costs.values())
    pieces = overhead_floor.commit_piece_costs(number=200, repeat=1)
    assert len(pieces) == 3 and all(ns > 0 for ns in pieces.values())
