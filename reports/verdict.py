"""The "choose a backend" rows, derived from measured results only.

Every function here is pure: it takes the tidy results frame (one row per
ResultRecord, see ``reports._load.COLUMNS``) and returns a :class:`Choice`
naming the qualifying backends and a sentence citing the figures that made
them qualify. When the scenario a row needs was not run, the choice says so
(``has_data`` False) instead of guessing. Baseline backends (``null``, which
writes nothing) are never recommended.

One tie rule for every row that ranks a figure (:func:`tied_best`): the best
median wins together with every backend whose 95% interval overlaps the
best one's, and when all of them do the row says "no difference measured"
instead of naming a winner. Rows that qualify backends by a threshold (no
loss, no defect, bounded memory) name every backend that passes it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable

import pandas as pd

OVERHEAD_CASE = "rate=1/unit"
OVERHEAD_METRIC = "wall_overhead_pct"
OVERHEAD_TARGET_PCT = 5.0
DROP_POLICIES = ("drop_new", "drop_old")


@dataclasses.dataclass(frozen=True)
class Choice:
    """One row of the section: a need, who qualifies, and why (with figures)."""

    need: str
    backends: tuple[str, ...]
    sentence: str
    has_data: bool = True


def _rows(frame: pd.DataFrame, scenario: str, *, case: str | None = None,
          metric: str | None = None, exclude: Iterable[str] = ()) -> pd.DataFrame:
    mask = frame["scenario"] == scenario
    if case is not None:
        mask &= frame["case"] == case
    if metric is not None:
        mask &= frame["metric"] == metric
    excluded = list(exclude)
    if excluded:
        mask &= ~frame["backend"].isin(excluded)
    return frame[mask]


def _no_data(need: str, scenario: str, what: str = "") -> Choice:
    extra = f" ({what})" if what else ""
    return Choice(need, (), f"no data: scenario {scenario} not run{extra}.", has_data=False)


def _names(backends: Iterable[str]) -> str:
    names = list(backends)
    return ", ".join(names) if names else "none"


def _qualify(backends: list[str]) -> str:
    if not backends:
        return "none qualifies"
    return f"{_names(backends)} {'qualifies' if len(backends) == 1 else 'qualify'}"


def _qualified_first(notes: list[tuple[bool, str]]) -> str:
    return "; ".join(text for ok, text in sorted(notes, key=lambda n: not n[0]))


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
    best = ranked.iloc[0]
    best_low, best_high = low.iloc[0], high.iloc[0]
    overlaps = (low <= best_high) & (high >= best_low)
    rest = ranked.iloc[1:]
    return Ranking(best, rest[overlaps.iloc[1:]], rest[~overlaps.iloc[1:]])


def _ranked_sentence(ranking: Ranking, figure: Callable[[pd.Series], str], what: str) -> str:
    """"no difference measured" / "X best, tied: ..." with every backend's figure, for one ranked figure."""
    if ranking.no_difference:
        rows = [ranking.best, *(r for _, r in ranking.tied.iterrows())]
        return f"no difference measured in {what}: " + ", ".join(f"{r['backend']} {figure(r)}" for r in rows)
    sentence = f"{ranking.best['backend']} best in {what}: {figure(ranking.best)}"
    if not ranking.tied.empty:
        sentence += "; statistically tied: " + ", ".join(f"{r['backend']} {figure(r)}" for _, r in ranking.tied.iterrows())
    if not ranking.others.empty:
        sentence += "; others: " + ", ".join(f"{r['backend']} {figure(r)}" for _, r in ranking.others.iterrows())
    return sentence


def lowest_overhead(frame: pd.DataFrame, baseline: Iterable[str] = ("null",)) -> Choice:
    """Backend(s) with the lowest median wall overhead at one record per work unit, under the tie rule."""
    need = "Lowest overhead"
    rows = _rows(frame, "overhead", case=OVERHEAD_CASE, metric=OVERHEAD_METRIC, exclude=baseline)
    ok = rows[(rows["status"] == "ok") & rows["value"].notna()]
    if ok.empty:
        return _no_data(need, "overhead", f"case {OVERHEAD_CASE}, metric {OVERHEAD_METRIC}")
    ranking = tied_best(ok)
    best = ranking.best
    sentence = _ranked_sentence(ranking, _pct, f"wall time added at {OVERHEAD_CASE}")
    sentence += f" (target < {OVERHEAD_TARGET_PCT:g}%, best's verdict {best['verdict'] or 'n/a'})"
    return Choice(need, ranking.backends, sentence + ".")


def _pct(row: pd.Series) -> str:
    if pd.notna(row["low"]) and pd.notna(row["high"]):
        return f"{row['value']:.2f}% (95% CI {row['low']:.2f} to {row['high']:.2f}%)"
    return f"{row['value']:.2f}%"


