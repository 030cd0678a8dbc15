"""The service scenario on tiny parameters: well-formed records, a lossy backend caught, a slow one measured."""

from __future__ import annotations

import functools
import importlib

import planted
import pytest

import loggers
import scenarios
from scenarios import ResultRecord, _workload, _wrk
from scenarios.service import SHUTDOWN_CASE, SPEED_METRICS, run_service

pytestmark = pytest.mark.slow

SYNC = functools.partial(loggers.create, "sync")
#: 0.5 s a wrk run: at 0.2 s a loaded machine once let wrk complete no request at all
TINY = {"pairs": 2, "duration_s": 0.5, "warmup_s": 0.0}
WRK_PROBLEM = _wrk.ensure_wrk()
needs_wrk = pytest.mark.skipif(WRK_PROBLEM is not None, reason=f"service scenario not supported here: {WRK_PROBLEM}")


def _by(records: list[ResultRecord], case: str, metric: str) -> ResultRecord:
    found = [r for r in records if r.case == case and r.metric == metric]
    assert len(found) == 1, (case, metric, records)
    return found[0]


def test_registered() -> None:
    module_name, function_name = scenarios.SCENARIOS["service"].split(":")
    assert getattr(importlib.import_module(module_name), function_name) is run_service


@needs_wrk
def test_sync_serves_and_loses_nothing_on_a_clean_shutdown() -> None:
    records = run_service(SYNC, backend="sync", **TINY)
    cases = ("lines=1/request", "lines=5/request")
    assert {(r.case, r.metric) for r in records} == {
        *((case, metric) for case in cases for metric, _ in SPEED_METRICS), (SHUTDOWN_CASE, "records_lost")}
    for record in records:
        assert record.scenario == "service" and record.backend == "sync" and record.status == "ok", record
        ResultRecord(**record.as_dict())
    for case in cases:
        for metric, _ in SPEED_METRICS:
            record = _by(records, case, metric)
            assert record.value is not None and record.low is not None and record.high is not None
            assert 0 < record.low <= record.value <= record.high, record
    lost = _by(records, SHUTDOWN_CASE, "records_lost")
    assert lost.value == 0 and lost.verdict == "ok", lost.detail
    assert "records in 1 file(s): ok" in lost.detail
    # the fixed unit, as the overhead scenario's: every run of a commit serves the same work per request
    assert f"(rounds={_workload.BUILTIN_ROUNDS})" in _by(records, "lines=1/request", "cpu_us_per_request").detail


@needs_wrk
def test_a_backend_that_drops_records_is_a_defect() -> None:
    lost = _by(run_service(planted.drop_every_100, backend="planted", lines=(1,), **TINY), SHUTDOWN_CASE,
               "records_lost")
    assert lost.verdict == "defect" and lost.value is not None and lost.value > 0, lost.detail


@needs_wrk
def test_a_backend_that_sleeps_per_line_serves_measurably_less_than_null() -> None:
    # 1 ms asleep per line, 5 lines a request: at most 200 requests/s, where null serves thousands.
    ratio = _by(run_service(planted.sleepy, backend="sleepy", lines=(5,), **TINY), "lines=5/request",
                "requests_ratio")
    assert ratio.high is not None and ratio.high < 0.5, ratio


def test_without_wrk_every_record_is_not_supported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_wrk.shutil, "which", lambda name: None)
    records = run_service(SYNC, backend="sync", **TINY)
    assert len(records) == 2 * len(SPEED_METRICS) + 1
    for record in records:
        assert record.status == "not supported" and record.value is None
        assert "wrk is not installed and there is no apt-get" in record.detail
