"""The end-of-run summary: backend x scenario in one text table (format only; cli.py prints).

Columns: wall and CPU overhead at 1 line/unit (median %, 95% interval, verdict),
the wall overhead at 1 line/unit when the program logs through stdlib ``logging``
(``log.handler()`` / after ``loggers.accelerate()``; medians and verdicts), the sustainable rate (highest measured lines/s wholly below 5%), ns per call of the small record on pyperf (median, 95% interval), p99.9 caller latency (steady), throughput with 1 thread, peak RSS (memory burst),
records lost per SIGKILL trial (median and max over trials), rotation verdict,
asyncio loop lag p99 (worst rate), the service's requests/s against ``null`` at 5 lines a request
(median ratio, 95% interval). ``-``: scenario not run for that backend;
``FAILED``: the cell crashed or timed out (see results.json detail);
``n/s``: not supported by the backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from scenarios._fronts import STDLIB_FRONTS
from scenarios.overhead import GATE_CASE

from .store import number as _num

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["format_summary"]


def _rows(frame: pd.DataFrame, scenario: str, backend: str) -> pd.DataFrame:
    return frame[(frame["scenario"] == scenario) & (frame["backend"] == backend)]


def _cell(frame: pd.DataFrame, scenario: str, backend: str, render: Callable[[pd.DataFrame], str]) -> str:
    rows = _rows(frame, scenario, backend)
    if rows.empty:
        return "-"
    if (rows["status"] == "failed").any():
        return "FAILED"
    ok = rows[rows["status"] == "ok"]
    if ok.empty:
        return "n/s"
    return render(ok)


def _pick(rows: pd.DataFrame, case: str | None, metric: str) -> pd.DataFrame:
    chosen = rows[rows["metric"] == metric]
    if case is not None:
        chosen = chosen[chosen["case"] == case]
    return chosen[chosen["trial"].isna()]


def _overhead(metric: str, full: bool, case: str = GATE_CASE) -> Callable[[pd.DataFrame], str]:
    def render(rows: pd.DataFrame) -> str:
        chosen = _pick(rows, case, metric)
        if chosen.empty or _num(chosen.iloc[0]["value"]) is None:
            return "-"
        from .store import plain_rows

        row = plain_rows(chosen)[0]
        text = f"{_num(row['value']):+.1f}%"
        if full and _num(row["low"]) is not None:
            text += f" [{_num(row['low']):+.1f},{_num(row['high']):+.1f}]"
        return f"{text} {row['verdict'] or ''}".strip()
    return render


def _via_logging(rows: pd.DataFrame) -> str:
    """``bridge / accelerated`` wall overhead at the gate's rate (``-`` for a front not measured)."""
    cells = [_overhead("wall_overhead_pct", False, f"{GATE_CASE},front={front}")(rows) for front in STDLIB_FRONTS]
    return "-" if cells == ["-"] * len(cells) else " / ".join(cells)


def _scaled(case: str | None, metric: str, scale: float, unit: str, fmt: str = "{:.1f}") -> Callable[[pd.DataFrame], str]:
    def render(rows: pd.DataFrame) -> str:
        values = [v for v in (_num(x) for x in _pick(rows, case, metric)["value"]) if v is not None]
        return f"{fmt.format(max(values) / scale)} {unit}".strip() if values else "-"
    return render


def _with_interval(case: str, metric: str, fmt: str) -> Callable[[pd.DataFrame], str]:
    """``value [low-high]`` of one summary record."""
    def render(rows: pd.DataFrame) -> str:
        chosen = _pick(rows, case, metric)
        if chosen.empty or _num(chosen.iloc[0]["value"]) is None:
            return "-"
        row = chosen.iloc[0]
        low, high = _num(row["low"]), _num(row["high"])
        text = fmt.format(_num(row["value"]))
        return text + (f" [{fmt.format(low)}-{fmt.format(high)}]" if low is not None and high is not None else "")
    return render


def _ratio(case: str, metric: str) -> Callable[[pd.DataFrame], str]:
    """``0.93x [0.90,0.96]``: a ratio to the baseline with its interval."""
    def render(rows: pd.DataFrame) -> str:
        chosen = _pick(rows, case, metric)
        if chosen.empty or _num(chosen.iloc[0]["value"]) is None:
            return "-"
        row = chosen.iloc[0]
        text = f"{_num(row['value']):.2f}x"
        low, high = _num(row["low"]), _num(row["high"])
        return text + (f" [{low:.2f},{high:.2f}]" if low is not None and high is not None else "")
    return render


def _sustainable(rows: pd.DataFrame) -> str:
    """``>=N k`` lines/s wholly below the target, or ``none`` when no measured rate was."""
    chosen = _pick(rows, "sweep", "sustainable_lines_per_s")
    if chosen.empty:
        return "-"
    value = _num(chosen.iloc[0]["value"])
    return f">={value / 1000:.1f} k" if value else "none"


def _crash(rows: pd.DataFrame) -> str:
    sigkill = rows[rows["case"].str.startswith("sigkill")]
    trials = [v for v in (_num(x) for x in sigkill[sigkill["metric"] == "lost_records"]["value"]) if v is not None]
    defect = (rows["verdict"] == "defect").any()
    if trials:
        ordered = sorted(trials)
        text = f"med {ordered[len(ordered) // 2]:g} max {ordered[-1]:g}"
    else:
        text = "-"
    return f"{text} DEFECT" if defect else text


def _verdicts(rows: pd.DataFrame) -> str:
    verdicts = set(rows["verdict"].dropna())
    return "DEFECT" if "defect" in verdicts else ("ok" if "ok" in verdicts else "-")


COLUMNS: tuple[tuple[str, str, Callable[[pd.DataFrame], str]], ...] = (
    ("wall ovh @1/unit [95%]", "overhead", _overhead("wall_overhead_pct", True)),
    ("cpu ovh", "overhead", _overhead("cpu_overhead_pct", False)),
    ("via logging: bridge / accel", "overhead", _via_logging),
    ("lines/s @5%", "overhead", _sustainable),
    ("caller ns (small) [95%]", "caller", _with_interval("record=small", "ns_per_call", "{:.0f}")),
    ("p99.9 lat", "latency", _scaled("steady", "p99_9_ns", 1000.0, "us")),
    ("rec/s 1thr", "throughput", _scaled("threads=1", "records_per_s", 1000.0, "k", "{:.0f}")),
    ("peak RSS", "memory", _scaled("burst", "peak_rss_bytes", 1e6, "MB")),
    ("lost/SIGKILL trial", "crash", _crash),
    ("rotation", "rotation", _verdicts),
    ("loop lag p99", "loop_lag", _scaled(None, "lag_p99_ms", 1.0, "ms", "{:.3f}")),
    ("service 5 lines/req", "service", _ratio("lines=5/request", "requests_ratio")),
)


def format_summary(frame: pd.DataFrame, backends: list[str] | None = None) -> list[str]:
    """The summary table as lines of text (backends in ``backends`` order, else as they appear)."""
    names = backends or list(dict.fromkeys(frame["backend"].tolist()))
    header = ["backend", *(title for title, _, _ in COLUMNS)]
    table = [header]
    for backend in names:
        table.append([backend, *(_cell(frame, scenario, backend, render) for _, scenario, render in COLUMNS)])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines
