"""``logbench advise``: which backend for this program, at its log rate, with its needs, from measured results.

The decision, in one home (the report's recommendations call :func:`advise` too):

1. Candidates: the reference backends of the run, without the baseline (``null`` writes nothing).
   Peers are not recommended by default (their configuration is an adapter's choice, and their
   loss is not counted by logbench's stats); the best qualifying peer is shown as a comparison.
   ``include_peers`` lets them compete.
2. Needs filter: ``no_loss`` — nothing lost in any crash-scenario case (SIGKILL trials, exits, pools);
   ``processes > 1`` — no lost/duplicated/torn/reordered line when several processes write one
   rotating file (rotation ``multi-process``); ``max_rss_mb`` — the worst memory case's whole peak-RSS
   interval below the limit.
3. Ranking, under the tie rule (:func:`reports._rank.tied_best`): with ``asyncio``, first the aiohttp
   service's requests/s as a ratio to ``null`` at 5 lines per request (:func:`reports._needs.service_figure`),
   then loop lag p99 at the user's rate (a blocked loop delays every request), then wall overhead at the user's rate
   (:func:`reports._needs.overhead_figure`: the measured case, or linear interpolation between the two
   measured rates around it). Among backends tied on one figure the next decides; the best median wins.
4. Missing data (a scenario not run, a rate outside the measured sweep for a backend that ran) raises
   :class:`MissingData` naming each gap; the command line turns it into exit 2.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import pandas as pd

from . import _needs
from ._needs import Figure, Need
from ._rank import tied_best

__all__ = ["Advice", "MissingData", "Question", "advise", "format_advice"]


class MissingData(ValueError):
    """The results lack what the question needs; ``gaps`` says what, one item each."""

    def __init__(self, gaps: list[str]) -> None:
        super().__init__("; ".join(gaps))
        self.gaps = gaps


@dataclasses.dataclass(frozen=True)
class Question:
    """What the program needs. ``rate``: lines per second it logs (> 0); ``processes``: how many write one file."""

    rate: float
    no_loss: bool = False
    processes: int = 1
    asyncio: bool = False
    max_rss_mb: float | None = None
    include_peers: bool = False

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be > 0 lines/s, got {self.rate!r}")
        if self.processes < 1:
            raise ValueError(f"processes must be >= 1, got {self.processes!r}")
        if self.max_rss_mb is not None and not self.max_rss_mb > 0:
            raise ValueError(f"max RSS must be > 0 MB, got {self.max_rss_mb!r}")


def needs(question: Question) -> list[Need]:
    """The question's needs: ranked figures first, in ranking order, then the filters."""
    rate = question.rate
    chosen = []
    if question.asyncio:
        chosen.append(Need("--asyncio", "aiohttp service requests/s, ratio to null (5 lines/request)", "service",
                           _needs.service_figure, ranked=True, higher_is_better=True))
        chosen.append(Need("--asyncio", f"loop lag p99 at {rate:,.0f} lines/s (ms)", "loop_lag",
                           lambda f, b: _needs.loop_lag_figure(f, b, rate), ranked=True))
    chosen.append(Need("--rate", f"wall overhead at {rate:,.0f} lines/s", "overhead",
                       lambda f, b: _needs.overhead_figure(f, b, rate), ranked=True))
    if question.no_loss:
        chosen.append(Need("--no-loss", "records lost when the process dies (crash)", "crash",
                           _needs.crash_figure, ranked=False))
    if question.processes > 1:
        chosen.append(Need("--processes", f"{question.processes} processes writing one rotating file", "rotation",
                           _needs.multi_process_figure, ranked=False))
    if question.max_rss_mb is not None:
        limit = question.max_rss_mb
        chosen.append(Need("--max-rss", f"peak RSS, worst memory case (limit {limit:g} MiB)", "memory",
                           lambda f, b: _needs.rss_figure(f, b, limit), ranked=False))
    return chosen


@dataclasses.dataclass(frozen=True)
class Advice:
    """The answer: every candidate in order (qualifying first), each need's figure per backend, why not."""

    question: Question
    needs: tuple[Need, ...]
    order: tuple[str, ...]
    qualified: frozenset[str]
    figures: dict[str, dict[str, Figure]]
    reasons: dict[str, str]
    comparison: str | None

    @property
    def recommended(self) -> str | None:
        return self.order[0] if self.order and self.order[0] in self.qualified else None


def advise(frame: pd.DataFrame, question: Question, reference: Iterable[str],
           baseline: Iterable[str] = ("null",)) -> Advice:
    """Decide for ``question`` from ``frame``. Raises :class:`MissingData` for every gap the decision meets."""
    reference, baseline = tuple(reference), tuple(baseline)
    present = [b for b in dict.fromkeys(frame["backend"]) if b not in baseline]
    ours = [b for b in present if b in reference]
    peers = [b for b in present if b not in reference]
    candidates = ours + peers if question.include_peers else ours
    chosen = needs(question)
    figures = {b: {n.title: n.figure(frame, b) for n in chosen} for b in present}
    gaps = _gaps(frame, chosen, candidates, figures)
    if gaps:
        raise MissingData(gaps)
    reasons = {b: _why_not(chosen, figures[b]) for b in present}
    qualified = [b for b in candidates if not reasons[b]]
    ranked = [n for n in chosen if n.ranked]
    order = _order(qualified, ranked, figures) + _order([b for b in candidates if reasons[b]], ranked, figures)
    rivals = [] if question.include_peers else _order([b for b in peers if not reasons[b]], ranked, figures)
    return Advice(question, tuple(chosen), tuple(order), frozenset(qualified), figures, reasons,
                  rivals[0] if rivals else None)


