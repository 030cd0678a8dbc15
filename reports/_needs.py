"""What one backend measured against one need of a program: the decision's inputs, in one home.

Each ``*_figure(frame, backend, ...)`` is pure over the tidy results frame (``reports._load``) and
returns a :class:`Figure`: the one number with its interval, whether it meets the need (None for a
figure that is ranked rather than passed), and a detail saying how it was obtained. ``logbench
advise`` (:mod:`reports.advise`) filters and ranks on these; the report's decision matrix
(:mod:`reports.verdict`) shows the same figures.

Status of a figure: ``ok``; ``failed`` / ``not supported`` (the cell's own status); ``not run`` (no
rows for this backend); ``not covered`` (the asked rate lies outside the rates measured).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable

import pandas as pd

__all__ = ["Figure", "ROTATION_DEFECTS", "TARGET_PCT", "crash_figure", "lines_per_s", "loop_lag_figure", "service_figure",
           "multi_process_figure", "overhead_figure", "rss_figure", "slow_disk_figure", "sustainable_figure",
           "sweep"]

TARGET_PCT = 5.0
ROTATION_DEFECTS = ("lost", "duplicated", "torn", "out_of_order")
DROP_POLICIES = ("drop_new", "drop_old")
#: A measured rate within this relative distance of the asked one is used as measured (no interpolation).
SAME_RATE = 0.02
MIB = 2**20


@dataclasses.dataclass(frozen=True)
class Need:
    """One need a backend is judged on: ``key`` (the decision matrix's column id, or the ``advise``
    option that asks for it), a title, the scenario it reads, the figure per backend, and whether it
    ranks backends (``higher_is_better`` says which way) or filters them (met or not)."""

    key: str
    title: str
    scenario: str
    figure: Callable[[pd.DataFrame, str], Figure]
    ranked: bool = False
    higher_is_better: bool = False


@dataclasses.dataclass(frozen=True)
class Figure:
    """One backend's figure for one need."""

    backend: str
    value: float | None
    low: float | None
    high: float | None
    text: str
    meets: bool | None
    detail: str
    status: str = "ok"

    @property
    def usable(self) -> bool:
        """True when the figure was measured (status ok, a value)."""
        return self.status == "ok" and self.value is not None


def _absent(backend: str, status: str, detail: str) -> Figure:
    return Figure(backend, None, None, None, status, None, detail, status)


def _cell_status(rows: pd.DataFrame) -> str:
    """``failed`` wins over ``not supported`` wins over ``ok``; ``not run`` for no rows."""
    if rows.empty:
        return "not run"
    statuses = set(rows["status"])
    return next((s for s in ("failed", "not supported") if s in statuses), "ok")


def _rows(frame: pd.DataFrame, scenario: str, backend: str) -> pd.DataFrame:
    return frame[(frame["scenario"] == scenario) & (frame["backend"] == backend)]