def no_loss_on_crash(frame: pd.DataFrame, baseline: Iterable[str] = ("null",)) -> Choice:
    """Backends that lost nothing in any SIGKILL case (lost_max 0, verdict ok, no failed cell)."""
    need = "No loss on crash (SIGKILL)"
    rows = _rows(frame, "crash", exclude=baseline)
    rows = rows[rows["case"].str.startswith("sigkill/")]
    if rows.empty:
        return _no_data(need, "crash", "sigkill cases")
    qualified: list[str] = []
    notes: list[tuple[bool, str]] = []
    for backend, group in rows.groupby("backend", sort=True):
        lost_max = group[group["metric"] == "lost_max"]
        failed = group[group["status"] != "ok"]
        worst = lost_max["value"].max() if lost_max["value"].notna().any() else None
        trials = int(group[(group["metric"] == "lost_records") & group["trial"].notna()].shape[0])
        if not failed.empty or worst is None:
            notes.append((False, f"{backend} {failed['status'].iloc[0] if not failed.empty else 'has no lost_max'}"))
        elif worst == 0 and not (lost_max["verdict"] == "defect").any() and (lost_max["verdict"] == "ok").all():
            qualified.append(str(backend))
            notes.append((True, f"{backend} lost 0 records in {trials} trials"))
        else:
            notes.append((False, f"{backend} lost up to {worst:g} records per kill"))
    sentence = f"{_qualify(qualified)}: " + _qualified_first(notes) + "."
    return Choice(need, tuple(qualified), sentence)


def asyncio_application(frame: pd.DataFrame, baseline: Iterable[str] = ("null",)) -> Choice:
    """The backends that cost an asyncio service least, from the service scenario and loop lag.

    First figure: the service's requests/s ratio to ``null`` at its chattiest case (most lines a request),
    higher is better, under the tie rule. Among the backends it cannot separate, loop lag p99 at the highest
    rate measured (lower is better) narrows the choice under the same rule, when every one of them has it.
    Without service data the row ranks loop lag alone. The sentence cites ``null``'s loop lag as the floor
    of what the run can resolve.
    """
    need = "asyncio application"
    service = _ok_rows(frame, "service", "requests_ratio", baseline)
    lag = _ok_rows(frame, "loop_lag", "lag_p99_ms", baseline)
    if service.empty and lag.empty:
        return Choice(need, (), "no data: scenarios service and loop_lag not run.", has_data=False)
    parts: list[str] = []
    candidates: tuple[str, ...] = ()
    if not service.empty:
        case = max(service["case"].unique(), key=_case_rate)
        ranking = tied_best(service[service["case"] == case], higher_is_better=True)
        parts.append(_ranked_sentence(ranking, _ratio, f"requests/s against null at {case}"))
        candidates = ranking.backends
    else:
        parts.append("service not run")
    if not lag.empty:
        rate = max(lag["case"].unique(), key=_case_rate)
        at_rate = lag[lag["case"] == rate]
        among = at_rate[at_rate["backend"].isin(candidates)] if candidates else at_rate
        if candidates and set(among["backend"]) != set(candidates):
            parts.append(f"loop lag not measured for every one of {_names(candidates)}")
        else:
            ranking = tied_best(among)
            parts.append(_ranked_sentence(ranking, _ms, f"loop lag p99 at {rate}"))
            candidates = ranking.backends
        floor = _rows(frame, "loop_lag", case=rate, metric="lag_p99_ms")
        floor = floor[floor["backend"].isin(list(baseline)) & floor["value"].notna()]
        if not floor.empty:
            parts.append(f"{floor.iloc[0]['backend']} floor {_ms(floor.iloc[0])}")
    else:
        parts.append("loop_lag not run")
    return Choice(need, candidates, "; ".join(parts) + ".")


def _ok_rows(frame: pd.DataFrame, scenario: str, metric: str, baseline: Iterable[str]) -> pd.DataFrame:
    rows = _rows(frame, scenario, metric=metric, exclude=baseline)
    return rows[(rows["status"] == "ok") & rows["value"].notna()]


def _interval(row: pd.Series, fmt: str) -> str:
    if pd.notna(row["low"]) and pd.notna(row["high"]):
        return f" ({fmt.format(row['low'])} to {fmt.format(row['high'])})"
    return ""


def _ratio(row: pd.Series) -> str:
    return f"{row['value']:.2f}x" + _interval(row, "{:.2f}")


def _ms(row: pd.Series) -> str:
    return f"{row['value']:.3f} ms" + _interval(row, "{:.3f}")


