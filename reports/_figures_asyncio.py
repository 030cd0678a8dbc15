"""The asyncio figures: the service's requests/s against ``null``, and loop lag per logging rate.

Kept apart from :mod:`reports._figures` (same conventions: SVG string or None, peers hatched) so the
asyncio section can grow without touching the other figures. Both draw medians with their 95% interval.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ._figures import Style, _backend_ticks, _ok, _svg  # first: _figures selects the Agg backend

import matplotlib.pyplot as plt  # noqa: E402
from ._load import Results


def _case_number(case: str) -> float:
    digits = "".join(ch for ch in case.split("=", 1)[-1].split("/", 1)[0] if ch.isdigit() or ch == ".")
    return float(digits) if digits else 0.0


def _errors(sub: pd.DataFrame) -> np.ndarray:
    low = (sub["value"] - sub["low"].fillna(sub["value"])).clip(lower=0)
    high = (sub["high"].fillna(sub["value"]) - sub["value"]).clip(lower=0)
    return np.array([low.to_numpy(dtype=float), high.to_numpy(dtype=float)])


def figure_service(results: Results) -> str | None:
    """Requests/s of the aiohttp service as a ratio to ``null``, per backend and lines per request."""
    rows = _ok(results, "service")
    rows = rows[rows["metric"] == "requests_ratio"]
    if rows.empty:
        return None
    style = Style(results)
    cases = sorted(rows["case"].unique(), key=_case_number)
    backends = style.backends(rows["backend"])
    fig, ax = plt.subplots(figsize=(11, 4))
    width = 0.8 / max(len(cases), 1)
    x = np.arange(len(backends))
    for i, case in enumerate(cases):
        sub = rows[rows["case"] == case].set_index("backend").reindex(backends)
        ax.bar(x + (i - (len(cases) - 1) / 2) * width, sub["value"].to_numpy(dtype=float), width,
               yerr=np.nan_to_num(_errors(sub.reset_index()), nan=0.0), capsize=3, edgecolor="black",
               linewidth=0.4, color=plt.get_cmap("Blues")(0.4 + 0.5 * i / max(len(cases) - 1, 1)), label=case)
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="null (no logging)")
    _backend_ticks(ax, [style.label(b) for b in backends])
    ax.set_ylabel("requests/s relative to null")
    ax.set_title("aiohttp service under wrk: requests/s vs null (median, 95% interval)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return _svg(fig)


def figure_loop_lag(results: Results) -> str | None:
    """Loop lag p99 per logging rate and backend (log scale); ``null`` dashed black: the floor of the run."""
    rows = _ok(results, "loop_lag")
    rows = rows[rows["metric"] == "lag_p99_ms"]
    if rows.empty:
        return None
    style = Style(results)
    fig, ax = plt.subplots(figsize=(8, 4))
    for backend in style.backends(rows["backend"]):
        sub = rows[rows["backend"] == backend].copy()
        sub["rate"] = sub["case"].map(_case_number)
        sub = sub.sort_values("rate")
        floor = backend in results.baseline_backends
        ax.errorbar(sub["rate"], sub["value"], yerr=_errors(sub), marker="o", capsize=3,
                    color="black" if floor else style.colour[backend],
                    linestyle="--" if floor or style.hatch(backend) else "-",
                    label=f"{style.label(backend)} (floor)" if floor else style.label(backend))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("records logged per second on the loop")
    ax.set_ylabel("loop lag p99 (ms, log)")
    ax.set_title("Event-loop lag p99 (median over windows, 95% interval)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return _svg(fig)


FIGURES: dict[str, tuple[str, str, Callable[[Results], str | None]]] = {
    "fig-service": ("service", "asyncio service: requests/s against null", figure_service),
    "fig-loop-lag": ("loop_lag", "Event-loop lag p99 per logging rate", figure_loop_lag),
}
"""figure id -> (scenario, title, function)."""
