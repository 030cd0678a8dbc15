"""Figures as embedded SVG strings (matplotlib, headless Agg).

Each ``figure_*`` takes the loaded :class:`~reports._load.Results` and returns
SVG markup, or None when the scenario it needs has no usable rows (the page
then says "no data"). Peers are drawn hatched in muted colours and labelled
``(peer)``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
import pandas as pd

from scenarios.overhead import GATE_CASE

from ._load import Results
from ._needs import lines_per_s

_REFERENCE_COLOURS = tuple(plt.get_cmap("tab10")(i) for i in range(10))
_PEER_COLOURS = ("#8c8c8c", "#b07a4f", "#6b6b9a", "#9a6b8a", "#5f8f7f")
PEER_HATCH = "//"
LATENCY_METRICS = ("p50_ns", "p90_ns", "p99_ns", "p99_9_ns", "max_ns")


class Style:
    """Stable colour/hatch/label per backend for one report."""

    def __init__(self, results: Results) -> None:
        self.results = results
        self._order = results.order_key
        names = sorted(results.frame["backend"].unique(), key=self._order)
        reference = [n for n in names if not results.is_peer(n)]
        peers = [n for n in names if results.is_peer(n)]
        self.colour = {n: _REFERENCE_COLOURS[i % len(_REFERENCE_COLOURS)] for i, n in enumerate(reference)}
        self.colour.update({n: _PEER_COLOURS[i % len(_PEER_COLOURS)] for i, n in enumerate(peers)})

    def backends(self, names: Iterable[object]) -> list[str]:
        return sorted({str(n) for n in names}, key=self._order)

    def hatch(self, name: str) -> str | None:
        return PEER_HATCH if self.results.is_peer(name) else None

    def label(self, name: str) -> str:
        return self.results.label(name)


def _legend_outside(ax: Axes) -> None:
    """The legend right of the plotting area, so it never covers a line or a bar."""
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def _backend_ticks(ax: Axes, labels: list[str]) -> None:
    """Backend names under the axis, slanted and anchored at their tick so long names never overlap."""
    ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right", rotation_mode="anchor", fontsize=8)


def _ok(results: Results, scenario: str) -> pd.DataFrame:
    frame = results.frame
    rows = frame[(frame["scenario"] == scenario) & (frame["status"] == "ok")]
    return rows[rows["value"].notna()]


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE: the SVG is inline


def _grouped_bars(ax: Axes, style: Style, rows: pd.DataFrame, cases: list[str],
                  scale: float = 1.0, errors: bool = False) -> None:
    backends = style.backends(rows["backend"])
    width = 0.8 / max(len(backends), 1)
    x = np.arange(len(cases))
    for i, backend in enumerate(backends):
        sub = rows[rows["backend"] == backend].set_index("case")
        values = [sub["value"].get(c, np.nan) / scale for c in cases]
        yerr = _yerr(sub, cases, scale) if errors else None
        ax.bar(x + (i - (len(backends) - 1) / 2) * width, values, width, yerr=yerr, capsize=3,
               color=style.colour[backend], hatch=style.hatch(backend), edgecolor="black",
               linewidth=0.4, label=style.label(backend))
    ax.set_xticks(x, cases)


def _yerr(rows: pd.DataFrame, keys: list[str], scale: float = 1.0) -> np.ndarray | None:
    """Asymmetric error bars ``[[below...], [above...]]`` from ``value``/``low``/``high`` of ``rows``
    (indexed by ``keys``' kind), divided by ``scale``; 0 where one figure has no interval, None (no
    bars at all) when none has (older result files)."""
    value, low, high = (np.array([rows[column].get(k, np.nan) for k in keys], dtype=float) / scale
                        for column in ("value", "low", "high"))
    if np.isnan(low).all() and np.isnan(high).all():
        return None
    bars: np.ndarray = np.nan_to_num(np.array([value - low, high - value]), nan=0.0).clip(min=0)
    return bars


def figure_overhead(results: Results) -> str | None:
    """Wall overhead % per backend and logging rate, 95% interval bars, 5% target line."""
    rows = _ok(results, "overhead")
    rows = rows[(rows["metric"] == "wall_overhead_pct") & ~rows["case"].str.contains(",front=", regex=False)]
    if rows.empty:
        return None
    style = Style(results)
    cases = sorted(rows["case"].unique(), key=_rate_key)
    fig, ax = plt.subplots(figsize=(11, 4))
    _grouped_bars(ax, style, rows, cases, errors=True)
    ax.axhline(5.0, color="red", linestyle="--", linewidth=1, label="5% target")
    ax.set_yscale("symlog", linthresh=10.0)  # linear near the 5% target, logarithmic for the +100s of % of slow peers
    ax.set_ylabel("wall-time overhead vs no logging (%, symlog)")
    ax.set_xlabel("logging rate (records per work unit)")
    ax.set_title("Overhead per backend and logging rate (median, 95% interval)" + _resolution(results, rows))
    _legend_outside(ax)
    fig.tight_layout()
    return _svg(fig)


def figure_fronts(results: Results) -> str | None:
    """Wall overhead at the gate's rate through each front (own API, stdlib bridge, accelerated), 5% line."""
    rows = _ok(results, "overhead")
    rows = rows[(rows["metric"] == "wall_overhead_pct") & rows["case"].str.startswith(GATE_CASE)]
    fronts = [case for case in (GATE_CASE, f"{GATE_CASE},front=bridge", f"{GATE_CASE},front=accelerated")
              if case in set(rows["case"])]
    if len(fronts) < 2:
        return None
    rows = rows[rows["backend"].isin(set(rows[rows["case"] != GATE_CASE]["backend"]))]  # backends with a stdlib front
    style = Style(results)
    fig, ax = plt.subplots(figsize=(11, 4))
    _grouped_bars(ax, style, rows, fronts, errors=True)
    ax.set_xticks(range(len(fronts)), [FRONT_LABELS[case.partition(",front=")[2] or "native"] for case in fronts])
    ax.axhline(5.0, color="red", linestyle="--", linewidth=1, label="5% target")
    ax.set_yscale("symlog", linthresh=10.0)
    ax.set_ylabel("wall-time overhead vs no logging (%, symlog)")
    ax.set_xlabel(f"how the program logs ({GATE_CASE}; A is the null backend's own API throughout)")
    ax.set_title("Overhead through stdlib logging (median, 95% interval)")
    _legend_outside(ax)
    fig.tight_layout()
    return _svg(fig)