def _num(value: object) -> float | None:
    """A cell as a float, or None when it is missing (None, NaN, NA) or not a number."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def lines_per_s(case: str, unit_us: float) -> float | None:
    """Lines/s of an overhead case ``rate=N/unit`` or ``rate=1/Munits`` at ``unit_us`` µs a unit (None: other case)."""
    match = re.fullmatch(r"rate=(\d+)/(\d*)units?", case)
    if not match or not unit_us > 0:
        return None
    return int(match.group(1)) / int(match.group(2) or 1) / (unit_us * 1e-6)


def sweep(frame: pd.DataFrame, backend: str) -> list[tuple[float, pd.Series]]:
    """``(lines/s, wall_overhead_pct row)`` of every ok overhead rate of ``backend``, lowest rate first."""
    rows = _rows(frame, "overhead", backend)
    rows = rows[rows["status"] == "ok"]
    unit_us = rows[rows["metric"] == "unit_us"].set_index("case")["value"]
    points = []
    for _, row in rows[(rows["metric"] == "wall_overhead_pct") & rows["value"].notna()].iterrows():
        rate = lines_per_s(str(row["case"]), float(unit_us.get(row["case"], float("nan"))))
        if rate is not None:
            points.append((rate, row))
    return sorted(points, key=lambda point: point[0])


def _pct(value: float, low: float | None, high: float | None) -> str:
    interval = f" [{low:+.1f}, {high:+.1f}]" if low is not None and high is not None else ""
    return f"{value:+.1f}%{interval}"


def _target(low: float | None, high: float | None) -> bool | None:
    """Against the 5% target: True wholly below, False wholly above, None when the interval straddles it."""
    if low is None or high is None:
        return None
    return True if high < TARGET_PCT else False if low > TARGET_PCT else None


def overhead_figure(frame: pd.DataFrame, backend: str, rate: float) -> Figure:
    """Wall overhead at ``rate`` lines/s: the measured case when one lies within 2%, else linear
    interpolation of median and interval bounds between the two measured rates around it (overhead
    grows about linearly with the rate). ``meets`` is the 5% target's verdict (None: inconclusive).
    Outside the measured rates: status ``not covered`` (never extrapolated)."""
    points = sweep(frame, backend)
    if not points:
        return _absent(backend, _cell_status(_rows(frame, "overhead", backend)), "no overhead rate measured")
    measured = ", ".join(f"{r['case']} = {rate_:,.0f}/s" for rate_, r in points)
    if not points[0][0] * (1 - SAME_RATE) <= rate <= points[-1][0] * (1 + SAME_RATE):
        return _absent(backend, "not covered", f"{rate:,.0f} lines/s is outside the measured sweep "
                                                f"{points[0][0]:,.0f} to {points[-1][0]:,.0f} lines/s ({measured})")
    near_rate, near = min(points, key=lambda p: abs(p[0] - rate))
    if abs(near_rate - rate) <= SAME_RATE * rate:
        value, low, high = float(near["value"]), _num(near["low"]), _num(near["high"])
        how = f"measured at {near['case']} ({near_rate:,.0f} lines/s)"
    else:
        (r0, a), (r1, b) = next(((p, q) for p, q in zip(points, points[1:]) if p[0] <= rate <= q[0]))
        share = (rate - r0) / (r1 - r0)

        def between(column: str) -> float | None:
            x, y = _num(a[column]), _num(b[column])
            return None if x is None or y is None else x + share * (y - x)

        mid, low, high = between("value"), between("low"), between("high")
        assert mid is not None
        value = mid
        how = (f"interpolated between {a['case']} ({r0:,.0f} lines/s: {_pct(float(a['value']), _num(a['low']), _num(a['high']))})"
               f" and {b['case']} ({r1:,.0f} lines/s: {_pct(float(b['value']), _num(b['low']), _num(b['high']))})")
    return Figure(backend, value, low, high, _pct(value, low, high), _target(low, high), how)


def sustainable_figure(frame: pd.DataFrame, backend: str) -> Figure:
    """The overhead scenario's ``sustainable_lines_per_s``: highest measured rate wholly below 5% (0: none)."""
    rows = _rows(frame, "overhead", backend)
    row = rows[rows["metric"] == "sustainable_lines_per_s"]
    if row.empty or row["value"].isna().all():
        return _absent(backend, _cell_status(rows), "no sustainable_lines_per_s record")
    value = float(row["value"].iloc[0])
    text = f"{value:,.0f}/s" if value > 0 else "none"
    return Figure(backend, value, None, None, text, value > 0, str(row["detail"].iloc[0]) or
                  "highest measured rate whose whole interval lies below 5%")


