"""The fault catalogue over every writing backend: one test per case x backend.

Each case (``scenarios.faults.CASES``) judges what was written and what was
counted; here we also pin the counts the catalogue promises for the clearest
cases, and that a case is "not applicable" only where it must be.
"""

from __future__ import annotations

import functools

import pytest

import loggers
from scenarios import _fault_storm as storm
from scenarios import faults

from conftest import WRITING_BACKENDS


def _has_writer_process(backend: str) -> bool:
    return backend in ("subprocess", "mmap")


def _needs_a_queue(case: str) -> bool:
    """Cases that set queue options: not applicable to a backend without a queue."""
    return case == "slow_disk" or (case.startswith("signal_storm") and "queue_size" in faults.CASES[case].keywords)  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("case", list(faults.CASES))
def test_fault_case(backend: str, case: str) -> None:
    outcome = faults._run_isolated(case, functools.partial(loggers.create, backend))
    if case == "writer_killed":
        assert outcome.applicable == _has_writer_process(backend), outcome.detail
    elif _needs_a_queue(case):
        assert outcome.applicable == ("queue_size" in loggers.backend_class(backend).accepts), outcome.detail
    else:
        assert outcome.applicable, outcome.detail
    if not outcome.applicable:
        return
    assert outcome.ok, outcome.detail
    if case == "disk_full":
        assert (outcome.written, outcome.dropped) == (0, 200) and outcome.errors >= 1
    elif case == "size_limit_then_recovery":
        assert outcome.errors >= 1 and outcome.dropped >= 1 and outcome.written >= 101
    elif case == "hostile_values":
        assert outcome.errors >= 3 and outcome.written == 7
    elif case == "log_after_close":
        assert (outcome.written, outcome.dropped) == (1, 100)
    elif case.startswith("signal_storm"):
        metrics = dict(outcome.metrics)
        assert metrics["raised"] == 0 and metrics["handler_calls"] > 0
        assert outcome.written == metrics["main_written"] + metrics["handler_written"]
        if not case.endswith(("drop_new", "drop_old")):
            assert metrics["main_written"] == storm.MAIN_RECORDS


def test_signal_storm_cases_cover_interval_queue_size_and_policy() -> None:
    storms = [faults.CASES[name] for name in faults.CASES if name.startswith("signal_storm")]
    assert {case.keywords["interval_s"] for case in storms} >= {0.001, 0.0001}  # type: ignore[attr-defined]
    assert {case.keywords.get("overflow") for case in storms} == {None, "block", "drop_new", "drop_old"}  # type: ignore[attr-defined]


@pytest.mark.slow
def test_signal_storm_runs_for_peers_with_the_outcome_as_data() -> None:
    from harness import peers

    records = faults.run_faults(peers.peer_factory("stdlib-file"), backend="stdlib-file", cases=["signal_storm_1ms"])
    storm_records = {r.metric: r for r in records if r.case == "signal_storm_1ms"}
    assert {"written", "dropped", "errors", "handler_calls", "main_written", "handler_written", "raised"} <= set(storm_records)
    assert {r.verdict for r in storm_records.values()} <= {"ok", "defect"}
    assert storm_records["handler_calls"].value and storm_records["handler_calls"].value > 0


@pytest.mark.parametrize("name", WRITING_BACKENDS)
def test_bad_configuration_is_refused_naming_the_option(name: str) -> None:
    (record,) = [r for r in faults.run_faults(functools.partial(loggers.create, name), backend=name, cases=[]) if r.case == "bad_configuration"]
    assert record.verdict == "ok", record.detail
    assert record.value and record.value >= 10


def test_a_hanging_case_becomes_a_defect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faults, "CASE_TIMEOUT_SECONDS", 2.0)
    outcome = faults._run_isolated("huge_message", functools.partial(_sleepy_factory))
    assert not outcome.ok and "no result within" in outcome.detail


def _sleepy_factory(path: object, **options: object) -> object:
    import time

    time.sleep(30)
    raise AssertionError("unreachable")


def test_a_backend_flooding_stderr_is_a_defect() -> None:
    import planted

    outcome = faults._run_isolated("huge_message", planted.chatty)  # 2 records: 2 lines, fine
    assert outcome.ok, outcome.detail
    outcome = faults._run_isolated("signal_handler", planted.chatty)  # 20,000+ records, a line each
    assert not outcome.ok and "stderr flooded" in outcome.detail


def test_quick_catalogue_keeps_every_case_but_three_storm_variants() -> None:
    quick, full = faults._cases(True), faults._cases(False)
    assert full == list(faults.CASES)
    assert [c for c in full if not c.startswith("signal_storm")] == [c for c in quick if not c.startswith("signal_storm")]
    assert [c for c in quick if c.startswith("signal_storm")] == list(faults.QUICK_STORM_CASES)
    assert set(faults.QUICK_STORM_CASES) < {c for c in full if c.startswith("signal_storm")}
