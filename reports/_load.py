"""Read a result directory into a tidy DataFrame.

``harness._format`` owns the on-disk format (and rejects unknown versions);
reports may import harness, never loggers or scenarios.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pandas as pd

from harness.store import COLUMNS

__all__ = ["COLUMNS", "Results", "is_peer", "load_results", "registry_backends"]


@dataclasses.dataclass(frozen=True)
class Results:
    """One run: ``frame`` has one row per ResultRecord (columns ``COLUMNS``)."""

    frame: pd.DataFrame
    metadata: dict[str, Any]
    source: str

    @property
    def reference_backends(self) -> tuple[str, ...]:
        """Backends shipped with logbench; every other name is a peer."""
        names = self.metadata.get("reference_backends")
        return tuple(names) if names else registry_backends()

    @property
    def baseline_backends(self) -> tuple[str, ...]:
        """Backends that write nothing (the no-logging baseline); never recommended."""
        names = self.metadata.get("baseline_backends")
        if names:
            return tuple(names)
        from harness.discover import baseline_backends

        return baseline_backends()

    def is_peer(self, backend: str) -> bool:
        return is_peer(backend, self.reference_backends)

    def order_key(self, backend: str) -> tuple[int, int, str]:
        """Sort key: reference backends in their declared order, then peers by name."""
        ref = self.reference_backends
        return (0, ref.index(backend), backend) if backend in ref else (1, 0, backend)

    def label(self, backend: str) -> str:
        """Display name: peers get a visible ``(peer)`` suffix."""
        return f"{backend} (peer)" if self.is_peer(backend) else backend


def registry_backends() -> tuple[str, ...]:
    """The reference loggers of this checkout (``loggers.BACKENDS``, through the harness), for result
    files whose metadata does not name them."""
    from harness.discover import reference_backends

    return reference_backends()


def is_peer(backend: str, reference: tuple[str, ...] | None = None) -> bool:
    """True for a backend that is not one of logbench's reference loggers (default: the registry's)."""
    return backend not in (registry_backends() if reference is None else reference)


def load_results(results_dir: str | os.PathLike[str]) -> Results:
    """Load ``results_dir/results.json`` with the harness's loader (the format's owner).

    Raises:
        FileNotFoundError: no results.json in ``results_dir``.
        ValueError: an unknown ``format_version`` or a malformed file.
    """
    from harness._format import RESULTS_JSON, load

    directory = os.fspath(results_dir)
    if not os.path.exists(os.path.join(directory, RESULTS_JSON)):
        raise FileNotFoundError(f"no {RESULTS_JSON} in {directory!r}")
    data = load(directory)
    return Results(frame=_to_frame(data["records"]), metadata=dict(data["metadata"]), source=directory)


def _to_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """The harness's result frame (``harness.store.to_frame``) in the report's conventions: text
    without NA ("" instead), ``verdict`` None when absent, ``status`` "ok" when absent, float trials."""
    from harness.store import to_frame

    frame = to_frame(records)
    frame["trial"] = frame["trial"].astype("float64")
    for column in ("scenario", "backend", "case", "metric", "unit", "status", "detail"):
        frame[column] = frame[column].fillna("").astype(str)
    frame["verdict"] = frame["verdict"].astype(object).where(frame["verdict"].notna(), None)
    frame.loc[frame["status"] == "", "status"] = "ok"
    return frame
