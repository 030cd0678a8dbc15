"""The HTML report: built from a fixture result set, checked for content and verdicts."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import subprocess
import sys

import pandas as pd
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent / "fixtures"))
from report_results import make_results, write_results

import reports
from reports import verdict
from reports._build import FIGURES, SECTION_IDS


def _build(tmp_path: pathlib.Path, **kwargs: object) -> str:
    results_dir = write_results(tmp_path / "results", **kwargs)
    output = tmp_path / "report.html"
    reports.build_report(results_dir, output)
    return output.read_text(encoding="utf-8")


def _section(page: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', page, re.DOTALL)
    assert match, f"no section {section_id}"
    return match.group(1)


def _choice_row(page: str, need: str) -> tuple[str, str]:
    """(qualifying backends, sentence) of one "choose a backend" row."""
    choose = _section(page, "choose")
    match = re.search(rf"<td>{re.escape(need)}</td>\s*<td class=\"backends\">(.*?)</td>\s*<td>(.*?)</td>", choose, re.DOTALL)
    assert match, f"no row {need!r}"
    return match.group(1).strip(), match.group(2).strip()


def test_every_figure_and_section_present(tmp_path: pathlib.Path) -> None:
    page = _build(tmp_path)
    assert page.count("<svg") == len(FIGURES) == 9
    for section_id in SECTION_IDS:
        assert f'<section id="{section_id}">' in page
    for figure_id in FIGURES:
        assert "<svg" in _section(page, figure_id)
    assert "no data" not in page
    # self-contained: nothing fetched from elsewhere (namespace URIs in the SVG are names, not fetches)
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert "<link" not in page and "<script" not in page and "@import" not in page


@pytest.mark.parametrize("name", ["fig-latency", "fig-throughput", "fig-memory"])
def test_figures_draw_the_intervals_as_error_bars(tmp_path: pathlib.Path, name: str) -> None:
    """The same figure without ``low``/``high`` (an older result file) draws fewer lines: the bars."""
    from reports._load import load_results

    results = load_results(write_results(tmp_path / "results"))
    bare = dataclasses.replace(results, frame=results.frame.assign(low=float("nan"), high=float("nan")))
    draw = FIGURES[name][2]
    with_bars, without = draw(results), draw(bare)
    assert with_bars is not None and without is not None
    assert with_bars.count("<path") > without.count("<path"), f"{name}: no error bars drawn"


def test_verdict_follows_the_fixture(tmp_path: pathlib.Path) -> None:
    page_b = _build(tmp_path / "b", fastest="thread-queue")
    page_c = _build(tmp_path / "c", fastest="sync")
    assert _choice_row(page_b, "Lowest overhead")[0] == "thread-queue"
    assert _choice_row(page_c, "Lowest overhead")[0] == "sync"
    sentence = _choice_row(page_c, "Lowest overhead")[1]
    assert "1.00%" in sentence and "rate=1/unit" in sentence  # cites the measured figure


def test_other_verdict_rows_match_the_fixture(tmp_path: pathlib.Path) -> None:
    page = _build(tmp_path)
    assert _choice_row(page, "No loss on crash (SIGKILL)")[0] == "sync"  # only sync lost 0 on every kill
    crash_why = _choice_row(page, "No loss on crash (SIGKILL)")[1]
    assert "asyncio failed" in crash_why and "thread-queue lost up to 7" in crash_why
    # service at 5 lines: asyncio 0.93x best, thread-queue 0.90x tied with it; loop lag (5 vs 15 ms) separates them
    backends, why = _choice_row(page, "asyncio application")
    assert backends == "asyncio", why
    assert "statistically tied: thread-queue 0.90x (0.86 to 0.94)" in why and "lines=5/request" in why
    assert "loop lag p99 at rate=10000/s: 5.000 ms" in why and "null floor 1.000 ms" in why
    # thread-queue tore lines in multi-process rotation
    assert _choice_row(page, "Several processes writing one file")[0] == "asyncio, fastlog (peer), sync"
    # asyncio never dropped under drop policies; sync has no queue
    backends, why = _choice_row(page, "Bounded memory under a slow disk")
    assert backends == "fastlog (peer), thread-queue"
    assert "caller stalls" in why and "sync: drop_new not supported" in why


def test_verdict_functions_are_pure_over_the_frame(tmp_path: pathlib.Path) -> None:
    results = reports.load_results(write_results(tmp_path, fastest="asyncio"))
    before = results.frame.copy()
    choice = verdict.lowest_overhead(results.frame)
    assert choice.backends == ("asyncio",) and choice.has_data
    assert results.frame.equals(before)
    tied = results.frame.copy()
    mask = (tied["scenario"] == "overhead") & (tied["case"] == "rate=1/unit") & (tied["backend"] == "thread-queue")
    tied.loc[mask, ["value", "low", "high"]] = [1.2, 0.8, 1.6]  # overlaps asyncio's 0.6..1.4
    assert verdict.lowest_overhead(tied).backends == ("asyncio", "thread-queue")


def test_missing_data_says_so(tmp_path: pathlib.Path) -> None:
    page = _build(tmp_path, without=("overhead", "crash", "faults", "loop_lag", "service"))
    assert _choice_row(page, "Lowest overhead")[0] == "no data"
    assert "no data: scenario overhead not run" in _choice_row(page, "Lowest overhead")[1]
    assert "no data: scenario crash not run" in _choice_row(page, "No loss on crash (SIGKILL)")[1]
    assert "no data: scenarios service and loop_lag not run" in _choice_row(page, "asyncio application")[1]
    assert "loop_lag not run" in _choice_row(_build(tmp_path / "lagless", without=("loop_lag",)),
                                             "asyncio application")[1]
    assert "no data: scenario overhead not run" in _section(page, "fig-overhead")
    assert "no data: scenario faults not run" in _section(page, "faults")
    assert page.count("<svg") == 4  # caller, latency, throughput, memory still drawn
    assert "no data: scenario service not run" in _section(page, "fig-service")
    assert _choice_row(page, "Several processes writing one file")[0] == "asyncio, fastlog (peer), sync"


def test_peers_and_cell_statuses_are_marked(tmp_path: pathlib.Path) -> None:
    page = _build(tmp_path)
    summary = _section(page, "summary")
    assert '<td class="peer">fastlog (peer)</td>' in summary
    assert "sync (peer)" not in page and "thread-queue (peer)" not in page
    assert "fastlog (peer)" in _section(page, "fig-overhead")  # legend label in the SVG
    assert 'class="bad">failed<' in _section(page, "problems")
    assert "not supported" in _section(page, "problems")
    faults = _section(page, "faults")
    assert "ok: sync: ENOSPC counted as 3 errors" in faults
    assert "defect: torn 2" in _section(page, "rotation")
    assert "raised RuntimeError: child hung" in _section(page, "problems")
    assert "Traceback" not in page  # tracebacks are shortened to their exception line


def test_browser_check_says_when_chromium_is_missing(tmp_path: pathlib.Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from reports._browser import BrowserError, check_page

    monkeypatch.setenv("PATH", str(tmp_path))
    (tmp_path / "report.html").write_text("<html></html>")
    with pytest.raises(BrowserError, match="Chromium is not installed"):
        check_page(tmp_path / "report.html", tmp_path / "shot.png", SECTION_IDS)
    assert not (tmp_path / "shot.png").exists()


def test_metadata_table(tmp_path: pathlib.Path) -> None:
    meta = _section(_build(tmp_path), "metadata")
    for value in ("fixture-box", "3.11.7", "abc123def4567890"):
        assert value in meta


def test_unknown_format_version_is_refused(tmp_path: pathlib.Path) -> None:
    document = make_results()
    document["format_version"] = 99
    (tmp_path / "results.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match="format_version"):
        reports.load_results(tmp_path)


def test_cli_builds_and_reports_errors(tmp_path: pathlib.Path) -> None:
    results_dir = write_results(tmp_path / "r", fastest="sync")
    output = tmp_path / "out" / "report.html"
    done = subprocess.run([sys.executable, "-m", "reports", "build", results_dir, "-o", str(output)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert output.exists() and "Lowest overhead: sync" in done.stdout
    missing = subprocess.run([sys.executable, "-m", "reports", "build", str(tmp_path / "nope")],
                             capture_output=True, text=True, check=False)
    assert missing.returncode == 2 and "no results.json" in missing.stderr


def test_asyncio_row_says_no_difference_when_no_figure_separates_the_backends(tmp_path: pathlib.Path) -> None:
    frame = reports.load_results(write_results(tmp_path)).frame.copy()
    for scenario, metric in (("service", "requests_ratio"), ("loop_lag", "lag_p99_ms")):
        rows = (frame["scenario"] == scenario) & (frame["metric"] == metric)
        frame.loc[rows, "low"] = 0.0
        frame.loc[rows, "high"] = 100.0
    choice = verdict.asyncio_application(frame)
    assert set(choice.backends) == {"sync", "thread-queue", "asyncio", "fastlog"}
    assert choice.sentence.count("no difference measured") == 2, choice.sentence


def test_asyncio_row_ranks_loop_lag_alone_without_the_service(tmp_path: pathlib.Path) -> None:
    frame = reports.load_results(write_results(tmp_path, without=("service",))).frame
    choice = verdict.asyncio_application(frame)
    assert choice.backends == ("fastlog",) and choice.has_data  # lowest lag at 10 000/s, lags have no interval
    assert "service not run" in choice.sentence and "others: asyncio 5.000 ms" in choice.sentence


def test_tie_rule_names_every_overlapping_backend() -> None:
    rows = pd.DataFrame({"backend": ["a", "b", "c"], "value": [1.0, 1.5, 3.0], "low": [0.8, 1.1, 2.9],
                         "high": [1.2, 1.9, 3.1]})
    lower = verdict.tied_best(rows)
    assert lower.backends == ("a", "b") and list(lower.others["backend"]) == ["c"] and not lower.no_difference
    higher = verdict.tied_best(rows, higher_is_better=True)
    assert higher.backends == ("c",) and list(higher.others["backend"]) == ["b", "a"]
    assert verdict.tied_best(rows.assign(low=0.0, high=5.0)).no_difference
    with pytest.raises(ValueError):
        verdict.tied_best(rows.iloc[0:0])


def test_lowest_overhead_says_no_difference_when_every_interval_overlaps(tmp_path: pathlib.Path) -> None:
    frame = reports.load_results(write_results(tmp_path)).frame.copy()
    mask = (frame["scenario"] == "overhead") & (frame["case"] == "rate=1/unit")
    frame.loc[mask, "low"] = -50.0
    frame.loc[mask, "high"] = 50.0
    choice = verdict.lowest_overhead(frame)
    assert set(choice.backends) == {"sync", "thread-queue", "asyncio", "fastlog"}
    assert choice.sentence.startswith("no difference measured")


def test_import_reports_needs_no_matplotlib() -> None:
    """Loading results and verdicts works without matplotlib; only drawing a figure needs it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'matplotlib':\n"
        "            raise ImportError('matplotlib blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import reports, reports.cli, reports.verdict\n"
        "assert 'matplotlib' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