FRONT_LABELS = {"native": "logbench API: log.info(msg, **fields)",
                "bridge": "stdlib logging, handler = log.handler()",
                "accelerated": "stdlib logging + loggers.accelerate()"}


def figure_sustainable(results: Results) -> str | None:
    """Wall overhead against the application's lines/s (log x), 5% line, each backend's sustainable rate marked."""
    rows = _ok(results, "overhead")
    overhead = rows[rows["metric"] == "wall_overhead_pct"]
    unit_us = rows[rows["metric"] == "unit_us"].set_index(["backend", "case"])["value"]
    sustainable = rows[rows["metric"] == "sustainable_lines_per_s"].set_index("backend")["value"]
    if overhead.empty or unit_us.empty:
        return None
    style = Style(results)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for backend in style.backends(overhead["backend"]):
        sub = overhead[overhead["backend"] == backend]
        points: list[tuple[float, float, float, float]] = sorted(
            (rate, float(v), float(lo), float(hi))
            for case, v, lo, hi in zip(sub["case"], sub["value"], sub["low"], sub["high"])
            if (backend, case) in unit_us.index
            and (rate := lines_per_s(str(case), float(unit_us[(backend, case)]))) is not None
        )
        if not points:
            continue
        x, y, low, high = (np.array(column) for column in zip(*points))
        yerr = np.nan_to_num(np.array([y - low, high - y]), nan=0.0).clip(min=0)
        ax.errorbar(x, y, yerr=yerr, marker="o", markersize=3, capsize=2, linewidth=1,
                    linestyle="--" if results.is_peer(backend) else "-", color=style.colour[backend],
                    label=style.label(backend))
        best = sustainable.get(backend)
        if best is not None and best == best and best > 0:
            near = min(points, key=lambda p: abs(p[0] - best))
            ax.plot([near[0]], [near[1]], marker="*", markersize=12, color=style.colour[backend],
                    markeredgecolor="black", linestyle="none")
    ax.axhline(5.0, color="red", linestyle="--", linewidth=1, label="5% target")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=10.0)
    ax.set_xlabel("application's logging rate (lines per second of its work, log)")
    ax.set_ylabel("wall-time overhead (%, symlog)")
    ax.set_title("Overhead against logging rate; star: highest measured rate wholly below 5%")
    _legend_outside(ax)
    fig.tight_layout()
    return _svg(fig)


