"""Tables (pandas DataFrames) for the report, and their HTML rendering.

A cell a backend cannot do reads "not supported", a cell that crashed reads
"failed", a cell never measured reads "not run".
"""

from __future__ import annotations

import html
from collections.abc import Callable

import pandas as pd

from scenarios.overhead import GATE_CASE

from ._load import Results

NOT_RUN = "not run"
METADATA_KEYS = ("machine", "cpu_count", "python", "implementation", "platform", "git_commit",
                 "git_dirty", "started_at", "finished_at", "quick", "command")


def _cell(results: Results, backend: str, scenario: str, case: str, metric: str,
          fmt: Callable[[pd.Series], str]) -> str:
    frame = results.frame
    rows = frame[(frame["scenario"] == scenario) & (frame["backend"] == backend)
                 & (frame["case"] == case) & frame["trial"].isna()]
    if rows.empty:
        return NOT_RUN
    status = _status(rows)
    if status != "ok":
        return status
    metric_rows = rows[rows["metric"] == metric]
    if metric_rows.empty or metric_rows["value"].isna().all():
        return NOT_RUN
    return fmt(metric_rows.iloc[0])


def _status(rows: pd.DataFrame) -> str:
    """``failed`` wins over ``not supported`` wins over ``ok``."""
    statuses = set(rows["status"])
    for status in ("failed", "not supported"):
        if status in statuses:
            return status
    return "ok"


def _pct(row: pd.Series) -> str:
    text = f"{row['value']:.2f}%"
    if pd.notna(row["low"]) and pd.notna(row["high"]):
        text += f" [{row['low']:.2f}, {row['high']:.2f}]"
    return text + (f" {row['verdict']}" if row["verdict"] else "")


SUMMARY_COLUMNS: tuple[tuple[str, str, str, str, Callable[[pd.Series], str]], ...] = (
    (f"overhead @ {GATE_CASE} (%, 95% CI)", "overhead", GATE_CASE, "wall_overhead_pct", _pct),
    ("... through stdlib logging, log.handler()", "overhead", f"{GATE_CASE},front=bridge", "wall_overhead_pct", _pct),
    ("... through stdlib logging + loggers.accelerate()", "overhead", f"{GATE_CASE},front=accelerated",
     "wall_overhead_pct", _pct),
    ("latency p99 steady (µs)", "latency", "steady", "p99_ns", lambda r: f"{r['value'] / 1000:.2f}"),
    ("throughput 1 thread (rec/s)", "throughput", "threads=1", "records_per_s", lambda r: f"{r['value']:,.0f}"),
    ("peak RSS burst (MiB)", "memory", "burst", "peak_rss_bytes", lambda r: f"{r['value'] / 2**20:.1f}"),
    ("lost per SIGKILL, max (paced)", "crash", "sigkill/paced", "lost_max",
     lambda r: f"{r['value']:g} {r['verdict'] or ''}".strip()),
    ("rotation, multi-process", "rotation", "multi-process", "lost", lambda r: r["verdict"] or f"lost {r['value']:g}"),
    ("service req/s vs null, 5 lines/request (x, 95% CI)", "service", "lines=5/request", "requests_ratio",
     lambda r: f"{r['value']:.2f}x" + (f" [{r['low']:.2f}, {r['high']:.2f}]" if pd.notna(r["low"]) else "")),
    ("loop lag p99 @ 100,000/s (ms)", "loop_lag", "rate=100000/s", "lag_p99_ms", lambda r: f"{r['value']:.3f}"),
)


def summary_table(results: Results) -> pd.DataFrame:
    """One row per backend, one column per headline figure."""
    backends = sorted(results.frame["backend"].unique(), key=results.order_key)
    rows = []
    for backend in backends:
        row = {"backend": results.label(backend)}
        for title, scenario, case, metric, fmt in SUMMARY_COLUMNS:
            row[title] = _cell(results, backend, scenario, case, metric, fmt)
        rows.append(row)
    return pd.DataFrame(rows, columns=["backend", *(c[0] for c in SUMMARY_COLUMNS)])