def _gaps(frame: pd.DataFrame, chosen: list[Need], candidates: list[str],
          figures: dict[str, dict[str, Figure]]) -> list[str]:
    if not candidates:
        return ["no candidate backend in the results (run reference backends, or use --include-peers)"]
    gaps = []
    for need in chosen:
        if not (frame["scenario"] == need.scenario).any():
            gaps.append(f"scenario {need.scenario} not run ({need.key} needs it: {need.title})")
            continue
        uncovered = [b for b in candidates if figures[b][need.title].status == "not covered"]
        if uncovered:
            gaps.append(f"{need.key}: {figures[uncovered[0]][need.title].detail} "
                        f"(for {', '.join(uncovered)}; run the scenario over a sweep that covers it)")
        elif not any(figures[b][need.title].usable for b in candidates):
            gaps.append(f"scenario {need.scenario} measured no candidate ({need.title})")
    return gaps


def _why_not(chosen: list[Need], figures: dict[str, Figure]) -> str:
    """Empty when the backend qualifies; otherwise the first need it fails and its figure."""
    for need in chosen:
        figure = figures[need.title]
        if not figure.usable:
            return f"{need.key}: {figure.status} ({figure.detail})"
        if not need.ranked and not figure.meets:
            return f"does not meet {need.key}: {figure.text}"
    return ""


def _order(backends: list[str], ranked: list[Need], figures: dict[str, dict[str, Figure]]) -> list[str]:
    """``backends`` best first: repeatedly the winner of the ranked figures under the tie rule."""
    left, order = list(backends), []
    while left:
        winner = _winner(left, ranked, figures)
        order.append(winner)
        left.remove(winner)
    return order


def _winner(backends: list[str], ranked: list[Need], figures: dict[str, dict[str, Figure]]) -> str:
    """Tie rule on the first ranked figure; among those tied, the next figure decides; the best median wins."""
    pool = backends
    for need in ranked:
        rows = _frame([figures[b][need.title] for b in pool])
        if rows.empty:
            continue
        pool = list(tied_best(rows, higher_is_better=need.higher_is_better).backends)
        if len(pool) == 1:
            break
    return pool[0]


def _frame(figures: list[Figure]) -> pd.DataFrame:
    usable = [f for f in figures if f.usable]
    return pd.DataFrame({"backend": [f.backend for f in usable], "value": [f.value for f in usable],
                         "low": [f.low for f in usable], "high": [f.high for f in usable]}, dtype=object
                        ).astype({"value": float, "low": float, "high": float})


def tied_with(advice: Advice, backend: str) -> list[str]:
    """The ranked needs on which ``backend``'s interval overlaps the recommended one's."""
    best = advice.recommended
    if best is None or backend == best:
        return []
    tied = []
    for need in advice.needs:
        a, b = advice.figures[best][need.title], advice.figures[backend][need.title]
        if need.ranked and a.usable and b.usable and _overlap(a, b):
            tied.append(need.title)
    return tied


def _overlap(a: Figure, b: Figure) -> bool:
    a_low, a_high = a.low if a.low is not None else a.value, a.high if a.high is not None else a.value
    b_low, b_high = b.low if b.low is not None else b.value, b.high if b.high is not None else b.value
    assert a_low is not None and a_high is not None and b_low is not None and b_high is not None
    return a_low <= b_high and b_low <= a_high


def format_advice(advice: Advice) -> list[str]:
    """The answer as lines: ``recommended: X``, two runners-up, the peer comparison, then the figures."""
    best = advice.recommended
    lines = [f"recommended: {best}" if best else "recommended: none (no reference backend meets every need; "
             "the closest follow)"]
    shown = [b for b in advice.order if b != best][:2]
    for i, backend in enumerate(shown, 1):
        lines.append(f"runner-up {i}: {backend} ({_standing(advice, backend)})")
    lines += [f"runner-up {i}: none (no other candidate)" for i in range(len(shown) + 1, 3)]
    if advice.comparison:
        lines.append(f"comparison (peer, not recommended by default): {advice.comparison} "
                     f"({_standing(advice, advice.comparison)})")
    lines.append("measured figures that decided it (median [95% interval]):")
    listed = [b for b in (best, *shown, advice.comparison) if b]
    for need in advice.needs:
        lines.append(f"  {need.title}{'' if need.ranked else ' [must meet ' + need.key + ']'}:")
        for backend in listed:
            figure = advice.figures[backend][need.title]
            verdict = _verdict(need, figure)
            lines.append(f"    {backend}: {figure.text}{verdict}; {figure.detail}")
    return lines


def _verdict(need: Need, figure: Figure) -> str:
    if not figure.usable or figure.meets is None:
        return ""
    if need.ranked:  # the overhead's 5% target: shown, not required
        return f" ({'below' if figure.meets else 'above'} the {_needs.TARGET_PCT:g}% target)"
    return " meets it" if figure.meets else " FAILS it"


def _standing(advice: Advice, backend: str) -> str:
    if backend not in advice.qualified and advice.reasons.get(backend):
        return advice.reasons[backend]
    tied = tied_with(advice, backend)
    return "statistically tied with the recommendation on " + " and ".join(tied) if tied else "qualifies, ranked lower"