def figure_caller(results: Results) -> str | None:
    """ns per logging call on pyperf, per backend and record shape, 95% interval bars, log scale."""
    rows = _ok(results, "caller")
    rows = rows[rows["metric"] == "ns_per_call"]
    if rows.empty:
        return None
    style = Style(results)
    order = ["record=filtered", "record=small", "record=medium", "record=large"]
    cases = [c for c in order if c in set(rows["case"])] + sorted(set(rows["case"]) - set(order))
    fig, ax = plt.subplots(figsize=(11, 4))
    _grouped_bars(ax, style, rows, cases, errors=True)
    ax.set_yscale("log")
    ax.set_ylabel("caller wall time per call (ns, log)")
    ax.set_xlabel("record shape (filtered: a call below the level)")
    ax.set_title("Caller cost per call on pyperf (median, 95% interval)")
    _legend_outside(ax)
    fig.tight_layout()
    return _svg(fig)


def _resolution(results: Results, rows: pd.DataFrame) -> str:
    """What the run can resolve: the half-width of the baseline's own interval (null against null) at the gate rate."""
    own = rows[rows["backend"].isin(results.baseline_backends) & (rows["case"] == GATE_CASE)]
    if own.empty or own["low"].isna().all():
        return ""
    half = float((own["high"] - own["low"]).iloc[0]) / 2
    return f"\nthis run resolves \u00b1{half:.1f} points ({own['backend'].iloc[0]} against itself at {GATE_CASE})"


def _rate_key(case: str) -> tuple[float, str]:
    match = re.match(r"rate=([0-9.]+)/([0-9.]*)", case)
    if not match:
        return (0.0, case)
    per = float(match.group(2)) if match.group(2) else 1.0
    return (float(match.group(1)) / per, case)


def figure_latency(results: Results) -> str | None:
    """Caller latency percentiles per backend, one panel per case, log scale; bars: 95% interval of the median."""
    rows = _ok(results, "latency")
    rows = rows[rows["metric"].isin(LATENCY_METRICS)]
    if rows.empty:
        return None
    style = Style(results)
    cases = [c for c in ("steady", "rotating", "paced") if c in set(rows["case"])] or sorted(rows["case"].unique())
    fig, axes = plt.subplots(1, len(cases), figsize=(4 * len(cases) + 1, 4), sharey=True, squeeze=False)
    metrics = [m for m in LATENCY_METRICS if m in set(rows["metric"])]
    for ax, case in zip(axes[0], cases):
        sub = rows[rows["case"] == case]
        for backend in style.backends(sub["backend"]):
            values = sub[sub["backend"] == backend].set_index("metric")
            ax.errorbar(range(len(metrics)), [values["value"].get(m, np.nan) for m in metrics],
                        yerr=_yerr(values, metrics), marker="o", capsize=3,
                        color=style.colour[backend], linestyle="--" if style.hatch(backend) else "-",
                        label=style.label(backend))
        ax.set_xticks(range(len(metrics)), [m.removesuffix("_ns").replace("_", ".") for m in metrics])
        ax.set_yscale("log")
        ax.set_title(f"latency: {case}")
    axes[0][0].set_ylabel("caller latency per call (ns, log)")
    _legend_outside(axes[0][-1])
    return _svg(fig)