def metadata_table(results: Results) -> pd.DataFrame:
    """Where the numbers came from: machine, Python, git commit, when, how."""
    meta = results.metadata
    keys = [k for k in METADATA_KEYS if k in meta] + sorted(set(meta) - set(METADATA_KEYS))
    return pd.DataFrame({"key": keys, "value": [str(meta[k]) for k in keys]})


def verdict_table(results: Results, scenario: str, text: Callable[[pd.DataFrame], str]) -> pd.DataFrame | None:
    """case x backend for a correctness scenario; None when the scenario was not run."""
    frame = results.frame
    rows = frame[(frame["scenario"] == scenario) & frame["trial"].isna()]
    if rows.empty:
        return None
    backends = sorted(rows["backend"].unique(), key=results.order_key)
    table = pd.DataFrame(index=sorted(rows["case"].unique()), columns=[results.label(b) for b in backends],
                         dtype=object)
    for (case, backend), cell in rows.groupby(["case", "backend"]):
        status = _status(cell)
        table.loc[str(case), results.label(str(backend))] = status if status != "ok" else text(cell)
    table = table.fillna(NOT_RUN)
    table.index.name = "case"
    return table.reset_index()


def rotation_text(cell: pd.DataFrame) -> str:
    """``ok`` or ``defect: lost 3, torn 1``."""
    bad = cell[(cell["verdict"] == "defect") | (cell["value"].fillna(0) > 0)]
    if bad.empty:
        return "ok" if (cell["verdict"] == "ok").any() or cell["verdict"].isna().all() else "n/a"
    return "defect: " + ", ".join(f"{r['metric']} {r['value']:g}" for _, r in bad.iterrows() if pd.notna(r["value"]))


def short_detail(detail: str, limit: int = 300) -> str:
    """One readable line of a cell's detail: a traceback becomes its last line (the exception)."""
    lines = [line.strip() for line in detail.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if any(line.startswith("Traceback (most recent call last)") for line in lines):
        head = lines[0] if not lines[0].startswith("Traceback") else ""
        text = (f"{head} " if head else "") + "raised " + lines[-1]
    else:
        text = " ".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fault_text(cell: pd.DataFrame) -> str:
    """The verdict, then the scenario's outcome text (``detail``, tracebacks shortened)."""
    details = list(dict.fromkeys(short_detail(d, limit=160) for d in cell["detail"] if d))
    verdicts = {v for v in cell["verdict"] if v}
    verdict = "defect" if "defect" in verdicts else ("ok" if "ok" in verdicts else "")
    text = "; ".join(details) or ", ".join(f"{r['metric']} {r['value']:g}" for _, r in cell.iterrows()
                                           if pd.notna(r["value"]))
    return f"{verdict}: {text}" if verdict else text


def problem_cells(results: Results) -> pd.DataFrame:
    """Every failed or not-supported cell with the first line of its detail."""
    frame = results.frame
    rows = frame[frame["status"] != "ok"]
    cells = rows.groupby(["scenario", "backend", "case", "status"], as_index=False).agg(detail=("detail", "first"))
    cells["backend"] = [results.label(b) for b in cells["backend"]]
    cells["detail"] = [short_detail(d) for d in cells["detail"]]
    return cells


def to_html(table: pd.DataFrame, *, table_id: str = "", fold: bool = False) -> str:
    """An escaped HTML table; cells reading failed / not supported / peer get a CSS class.

    ``fold``: a cell ``verdict: text`` (ok / defect) shows the verdict and keeps the text behind a
    ``<details>``, so wide tables of many backends stay within the page.
    """
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = []
    for _, row in table.iterrows():
        cells = []
        for value in row:
            text = str(value)
            css = _css(text)
            attribute = f' class="{css}"' if css else ""
            cells.append(f"<td{attribute}>{_folded(text) if fold else html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    ident = f' id="{html.escape(table_id)}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _folded(text: str) -> str:
    head, sep, rest = text.partition(": ")
    if not sep or head not in ("ok", "defect"):
        return html.escape(text)
    return f"<details><summary>{html.escape(head)}</summary>{html.escape(rest)}</details>"


def _css(text: str) -> str:
    if text == "failed" or text.startswith("defect"):
        return "bad"
    if text in ("not supported", NOT_RUN):
        return "na"
    if text.endswith("(peer)"):
        return "peer"
    return ""
