"""The one tie rule for every ranked figure: the best median wins together with every backend whose
95% interval overlaps the best one's; when all of them do, no difference was measured."""

from __future__ import annotations

import dataclasses

import pandas as pd

__all__ = ["Ranking", "tied_best"]


@dataclasses.dataclass(frozen=True)
class Ranking:
    """A figure ranked under the tie rule: the best row, the rows tied with it, the rest (each best first)."""

    best: pd.Series
    tied: pd.DataFrame
    others: pd.DataFrame

    @property
    def backends(self) -> tuple[str, ...]:
        """The best backend and those tied with it."""
        return (str(self.best["backend"]), *(str(b) for b in self.tied["backend"]))

    @property
    def no_difference(self) -> bool:
        """True when every ranked backend is tied with the best (and there are at least two)."""
        return self.others.empty and not self.tied.empty


def tied_best(rows: pd.DataFrame, *, higher_is_better: bool = False) -> Ranking:
    """Rank ``rows`` (one per backend, ``value`` not null) by ``value``; tied = 95% interval overlaps the best's.

    A row without an interval counts as the point ``[value, value]``. Raises ValueError on no rows.
    """
    if rows.empty:
        raise ValueError("tied_best: no rows to rank")
    ranked = rows.sort_values("value", ascending=not higher_is_better, kind="stable")
    low, high = ranked["low"].fillna(ranked["value"]), ranked["high"].fillna(ranked["value"])
    best_low, best_high = low.iloc[0], high.iloc[0]
    overlaps = (low <= best_high) & (high >= best_low)
    rest = ranked.iloc[1:]
    return Ranking(ranked.iloc[0], rest[overlaps.iloc[1:]], rest[~overlaps.iloc[1:]])