def figure_throughput(results: Results) -> str | None:
    """Records per second against producer threads, one line per backend; bars: 95% interval of the median."""
    rows = _ok(results, "throughput")
    rows = rows[rows["metric"] == "records_per_s"]
    if rows.empty:
        return None
    style = Style(results)
    rows = rows.assign(threads=rows["case"].str.extract(r"threads=(\d+)")[0].astype(float))
    fig, ax = plt.subplots(figsize=(7, 4))
    for backend in style.backends(rows["backend"]):
        sub = rows[rows["backend"] == backend].sort_values("threads")
        ax.errorbar(sub["threads"], sub["value"], yerr=_yerr(sub.set_index("case"), list(sub["case"])),
                    marker="o", capsize=3, color=style.colour[backend],
                    linestyle="--" if style.hatch(backend) else "-", label=style.label(backend))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("producer threads")
    ax.set_ylabel("records per second (log)")
    ax.set_title("Throughput vs producer threads")
    _legend_outside(ax)
    return _svg(fig)


def figure_memory(results: Results) -> str | None:
    """Peak RSS and max queue depth per case (burst, slow sink per overflow policy); bars: interval of the median."""
    rows = _ok(results, "memory")
    if rows.empty:
        return None
    style = Style(results)
    order = ["burst", "slow_sink/block", "slow_sink/drop_new", "slow_sink/drop_old"]
    cases = [c for c in order if c in set(rows["case"])] + sorted(set(rows["case"]) - set(order))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, metric, scale, label in ((axes[0], "peak_rss_bytes", 2**20, "peak RSS (MiB)"),
                                     (axes[1], "max_queue_depth", 1.0, "max queue depth (records)")):
        sub = rows[rows["metric"] == metric]
        if sub.empty:
            ax.text(0.5, 0.5, f"no {metric} measured", ha="center", transform=ax.transAxes)
            continue
        _grouped_bars(ax, style, sub, cases, scale=scale, errors=True)
        ax.set_ylabel(label)
        ax.tick_params(axis="x", labelrotation=15)
    axes[0].set_title("Peak memory under burst / slow sink")
    axes[1].set_title("Queue depth under burst / slow sink")
    _legend_outside(axes[1])
    return _svg(fig)


def figure_crash(results: Results) -> str | None:
    """Records lost per SIGKILL trial: every trial as a point (strip plot), per case."""
    rows = _ok(results, "crash")
    rows = rows[(rows["metric"] == "lost_records") & rows["trial"].notna() & rows["case"].str.startswith("sigkill/")]
    if rows.empty:
        return None
    style = Style(results)
    cases = sorted(rows["case"].unique())
    backends = style.backends(rows["backend"])
    fig, axes = plt.subplots(1, len(cases), figsize=(6.5 * len(cases) + 1, 4.5), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, case in zip(axes[0], cases):
        for i, backend in enumerate(backends):
            values = rows[(rows["case"] == case) & (rows["backend"] == backend)]["value"].to_numpy()
            jitter = rng.uniform(-0.15, 0.15, size=len(values))
            ax.scatter(np.full(len(values), i) + jitter, values, s=18, color=style.colour[backend],
                       marker="x" if style.hatch(backend) else "o", label=style.label(backend))
            if len(values):
                ax.hlines(np.median(values), i - 0.3, i + 0.3, color="black", linewidth=1)
        _backend_ticks(ax, [style.label(b) for b in backends])
        ax.set_title(f"records lost per trial: {case}")
        ax.set_ylabel("records lost (per SIGKILL trial; bar = median)")
    return _svg(fig)


FIGURES: dict[str, tuple[str, str, Callable[[Results], str | None]]] = {
    "fig-sustainable": ("overhead", "Overhead against logging rate (sustainable rate)", figure_sustainable),
    "fig-overhead": ("overhead", "Overhead per backend and logging rate", figure_overhead),
    "fig-fronts": ("overhead", "Overhead through stdlib logging (bridge, accelerated)", figure_fronts),
    "fig-caller": ("caller", "Caller cost per call (pyperf)", figure_caller),
    "fig-latency": ("latency", "Caller latency percentiles", figure_latency),
    "fig-throughput": ("throughput", "Throughput vs producer threads", figure_throughput),
    "fig-memory": ("memory", "Peak memory and queue depth under burst / slow sink", figure_memory),
    "fig-crash": ("crash", "Records lost per SIGKILL trial", figure_crash),
}
"""figure id -> (scenario, title, function)."""
