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
    """(qualifying backends, sentence) of one row of "each need in words"."""
    words = _section(page, "choose")
    match = re.search(rf"<td>{re.escape(need)}</td>\s*<td class=\"backends\">(.*?)</td>\s*<td>(.*?)</td>", words, re.DOTALL)
    assert match, f"no row {need!r}"
    return match.group(1).strip(), match.group(2).strip()


def _matrix_cells(page: str) -> dict[str, list[str]]:
    """backend label -> the matrix row's cell summaries (mark and number), left to right."""
    table = re.search(r'<table id="matrix">(.*?)</table>', page, re.DOTALL)
    assert table, "no decision matrix"
    rows = {}
    for row in re.findall(r"<tr[^>]*>\s*<td>(.*?)</td>(.*?)</tr>", table.group(1), re.DOTALL):
        rows[row[0]] = re.findall(r"<summary>(.*?)</summary>", row[1])
    return rows


def _recommended(page: str) -> list[tuple[str, str, str]]:
    """(question, recommended, runners-up) rows of the recommendations table."""
    table = re.search(r'<table id="recommend">(.*?)</table>', page, re.DOTALL)
    assert table, "no recommendations"
    return re.findall(r'<tr><td>(.*?)</td>\s*<td class="backends">(.*?)</td><td>(.*?)</td></tr>', table.group(1))


def test_every_figure_and_section_present(tmp_path: pathlib.Path) -> None:
    page = _build(tmp_path)
    assert page.count("<svg") == len(FIGURES) == 10
    for section_id in SECTION_IDS:
        assert f'<section id="{section_id}">' in page
    for figure_id in FIGURES:
        assert "<svg" in _section(page, figure_id)
    assert "no data" not in page
    # self-contained: nothing fetched from elsewhere (namespace URIs in the SVG are names, not fetches)
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert "<link" not in page and "<script" not in page and "@import" not in page


@pytest.mark.parametrize("name", ["fig-latency", "fig-throughput", "fig-memory", "fig-fronts"])
def test_figures_draw_the_intervals_as_error_bars(tmp_path: pathlib.Path, name: str) -> None:
    """The same figure without ``low``/``high`` (an older result file) draws fewer lines: the bars."""
    from reports._load import load_results

    results = load_results(write_results(tmp_path / "results"))
    bare = dataclasses.replace(results, frame=results.frame.assign(low=float("nan"), high=float("nan")))
    draw = FIGURES[name][2]
    with_bars, without = draw(results), draw(bare)
    assert with_bars is not None and without is not None
    assert with_bars.count("<path") > without.count("<path"), f"{name}: no error bars drawn"


@pytest.mark.parametrize("fastest", ["thread-queue", "sync"])
def test_recommendation_follows_the_fixture(tmp_path: pathlib.Path, fastest: str) -> None:
    """The report's recommendation is ``advise``'s answer: the backend the fixture made fastest."""
    from reports.advise import Question, advise

    page = _build(tmp_path, fastest=fastest)
    question, recommended, runners = _recommended(page)[0]
    assert recommended == fastest and fastest not in runners.split(", ")
    results = reports.load_results(tmp_path / "results")
    rate = verdict.reference_rate(results.frame)
    assert rate is not None and question == f"{rate:,.0f} lines/s"
    answer = advise(results.frame, Question(rate), results.reference_backends)
    assert answer.recommended == recommended and ", ".join(answer.order[1:3]) == runners


def test_decision_matrix_marks_each_need(tmp_path: pathlib.Path) -> None:
    page = _build(tmp_path)
    cells = _matrix_cells(page)
    assert set(cells) == {"sync", "thread-queue", "asyncio", "fastlog (peer)"}  # null is the baseline: no row
    titles = [c.title for c in verdict.columns(100_000.0)]
    assert all(len(row) == len(titles) for row in cells.values())
    no_loss = titles.index("no loss when the process dies")
    assert cells["sync"][no_loss].startswith("✓ 0 lost")
    assert cells["thread-queue"][no_loss].startswith("✗ up to 7 lost")
    assert cells["asyncio"][no_loss].startswith("! failed")  # its burst cell failed
    processes = titles.index("several processes, one rotating file")
    assert cells["thread-queue"][processes] == "✗ 2 bad lines" and cells["sync"][processes] == "✓ 0 bad lines"
    lag = titles.index("asyncio: loop lag p99, highest rate")  # fastlog 3 ms at 10 000/s, no interval: alone best
    assert cells["fastlog (peer)"][lag].startswith("★") and cells["asyncio"][lag].startswith("·")
    slow = titles.index("bounded memory under a slow disk")
    assert cells["sync"][slow].startswith("–") and cells["thread-queue"][slow].startswith("✓")
    assert cells["asyncio"][slow].startswith("✗")  # never dropped under a drop policy
    overhead = titles.index("overhead at 100,000 lines/s (1 line/unit)")
    assert cells["thread-queue"][overhead] == "✓ +1.0%" and cells["asyncio"][overhead] == "✗ +8.0%"
    # the details behind a cell: the interval and how it was obtained
    assert "+1.0% [+0.6, +1.4]: measured at rate=1/unit" in _section(page, "choose")
    assert '<tr class="peer"><td>fastlog (peer)</td>' in page  # peers muted


