"""The "choose a backend" rows, derived from measured results only.

Every function here is pure: it takes the tidy results frame (one row per
ResultRecord, see ``reports._load.COLUMNS``) and returns a :class:`Choice`
naming the qualifying backends and a sentence citing the figures that made
them qualify. When the scenario a row needs was not run, the choice says so
(``has_data`` False) instead of guessing. Baseline backends (``null``, which
writes nothing) are never recommended.
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


def lowest_overhead(frame: pd.DataFrame, baseline: Iterable[str] = ("null",)) -> Choice:
    """Backend(s) with the lowest median wall overhead at one record per work unit.

    Backends whose 95% interval overlaps the best one's are tied and qualify too.
    """
    need = "Lowest overhead"
    rows = _rows(frame, "overhead", case=OVERHEAD_CASE, metric=OVERHEAD_METRIC, exclude=baseline)
    ok = rows[(rows["status"] == "ok") & rows["value"].notna()]
    if ok.empty:
        return _no_data(need, "overhead", f"case {OVERHEAD_CASE}, metric {OVERHEAD_METRIC}")
    ok = ok.sort_values("value", kind="stable")
    best = ok.iloc[0]
    best_high = best["high"] if pd.notna(best["high"]) else best["value"]
    low = ok["low"].fillna(ok["value"])
    tied = ok[(low <= best_high) & (ok["backend"] != best["backend"])]
    winners = (best["backend"], *tied["backend"])
    sentence = (f"{best['backend']} adds {_pct(best)} wall time at {OVERHEAD_CASE} "
                f"(target < {OVERHEAD_TARGET_PCT:g}%, verdict {best['verdict'] or 'n/a'})")
    if not tied.empty:
        sentence += "; statistically tied: " + ", ".join(f"{r['backend']} {_pct(r)}" for _, r in tied.iterrows())
    others = ok[~ok["backend"].isin(winners)]
    if not others.empty:
        sentence += "; others: " + ", ".join(f"{r['backend']} {r['value']:.2f}%" for _, r in others.iterrows())
    return Choice(need, tuple(winners), sentence + ".")


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
    """Lowest event-loop lag p99, preferring backends whose overhead verdict is not "fail".

    Compared at the highest logging rate measured in the loop_lag scenario.
    When every backend measured there fails the overhead target, all of them
    are compared and the sentence says that none meets the target.
    """
    need = "asyncio application"
    rows = _rows(frame, "loop_lag", metric="lag_p99_ms", exclude=baseline)
    rows = rows[(rows["status"] == "ok") & rows["value"].notna()]
    if rows.empty:
        return _no_data(need, "loop_lag", "metric lag_p99_ms")
    rate = max(rows["case"].unique(), key=_case_rate)
    at_rate = rows[rows["case"] == rate]
    overhead = _rows(frame, "overhead", case=OVERHEAD_CASE, metric=OVERHEAD_METRIC)
    failing = set(overhead[overhead["verdict"] == "fail"]["backend"])
    acceptable = at_rate[~at_rate["backend"].isin(failing)]
    if overhead.empty:
        basis = "overhead not measured"
    elif acceptable.empty:
        basis = f"every one fails the {OVERHEAD_TARGET_PCT:g}% overhead target at {OVERHEAD_CASE}"
        acceptable = at_rate
    else:
        basis = f"among backends not failing the {OVERHEAD_TARGET_PCT:g}% overhead target"
    best = acceptable.sort_values("value", kind="stable").iloc[0]
    others = acceptable[acceptable["backend"] != best["backend"]].sort_values("value", kind="stable")
    sentence = f"{best['backend']} keeps loop lag p99 at {best['value']:.2f} ms at {rate} ({basis})"
    if not others.empty:
        sentence += "; others: " + ", ".join(f"{r['backend']} {r['value']:.2f} ms" for _, r in others.iterrows())
    excluded = sorted(set(at_rate["backend"]) - set(acceptable["backend"]))
    if excluded:
        sentence += f"; excluded for overhead: {_names(excluded)}"
    return Choice(need, (str(best["backend"]),), sentence + ".")


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
