"""The report's *Choose a backend* section: a decision matrix, recommendations, and each need in words.

Every figure comes from :mod:`reports._needs` and every recommendation from :func:`reports.advise.advise`,
the code behind ``logbench advise``: the page and the command cannot disagree. Pure functions of
the tidy results frame (one row per ResultRecord, see ``reports._load.COLUMNS``).

Marks: ``✓`` meets the need, ``✗`` does not, ``~`` the interval straddles the 5% target, ``★`` best
(or statistically tied with the best, :func:`reports._rank.tied_best`) on a ranked figure, ``·``
ranked lower, ``–`` not supported / not run, ``!`` the cell failed. Baseline backends (``null``,
which writes nothing) are never recommended.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

import pandas as pd

from scenarios.overhead import GATE_CASE

from . import _needs
from ._needs import Figure, Need
from ._rank import Ranking, tied_best
from .advise import MissingData, Question, advise

__all__ = ["Cell", "Choice", "Ranking", "Recommendation", "choose", "columns", "matrix",
           "recommendations", "reference_rate", "tied_best"]

QUESTION_PROCESSES = 4


@dataclasses.dataclass(frozen=True)
class Cell:
    """One backend x need: a mark, one number, and the details behind them."""

    mark: str
    text: str
    detail: str
    css: str


@dataclasses.dataclass(frozen=True)
class Choice:
    """One need in words: who meets it (or is best on it) and the figures of every backend."""

    need: str
    backends: tuple[str, ...]
    sentence: str
    has_data: bool = True


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """One question put to :func:`reports.advise.advise` and its answer (or the data it lacks)."""

    question: str
    recommended: str
    runners_up: tuple[str, ...]
    missing: str = ""


def reference_rate(frame: pd.DataFrame, baseline: Iterable[str] = ("null",)) -> float | None:
    """Lines/s of the gate case (1 line per unit) at the median unit time over the run's cells (``baseline``
    is accepted for symmetry; every cell times the same unit with the null backend)."""
    rows = frame[(frame["scenario"] == "overhead") & (frame["case"] == GATE_CASE) & (frame["metric"] == "unit_us")
                 & frame["value"].notna()]
    if rows.empty:
        return None
    unit_us = float(rows["value"].median())
    return _needs.lines_per_s(GATE_CASE, unit_us)


def columns(rate: float | None) -> tuple[Need, ...]:
    """The matrix's needs, left to right; overhead at ``rate`` lines/s (the gate case's rate)."""
    shown = f"{rate:,.0f}" if rate else "1 line/unit"
    overhead = (lambda f, b: _needs.overhead_figure(f, b, rate)) if rate else (
        lambda f, b: _needs.overhead_figure(f, b, float("nan")))
    return (
        Need("overhead", f"overhead at {shown} lines/s (1 line/unit)", "overhead", overhead),
        Need("sustainable", "sustainable rate (whole interval < 5%)", "overhead", _needs.sustainable_figure),
        Need("no_loss", "no loss when the process dies", "crash", _needs.crash_figure),
        Need("processes", "several processes, one rotating file", "rotation", _needs.multi_process_figure),
        Need("service", "asyncio service: requests/s vs null, 5 lines/request", "service", _needs.service_figure,
               ranked=True, higher_is_better=True),
        Need("asyncio", "asyncio: loop lag p99, highest rate", "loop_lag", _needs.loop_lag_figure, ranked=True),
        Need("rss", "peak RSS, worst memory case", "memory", _needs.rss_figure, ranked=True),
        Need("slow_disk", "bounded memory under a slow disk", "memory", _needs.slow_disk_figure),
    )


def _backends(frame: pd.DataFrame, baseline: Iterable[str], order: Callable[[str], object] | None) -> list[str]:
    names = [str(b) for b in dict.fromkeys(frame["backend"]) if b not in tuple(baseline)]
    return sorted(names, key=order) if order else names  # type: ignore[arg-type]


def matrix(frame: pd.DataFrame, baseline: Iterable[str] = ("null",),
           order: Callable[[str], object] | None = None) -> tuple[tuple[Need, ...], dict[str, dict[str, Cell]]]:
    """``(columns, {backend: {column key: Cell}})`` for every non-baseline backend of the run."""
    cols = columns(reference_rate(frame, baseline))
    backends = _backends(frame, baseline, order)
    cells: dict[str, dict[str, Cell]] = {b: {} for b in backends}
    for column in cols:
        figures = {b: column.figure(frame, b) for b in backends}
        best = _best(figures, column.higher_is_better) if column.ranked else set()
        for backend, figure in figures.items():
            cells[backend][column.key] = _cell(figure, column, backend in best)
    return cols, cells


def _best(figures: dict[str, Figure], higher_is_better: bool = False) -> set[str]:
    usable = [f for f in figures.values() if f.usable]
    if not usable:
        return set()
    rows = pd.DataFrame({"backend": [f.backend for f in usable], "value": [f.value for f in usable],
                         "low": [f.low for f in usable], "high": [f.high for f in usable]}, dtype=object)
    return set(tied_best(rows.astype({"value": float, "low": float, "high": float}),
                         higher_is_better=higher_is_better).backends)


def _cell(figure: Figure, column: Need, best: bool) -> Cell:
    """The mark and the one number (the interval goes to the details, with how it was measured)."""
    cell = _marked(figure, column, best)
    return dataclasses.replace(cell, text=cell.text.split(" [")[0], detail=f"{figure.text}: {figure.detail}")


def _marked(figure: Figure, column: Need, best: bool) -> Cell:
    if figure.status == "failed":
        return Cell("!", "failed", figure.detail, "bad")
    if not figure.usable and not (figure.status == "ok" and figure.meets is not None):
        return Cell("–", figure.status, figure.detail, "na")
    if column.ranked:
        return Cell("★" if best else "·", figure.text, figure.detail, "best" if best else "")
    mark, css = {True: ("✓", "good"), False: ("✗", "bad"), None: ("~", "")}[figure.meets]
    return Cell(mark, figure.text, figure.detail, css)


def choose(frame: pd.DataFrame, baseline: Iterable[str] = ("null",)) -> list[Choice]:
    """Each need of the matrix in words: the backends meeting it (ranked needs: best and tied), every figure."""
    cols, cells = matrix(frame, baseline, order=None)
    choices = []
    for column in cols:
        if not (frame["scenario"] == column.scenario).any():
            choices.append(Choice(column.title, (), f"no data: scenario {column.scenario} not run.", has_data=False))
            continue
        good = "★" if column.ranked else "✓"
        winners = tuple(b for b, row in cells.items() if row[column.key].mark == good)
        listed = sorted(cells.items(), key=lambda item: item[1][column.key].mark != good)
        sentence = "; ".join(f"{b} {row[column.key].text} ({row[column.key].detail})" for b, row in listed)
        choices.append(Choice(column.title, winners, sentence + "."))
    return choices


def recommendations(frame: pd.DataFrame, reference: Iterable[str],
                    baseline: Iterable[str] = ("null",)) -> list[Recommendation]:
    """A few common questions at the run's gate rate, answered by :func:`reports.advise.advise`."""
    rate = reference_rate(frame, baseline)
    if rate is None:
        return [Recommendation("any question", "", (), "scenario overhead not run: no rate to decide at")]
    shown = f"{rate:,.0f} lines/s"
    questions = (
        (f"{shown}", Question(rate)),
        (f"{shown}, no loss when the process dies", Question(rate, no_loss=True)),
        (f"{shown}, {QUESTION_PROCESSES} processes on one file", Question(rate, processes=QUESTION_PROCESSES)),
        (f"{shown}, asyncio", Question(rate, asyncio=True)),
    )
    answers = []
    for text, question in questions:
        try:
            advice = advise(frame, question, reference, baseline)
        except MissingData as exc:
            answers.append(Recommendation(text, "", (), "; ".join(exc.gaps)))
            continue
        runners = tuple(b for b in advice.order if b != advice.recommended)[:2]
        answers.append(Recommendation(text, advice.recommended or "none qualifies", runners))
    return answers
