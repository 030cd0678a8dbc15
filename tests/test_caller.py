"""The ``caller`` scenario: pyperf runs as a subprocess, its JSON is kept and loads, records carry intervals."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import pyperf
import pytest

import loggers
from scenarios._records import RECORD_SHAPES, record_for
from scenarios.caller import run_caller


def test_record_shapes_are_what_their_names_say() -> None:
    assert len(record_for("small")[1]) == 3
    medium = record_for("medium")[1]
    assert len(medium) == 10 and any(isinstance(v, dict) for v in medium.values())
    assert len(record_for("large")[0]) == 1024
    with pytest.raises(ValueError, match="unknown record shape"):
        record_for("huge")
    assert set(RECORD_SHAPES) == {"small", "medium", "large", "filtered"}


def test_caller_keeps_pyperf_json_that_pyperf_compares(tmp_path: Path) -> None:
    factory = functools.partial(loggers.create, "sync")
    runs = []
    for name in ("a", "b"):
        records = run_caller(factory, backend="sync", quick=True, workdir=str(tmp_path),
                             artifacts_dir=str(tmp_path / name), shapes=("small", "filtered"))
        runs.append(records)
        suite = pyperf.BenchmarkSuite.load(str(tmp_path / name / "pyperf" / "sync.json"))
        assert sorted(suite.get_benchmark_names()) == ["caller[filtered]", "caller[small]"]
    for records in runs:
        by_case = {r.case: r for r in records}
        assert set(by_case) == {"record=small", "record=filtered"}
        for record in records:
            assert record.metric == "ns_per_call" and record.unit == "ns"
            assert record.low is not None and record.high is not None
            assert 0 < record.low <= record.value <= record.high
        # a filtered call does no I/O: cheaper than a written one, whatever the machine's noise
        assert by_case["record=filtered"].high < by_case["record=small"].low
    done = subprocess.run([sys.executable, "-m", "pyperf", "compare_to",
                           str(tmp_path / "a" / "pyperf" / "sync.json"), str(tmp_path / "b" / "pyperf" / "sync.json")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "caller[small]" in done.stdout or "Benchmark hidden" in done.stdout or "ms" in done.stdout


def test_caller_reports_a_failing_pyperf_run(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="pyperf exited"):
        run_caller(functools.partial(loggers.create, "sync"), backend="sync", quick=True,
                   workdir=str(tmp_path), shapes=("no-such-shape",))


def test_quick_caller_measures_the_quick_shapes(tmp_path: Path) -> None:
    from scenarios.caller import QUICK_SHAPES

    records = run_caller(functools.partial(loggers.create, "null"), backend="null", quick=True, workdir=str(tmp_path))
    assert sorted(r.case for r in records) == sorted(
        [f"record={shape}" for shape in QUICK_SHAPES] + ["stdlib=simple,front=accelerated"])


def test_stdlib_fronts_per_kind_of_logger(tmp_path: Path) -> None:
    from harness.peers import PEERS, peer_factory
    from scenarios.caller import stdlib_shapes

    reference = functools.partial(loggers.create, "sync")
    assert stdlib_shapes(reference, quick=True, workdir=str(tmp_path)) == ("stdlib-simple@accelerated",)
    full = stdlib_shapes(reference, quick=False, workdir=str(tmp_path))
    assert len(full) == 6 and "stdlib-format@bridge" in full
    assert stdlib_shapes(peer_factory("stdlib-file"), quick=False, workdir=str(tmp_path)) == (
        "stdlib-silent@own", "stdlib-simple@own", "stdlib-format@own")
    if "structlog-json" in PEERS:
        assert stdlib_shapes(peer_factory("structlog-json"), quick=True, workdir=str(tmp_path)) == ()


def test_stdlib_workloads_on_pyperf(tmp_path: Path) -> None:
    from harness.peers import peer_factory

    records = run_caller(functools.partial(loggers.create, "thread-queue"), backend="thread-queue", quick=True,
                         workdir=str(tmp_path), shapes=("stdlib-simple@bridge", "stdlib-simple@accelerated"))
    by_case = {r.case: r for r in records}
    assert set(by_case) == {"stdlib=simple,front=bridge", "stdlib=simple,front=accelerated"}
    peer = run_caller(peer_factory("stdlib-file"), backend="stdlib-file", quick=True, workdir=str(tmp_path),
                      shapes=("stdlib-format@own",))
    assert [r.case for r in peer] == ["stdlib=format,front=own"] and peer[0].value > 0