def _wilson(hits: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of the proportion ``hits / trials``."""
    if trials == 0:
        return (0.0, 1.0)
    p = hits / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return (max(0.0, centre - half), min(1.0, centre + half))


def crash_figure(frame: pd.DataFrame, backend: str) -> Figure:
    """Records lost when the process dies, over every case of the crash scenario (SIGKILL trials, exits,
    pools, executors). Meets the need when nothing was lost and no case broke the contract. The number
    is the most records one death lost; the interval is the 95% Wilson interval of the share of
    SIGKILL trials that lost any record."""
    rows = _rows(frame, "crash", backend)
    status = _cell_status(rows)
    if status != "ok":
        return _absent(backend, status, _first_detail(rows) or f"crash {status}")
    kills = rows[(rows["metric"] == "lost_records") & rows["trial"].notna() & rows["value"].notna()]
    deaths = rows[(rows["metric"] == "lost_records") & rows["trial"].isna() & rows["value"].notna()]
    lost = pd.concat([kills["value"], deaths["value"]])
    if lost.empty:
        return _absent(backend, "not run", "no lost_records measured")
    worst = float(lost.max())
    hits, trials = int((kills["value"] > 0).sum()), len(kills)
    low, high = _wilson(hits, trials)
    defects = rows[rows["verdict"] == "defect"]
    losing = sorted({str(c) for c in pd.concat([kills, deaths]).query("value > 0")["case"]})
    detail = (f"{hits} of {trials} SIGKILL trials lost records (95% interval of the share: {low:.0%} to {high:.0%}); "
              f"{len(deaths)} other ways out ({', '.join(sorted({str(c).split('/')[0] + '/*' for c in deaths['case']}))})"
              + (f"; lost in {', '.join(losing)}" if losing else "; nothing lost in any")
              + (f"; contract broken in {', '.join(sorted(set(defects['case'])))}" if not defects.empty else ""))
    text = f"up to {worst:g} lost" if worst else "0 lost"
    return Figure(backend, worst, low, high, text, worst == 0 and defects.empty, detail)


def _first_detail(rows: pd.DataFrame) -> str:
    details = [str(d) for d in rows["detail"] if d]
    return details[-1].strip().splitlines()[-1] if details else ""


def multi_process_figure(frame: pd.DataFrame, backend: str) -> Figure:
    """Several processes writing one rotating file (rotation scenario, case ``multi-process``): meets the
    need when no line was lost, duplicated, torn or reordered; the number is the count of such lines."""
    rows = _rows(frame, "rotation", backend)
    rows = rows[rows["case"] == "multi-process"]
    status = _cell_status(rows)
    if status != "ok":
        return _absent(backend, status, _first_detail(rows) or f"rotation multi-process {status}")
    counted = rows[rows["metric"].isin(ROTATION_DEFECTS)]
    bad = counted[counted["value"].fillna(0) > 0]
    total = float(counted["value"].fillna(0).sum())
    meets = bad.empty and not (rows["verdict"] == "defect").any()
    detail = ", ".join(f"{r['metric']} {r['value']:g}" for _, r in counted.iterrows())
    return Figure(backend, total, None, None, f"{total:g} bad lines", meets, f"multi-process rotation: {detail}")


def loop_lag_figure(frame: pd.DataFrame, backend: str, rate: float | None = None) -> Figure:
    """Event-loop lag p99 (ms) at the lowest measured logging rate at or above ``rate`` lines/s (the
    highest measured rate when ``rate`` is None); status ``not covered`` above every measured rate."""
    rows = _rows(frame, "loop_lag", backend)
    ok = rows[(rows["metric"] == "lag_p99_ms") & (rows["status"] == "ok") & rows["value"].notna()]
    if ok.empty:
        return _absent(backend, _cell_status(rows), _first_detail(rows) or "no lag_p99_ms measured")
    by_rate = sorted(((_loop_rate(str(c)), r) for c, r in zip(ok["case"], (r for _, r in ok.iterrows()))),
                     key=lambda point: point[0])
    above = [(r, row) for r, row in by_rate if rate is None or r >= rate * (1 - SAME_RATE)]
    if rate is not None and not above:
        return _absent(backend, "not covered", f"{rate:,.0f} lines/s is above the highest loop_lag rate measured "
                                                f"({by_rate[-1][0]:,.0f}/s)")
    at, row = above[0] if rate is not None else by_rate[-1]
    value, low, high = float(row["value"]), _num(row["low"]), _num(row["high"])
    interval = f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None else ""
    return Figure(backend, value, low, high, f"{value:.2f} ms{interval}", None,
                  f"loop lag p99 at {row['case']} (the measured rate at or above {rate or at:,.0f} lines/s)")


#: the service case whose requests/s ratio decides (5 log lines per request: where logging's cost shows)
SERVICE_CASE = "lines=5/request"


def service_figure(frame: pd.DataFrame, backend: str) -> Figure:
    """The aiohttp service's requests/s as a ratio to ``null``'s, at ``SERVICE_CASE`` (higher is better;
    the interval is over interleaved repeats against ``null``)."""
    rows = _rows(frame, "service", backend)
    ok = rows[(rows["case"] == SERVICE_CASE) & (rows["metric"] == "requests_ratio") & (rows["status"] == "ok")
              & rows["value"].notna()]
    if ok.empty:
        return _absent(backend, _cell_status(rows), _first_detail(rows) or f"no requests_ratio at {SERVICE_CASE}")
    row = ok.iloc[0]
    value, low, high = float(row["value"]), _num(row["low"]), _num(row["high"])
    interval = f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None else ""
    return Figure(backend, value, low, high, f"{value:.2f}x{interval}", None,
                  f"aiohttp service under wrk, {SERVICE_CASE}: requests/s as a ratio to null's")


def _loop_rate(case: str) -> float:
    match = re.search(r"rate=([0-9.]+)/s", case)
    return float(match.group(1)) if match else 0.0


def rss_figure(frame: pd.DataFrame, backend: str, limit_mb: float | None = None) -> Figure:
    """Peak RSS (MiB) over the memory scenario's cases, the worst one (interpreter and writer processes
    included); meets ``limit_mb`` when that case's whole interval lies below it (None: no limit asked)."""
    rows = _rows(frame, "memory", backend)
    ok = rows[(rows["metric"] == "peak_rss_bytes") & (rows["status"] == "ok") & rows["value"].notna()]
    if ok.empty:
        return _absent(backend, _cell_status(rows), _first_detail(rows) or "no peak_rss_bytes measured")
    worst = ok.sort_values("value").iloc[-1]
    value = float(worst["value"]) / MIB
    low, high = (None if _num(worst[c]) is None else float(worst[c]) / MIB for c in ("low", "high"))
    interval = f" [{low:.1f}, {high:.1f}]" if low is not None and high is not None else ""
    meets = None if limit_mb is None else (high if high is not None else value) <= limit_mb
    cases = ", ".join(f"{r['case']} {float(r['value']) / MIB:.1f}" for _, r in ok.iterrows())
    return Figure(backend, value, low, high, f"{value:.1f} MiB{interval}", meets,
                  f"worst case {worst['case']} of: {cases} MiB (whole process, interpreter included)")


