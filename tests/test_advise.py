"""``logbench advise``: the recommendation, runners-up and figures from result files made here."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent / "fixtures"))
from report_results import make_results, write_results

import reports
from reports.advise import MissingData, Question, advise


def _advise(results: str | pathlib.Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "advise", str(results), *options],
                          capture_output=True, text=True, check=False, timeout=120)


def _interpolated(records: list[dict[str, object]], backend: str, rate: float) -> tuple[float, float, float]:
    """(median, low, high) at ``rate`` lines/s, linear between the two measured rates around it (computed here)."""
    unit = {r["case"]: r["value"] for r in records if r["backend"] == backend and r["metric"] == "unit_us"}
    points = []
    for r in records:
        if r["backend"] == backend and r["metric"] == "wall_overhead_pct" and "front=" not in str(r["case"]):
            lines, units = re.fullmatch(r"rate=(\d+)/(\d*)units?", str(r["case"])).groups()  # type: ignore[union-attr]
            points.append((int(lines) / int(units or 1) / (float(unit[r["case"]]) * 1e-6), r))  # type: ignore[arg-type]
    points.sort(key=lambda p: p[0])
    (r0, a), (r1, b) = next((p, q) for p, q in zip(points, points[1:]) if p[0] <= rate <= q[0])
    share = (rate - r0) / (r1 - r0)
    return tuple(float(a[k]) + share * (float(b[k]) - float(a[k])) for k in ("value", "low", "high"))  # type: ignore


@pytest.mark.parametrize("fastest", ["thread-queue", "asyncio"])
def test_recommends_the_lowest_overhead_at_the_rate_with_its_interval(tmp_path: pathlib.Path, fastest: str) -> None:
    document = make_results(fastest=fastest)
    (tmp_path / "results.json").write_text(json.dumps(document))
    done = _advise(tmp_path, "--rate", "20000")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"recommended: {fastest}"
    assert lines[1].startswith("runner-up 1: ") and lines[2].startswith("runner-up 2: ")
    runners = {line.split(": ")[1].split(" (")[0] for line in lines[1:3]}
    assert runners == {"sync", "thread-queue", "asyncio"} - {fastest}
    assert "comparison (peer, not recommended by default): fastlog" in done.stdout
    value, low, high = _interpolated(document["records"], fastest, 20000.0)
    line = next(line for line in lines if line.startswith(f"    {fastest}: ") and "interpolated" in line)
    assert line.startswith(f"    {fastest}: {value:+.1f}% [{low:+.1f}, {high:+.1f}] (below the 5% target); "
                           "interpolated between rate=1/10units"), line


def test_no_loss_filters_and_says_why_the_others_fail(tmp_path: pathlib.Path) -> None:
    done = _advise(write_results(tmp_path, fastest="thread-queue"), "--rate", "20000", "--no-loss")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "recommended: sync"  # the only reference backend that lost nothing on SIGKILL
    assert "runner-up 1: thread-queue (does not meet --no-loss: up to 7 lost)" in lines
    assert any(line.startswith("runner-up 2: asyncio (--no-loss: failed") for line in lines)
    assert "records lost when the process dies (crash) [must meet --no-loss]:" in done.stdout
    assert re.search(r"sync: 0 lost meets it; 0 of 10 SIGKILL trials lost records "
                     r"\(95% interval of the share: 0% to 2\d%\)", done.stdout)


def test_asyncio_and_processes_and_max_rss(tmp_path: pathlib.Path) -> None:
    frame = reports.load_results(write_results(tmp_path)).frame
    reference = ("null", "sync", "thread-queue", "asyncio")
    lagged = advise(frame, Question(10000, asyncio=True), reference)
    assert lagged.recommended == "asyncio"  # lowest loop lag at 10 000/s among reference backends
    shared = advise(frame, Question(20000, processes=4), reference)
    assert "thread-queue" not in shared.qualified and "torn 2" not in shared.reasons["thread-queue"]
    assert shared.reasons["thread-queue"] == "does not meet --processes: 2 bad lines"
    roomy = advise(frame, Question(20000, max_rss_mb=1000), reference)
    tight = advise(frame, Question(20000, max_rss_mb=1), reference)
    assert roomy.qualified == {"sync", "thread-queue", "asyncio"} and not tight.qualified
    assert tight.recommended is None
    peers = advise(frame, Question(20000, include_peers=True), reference)
    assert "fastlog" in peers.order and peers.comparison is None


def test_asyncio_ranks_the_service_first_then_loop_lag(tmp_path: pathlib.Path) -> None:
    frame = reports.load_results(write_results(tmp_path)).frame
    reference = ("null", "sync", "thread-queue", "asyncio")
    chatty = (frame["scenario"] == "service") & (frame["case"] == "lines=5/request") & (frame["backend"] == "asyncio")
    frame.loc[chatty, ["value", "low", "high"]] = [0.60, 0.57, 0.63]  # asyncio serves clearly less at 5 lines
    advice = advise(frame, Question(10000, asyncio=True), reference)
    assert advice.recommended == "thread-queue"  # although asyncio's loop lag is the lowest
    title = next(n.title for n in advice.needs if n.scenario == "service")
    assert advice.figures["asyncio"][title].text == "0.60x [0.57, 0.63]"


@pytest.mark.parametrize(("without", "options", "named"), [
    (("crash",), ["--no-loss"], "scenario crash not run (--no-loss needs it"),
    (("rotation",), ["--processes", "3"], "scenario rotation not run (--processes needs it"),
    (("memory",), ["--max-rss", "64"], "scenario memory not run (--max-rss needs it"),
    (("loop_lag",), ["--asyncio"], "scenario loop_lag not run (--asyncio needs it"),
    (("service",), ["--asyncio"], "scenario service not run (--asyncio needs it"),
    (("overhead",), [], "scenario overhead not run (--rate needs it"),
])
def test_missing_scenario_exits_2_naming_it(tmp_path: pathlib.Path, without: tuple[str, ...],
                                            options: list[str], named: str) -> None:
    done = _advise(write_results(tmp_path, without=without), "--rate", "20000", *options)
    assert done.returncode == 2 and done.stdout == ""
    assert named in done.stderr, done.stderr


@pytest.mark.parametrize(("rate", "options", "named"), [
    ("500", [], "--rate: 500 lines/s is outside the measured sweep 10,000 to 500,000 lines/s"),
    ("900000", [], "--rate: 900,000 lines/s is outside the measured sweep"),
    ("20000", ["--asyncio"], "--asyncio: 20,000 lines/s is above the highest loop_lag rate measured (10,000/s)"),
])
def test_rate_not_covered_exits_2_naming_the_sweep(tmp_path: pathlib.Path, rate: str, options: list[str],
                                                   named: str) -> None:
    done = _advise(write_results(tmp_path), "--rate", rate, *options)
    assert done.returncode == 2 and named in done.stderr, done.stderr


@pytest.mark.parametrize("options", [[], ["--rate", "0"], ["--rate", "fast"], ["--rate", "nan"],
                                     ["--rate", "100", "--processes", "0"], ["--rate", "100", "--max-rss", "-1"]])
def test_bad_options_exit_2(tmp_path: pathlib.Path, options: list[str]) -> None:
    done = _advise(write_results(tmp_path), *options)
    assert done.returncode == 2 and "error:" in done.stderr, done.stderr


def test_unreadable_results_exit_2(tmp_path: pathlib.Path) -> None:
    done = _advise(tmp_path / "nothing-here", "--rate", "100")
    assert done.returncode == 2 and "no results.json" in done.stderr


def test_question_validates(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="rate"):
        Question(0)
    frame = reports.load_results(write_results(tmp_path)).frame
    with pytest.raises(MissingData, match="no candidate"):
        advise(frame[frame["backend"].isin(["null", "fastlog"])], Question(20000), ("null", "sync"))


def test_help_says_what_it_does() -> None:
    done = subprocess.run([sys.executable, "-m", "harness", "--help"], capture_output=True, text=True, check=True)
    assert re.search(r"advise\s+recommend a backend for your log rate", done.stdout)


WORKLOAD = '''
import time


def unit():
    """About 20 us of the user's own work (a busy loop, so the unit is the same on any machine load)."""
    until = time.perf_counter_ns() + 20_000
    while time.perf_counter_ns() < until:
        pass
'''


@pytest.mark.slow
def test_users_workload_run_then_advise_end_to_end(tmp_path: pathlib.Path) -> None:
    """The issue's own path: a workload module of the user's, ``logbench run --workload``, ``logbench advise``."""
    (tmp_path / "userwork.py").write_text(WORKLOAD, encoding="utf-8")
    root = pathlib.Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}:{root}"}
    out = tmp_path / "R"
    run = subprocess.run([sys.executable, "-m", "harness", "run", "--quick", "--workload", "userwork:unit",
                          "--backends", "sync", "mmap", "--scenarios", "overhead", "crash", "--out", str(out)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "workload: userwork:unit" in run.stdout
    done = subprocess.run([sys.executable, "-m", "harness", "advise", str(out), "--rate", "20000", "--no-loss"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"recommended: (sync|mmap)", lines[0]), lines[0]
    assert "wall overhead at 20,000 lines/s" in done.stdout and "records lost when the process dies" in done.stdout
    assert re.search(r"[+-]\d+\.\d% \[[+-]?\d+\.\d, [+-]?\d+\.\d\]", done.stdout), done.stdout  # a figure with its interval
