"""Assemble the report: load results, derive verdicts, draw figures, render one HTML file."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from . import _tables, verdict
from ._load import Results, load_results
from ._template import TEMPLATE


#: Figures shown right under the decision, before the summary table.
TOP_FIGURES = ("fig-sustainable",)


def figures() -> dict[str, Any]:
    """Every figure of the page: figure id -> (scenario, title, function). Imports matplotlib."""
    from . import _figures, _figures_asyncio  # imported when a figure is needed, not by ``import reports``

    return {**_figures.FIGURES, **_figures_asyncio.FIGURES}


def section_ids() -> tuple[str, ...]:
    """Every section id the page has, whatever the data (the browser check looks for them)."""
    return ("choose", "summary", *figures(), "rotation", "faults", "problems", "metadata")


#: Elements inside the sections that every page has too (the decision): checked by the browser check.
DECISION_IDS = ("recommend", "matrix")


def __getattr__(name: str) -> Any:
    if name == "SECTION_IDS":  # kept as names: the figure list behind them needs matplotlib
        return section_ids()
    if name == "FIGURES":
        return figures()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclasses.dataclass(frozen=True)
class Figure:
    id: str
    scenario: str
    title: str
    svg: str | None


def render(results: Results) -> str:
    """The whole page as a string (self-contained: inline CSS and SVG, no external URL)."""
    import jinja2

    baseline = results.baseline_backends
    drawn = [Figure(fid, scenario, title, draw(results)) for fid, (scenario, title, draw) in figures().items()]
    columns, cells = verdict.matrix(results.frame, baseline, order=results.order_key)
    rotation = _tables.verdict_table(results, "rotation", _tables.rotation_text)
    faults = _tables.verdict_table(results, "faults", _tables.fault_text)
    problems = _tables.problem_cells(results)
    meta = results.metadata
    commit = str(meta.get("git_commit", "unknown"))[:12] + (" (dirty)" if meta.get("git_dirty") else "")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(TEMPLATE).render(
        source=results.source,
        commit=commit,
        python=meta.get("python", "python ?"),
        machine=meta.get("machine", "machine ?"),
        choices=verdict.choose(results.frame, baseline),
        recommendations=verdict.recommendations(results.frame, results.reference_backends, baseline),
        columns=columns,
        cells=cells,
        label=results.label,
        is_peer=results.is_peer,
        top_figures=[f for f in drawn if f.id in TOP_FIGURES],
        summary=_tables.to_html(_tables.summary_table(results), table_id="summary-table"),
        figures=[f for f in drawn if f.id not in TOP_FIGURES],
        rotation=_tables.to_html(rotation, table_id="rotation-table", fold=True) if rotation is not None else "",
        faults=_tables.to_html(faults, table_id="faults-table", fold=True) if faults is not None else "",
        problems=_tables.to_html(problems, table_id="problems-table") if not problems.empty else "",
        metadata=_tables.to_html(_tables.metadata_table(results), table_id="metadata-table"),
    )


def build_report(results_dir: str | os.PathLike[str], output: str | os.PathLike[str]) -> Results:
    """Read ``results_dir``, write the HTML report to ``output``; returns what was loaded.

    Raises:
        FileNotFoundError / ValueError: from :func:`reports.load_results`.
    """
    results = load_results(results_dir)
    page = render(results)
    directory = os.path.dirname(os.path.abspath(output))
    os.makedirs(directory, exist_ok=True)
    temporary = os.fspath(output) + ".tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(page)
    os.replace(temporary, output)
    return results