def slow_disk_figure(frame: pd.DataFrame, backend: str) -> Figure:
    """Bounded memory under a stalled sink: meets the need when a drop policy ran without defect and shed
    load (dropped > 0) instead of growing; the number is that policy's peak RSS (MiB). ``block`` also
    bounds memory, by stalling the caller: reported in the detail, not counted."""
    rows = _rows(frame, "memory", backend)
    rows = rows[rows["case"].str.startswith("slow_sink/")]
    status = _cell_status(rows)
    if rows.empty or (rows["status"] == "not supported").all():
        return _absent(backend, "not supported" if not rows.empty else "not run", "no queue: a stalled sink blocks")
    shedding = [p for p in DROP_POLICIES if _sheds_load(rows, f"slow_sink/{p}")]
    notes = "; ".join(_policy_note(rows, p) for p in (*DROP_POLICIES, "block"))
    rss = _metric(rows, f"slow_sink/{shedding[0]}", "peak_rss_bytes") if shedding else None
    text = f"{rss / MIB:.1f} MiB" if rss is not None else status if status != "ok" else "grows"
    return Figure(backend, None if rss is None else rss / MIB, None, None, text, bool(shedding), notes)


def _metric(rows: pd.DataFrame, case: str, metric: str) -> float | None:
    hit = rows[(rows["case"] == case) & (rows["metric"] == metric) & (rows["status"] == "ok")]["value"].dropna()
    return float(hit.iloc[0]) if not hit.empty else None


def _sheds_load(rows: pd.DataFrame, case: str) -> bool:
    cell = rows[rows["case"] == case]
    if cell.empty or (cell["status"] != "ok").any() or (cell["verdict"] == "defect").any():
        return False
    dropped = _metric(rows, case, "dropped")
    return dropped is not None and dropped > 0 and _metric(rows, case, "max_queue_depth") is not None


def _policy_note(rows: pd.DataFrame, policy: str) -> str:
    case = f"slow_sink/{policy}"
    status = _cell_status(rows[rows["case"] == case])
    if status != "ok":
        return f"{policy} {status}"
    rss, depth, dropped = (_metric(rows, case, m) for m in ("peak_rss_bytes", "max_queue_depth", "dropped"))
    parts = [f"peak RSS {rss / MIB:.1f} MiB" if rss is not None else "",
             f"max queue {depth:g}" if depth is not None else "", f"dropped {dropped:g}" if dropped is not None else ""]
    stalls = " (caller stalls)" if policy == "block" and not dropped else ""
    return f"{policy} " + " ".join(p for p in parts if p) + stalls