def test_need_rows_in_words_match_the_matrix(tmp_path: pathlib.Path) -> None:
    page = _build(tmp_path)
    assert _choice_row(page, "no loss when the process dies")[0] == "sync"
    assert _choice_row(page, "several processes, one rotating file")[0] == "sync, asyncio, fastlog (peer)"
    backends, why = _choice_row(page, "bounded memory under a slow disk")
    assert backends == "thread-queue, fastlog (peer)" and "caller stalls" in why


def test_verdict_functions_are_pure_over_the_frame(tmp_path: pathlib.Path) -> None:
    results = reports.load_results(write_results(tmp_path, fastest="asyncio"))
    before = results.frame.copy()
    verdict.matrix(results.frame)
    answers = verdict.recommendations(results.frame, results.reference_backends)
    assert answers[0].recommended == "asyncio"
    assert results.frame.equals(before)


def test_missing_data_says_so(tmp_path: pathlib.Path) -> None:
    page = _build(tmp_path, without=("overhead", "crash", "faults", "loop_lag", "service"))
    assert "cannot decide: scenario overhead not run" in _section(page, "choose")
    assert "no data: scenario crash not run" in _choice_row(page, "no loss when the process dies")[1]
    assert "no data: scenario loop_lag not run" in _choice_row(page, "asyncio: loop lag p99, highest rate")[1]
    assert "no data: scenario overhead not run" in _section(page, "fig-overhead")
    assert "no data: scenario faults not run" in _section(page, "faults")
    assert page.count("<svg") == 4  # caller, latency, throughput, memory still drawn
    assert "no data: scenario service not run" in _section(page, "fig-service")
    assert _choice_row(page, "several processes, one rotating file")[0] == "sync, asyncio, fastlog (peer)"
    crashless = _build(tmp_path / "crashless", without=("crash",))
    rows = _recommended(crashless)
    assert rows and all("no loss" not in question for question, _, _ in rows)  # that one cannot decide
    assert "scenario crash not run (--no-loss needs it" in _section(crashless, "choose")


def test_stdlib_fronts_have_their_figure_and_columns(tmp_path: pathlib.Path) -> None:
    page = _build(tmp_path)
    fronts = _section(page, "fig-fronts")
    for label in ("logbench API", "log.handler()", "loggers.accelerate()"):
        assert label in fronts
    assert "fastlog" not in fronts, "a peer has no stdlib front"
    assert "front=" not in _section(page, "fig-overhead"), "the rate figure is the native front's"
    summary = _section(page, "summary")
    assert "64.00% [63.50, 64.50] fail" in summary and "6.00% [5.50, 6.50] fail" in summary  # sync: 4 + 60, 4 + 2


def test_peers_and_cell_statuses_are_marked(tmp_path: pathlib.Path) -> None:
    page = _build(tmp_path)
    summary = _section(page, "summary")
    assert '<td class="peer">fastlog (peer)</td>' in summary
    assert "sync (peer)" not in page and "thread-queue (peer)" not in page
    assert "fastlog (peer)" in _section(page, "fig-overhead")  # legend label in the SVG
    assert 'class="bad">failed<' in _section(page, "problems")
    assert "not supported" in _section(page, "problems")
    faults = _section(page, "faults")
    assert "<details><summary>ok</summary>sync: ENOSPC counted as 3 errors" in faults  # verdict first, text folded
    assert "<details><summary>defect</summary>torn 2" in _section(page, "rotation")
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
    assert output.exists() and "recommended at 100,000 lines/s: sync" in done.stdout
    missing = subprocess.run([sys.executable, "-m", "reports", "build", str(tmp_path / "nope")],
                             capture_output=True, text=True, check=False)
    assert missing.returncode == 2 and "no results.json" in missing.stderr


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


@pytest.mark.skipif(not any(__import__("shutil").which(n) for n in ("chromium", "chromium-browser", "google-chrome")),
                    reason="needs Chromium (apt-get install -y chromium)")
def test_browser_check_fails_a_page_wider_than_the_window(tmp_path: pathlib.Path) -> None:
    from reports._browser import BrowserError, check_page

    page = _build(tmp_path)
    (tmp_path / "report.html").write_text(page, encoding="utf-8")
    lines = check_page(tmp_path / "report.html", tmp_path / "shot.png", SECTION_IDS, width=1400, height=1200)
    assert "width: 1400 px page in a 1400 px window (no horizontal scroll)" in lines
    wide = page.replace("<body>", f"<body><pre id=\"too-wide\">{'x' * 400}</pre>")
    (tmp_path / "wide.html").write_text(wide, encoding="utf-8")
    with pytest.raises(BrowserError, match=r"wide in a 1400 px window \(horizontal scroll\); sticking out: pre#too-wide"):
        check_page(tmp_path / "wide.html", tmp_path / "wide.png", SECTION_IDS, width=1400, height=1200)