def _case_rate(case: str) -> float:
    match = re.search(r"([0-9.]+)", case)
    return float(match.group(1)) if match else 0.0


def multi_process_file(frame: pd.DataFrame, baseline: Iterable[str] = ("null",)) -> Choice:
    """Backends with no rotation defect when several processes write one rotating file."""
    need = "Several processes writing one file"
    rows = _rows(frame, "rotation", case="multi-process", exclude=baseline)
    if rows.empty:
        return _no_data(need, "rotation", "case multi-process")
    qualified: list[str] = []
    notes: list[tuple[bool, str]] = []
    for backend, group in rows.groupby("backend", sort=True):
        if (group["status"] != "ok").any():
            notes.append((False, f"{backend} {group[group['status'] != 'ok']['status'].iloc[0]}"))
            continue
        defects = group[(group["verdict"] == "defect") | (group["value"].fillna(0) > 0)]
        if defects.empty and (group["verdict"] == "ok").any():
            qualified.append(str(backend))
            notes.append((True, f"{backend} 0 lost/duplicated/torn"))
        else:
            notes.append((False, f"{backend} " + ", ".join(f"{r['metric']} {r['value']:g}" for _, r in defects.iterrows())))
    return Choice(need, tuple(qualified), f"{_qualify(qualified)}: " + _qualified_first(notes) + ".")


def bounded_memory_slow_disk(frame: pd.DataFrame, baseline: Iterable[str] = ("null",)) -> Choice:
    """Backends whose drop policies keep memory bounded under a slow sink without stalling.

    A drop policy bounds memory when the cell ran, has no defect verdict, and
    shed load (``dropped`` > 0) instead of growing. ``block`` bounds memory too
    but only by making the caller wait (reported, not recommended here).
    """
    need = "Bounded memory under a slow disk"
    rows = _rows(frame, "memory", exclude=baseline)
    rows = rows[rows["case"].str.startswith("slow_sink/")]
    if rows.empty:
        return _no_data(need, "memory", "slow_sink cases")
    qualified: list[str] = []
    notes: list[tuple[bool, str]] = []
    for backend, group in rows.groupby("backend", sort=True):
        policy_notes = [_policy_note(group, policy) for policy in (*DROP_POLICIES, "block")]
        drops_ok = [p for p in DROP_POLICIES if _sheds_load(group, f"slow_sink/{p}")]
        if drops_ok:
            qualified.append(str(backend))
        notes.append((bool(drops_ok), f"{backend}: " + ", ".join(n for n in policy_notes if n)))
    sentence = (f"{_qualify(qualified)} with a drop policy; block also bounds memory but stalls the caller. "
                + _qualified_first(notes) + ".")
    return Choice(need, tuple(qualified), sentence)


def _metric(group: pd.DataFrame, case: str, metric: str) -> float | None:
    rows = group[(group["case"] == case) & (group["metric"] == metric) & (group["status"] == "ok")]
    values = rows["value"].dropna()
    return float(values.iloc[0]) if not values.empty else None


def _sheds_load(group: pd.DataFrame, case: str) -> bool:
    cell = group[group["case"] == case]
    if cell.empty or (cell["status"] != "ok").any() or (cell["verdict"] == "defect").any():
        return False
    dropped = _metric(group, case, "dropped")
    return dropped is not None and dropped > 0 and _metric(group, case, "max_queue_depth") is not None


def _policy_note(group: pd.DataFrame, policy: str) -> str:
    case = f"slow_sink/{policy}"
    cell = group[group["case"] == case]
    if cell.empty:
        return ""
    if (cell["status"] != "ok").any():
        return f"{policy} {cell[cell['status'] != 'ok']['status'].iloc[0]}"
    rss = _metric(group, case, "peak_rss_bytes")
    depth = _metric(group, case, "max_queue_depth")
    dropped = _metric(group, case, "dropped")
    parts = [f"peak RSS {rss / 2**20:.1f} MiB" if rss is not None else "",
             f"max queue {depth:g}" if depth is not None else "",
             f"dropped {dropped:g}" if dropped is not None else ""]
    text = f"{policy} " + " ".join(p for p in parts if p)
    if policy == "block" and (dropped == 0 or dropped is None):
        text += " (caller stalls)"
    return text


CHOOSERS: tuple[Callable[..., Choice], ...] = (
    lowest_overhead,
    no_loss_on_crash,
    asyncio_application,
    multi_process_file,
    bounded_memory_slow_disk,
)


def choose(frame: pd.DataFrame, baseline: Iterable[str] = ("null",)) -> list[Choice]:
    """Every row of the "choose a backend" section, in display order."""
    base = tuple(baseline)
    return [chooser(frame, base) for chooser in CHOOSERS]
