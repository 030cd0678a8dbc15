"""Results as one tidy pandas table; saving a run as results.json (+ results.csv) and reading it back.

One row per record; columns ``COLUMNS`` (the ResultRecord fields). The JSON file
(:mod:`harness._format`) is the source of truth; the CSV is the same rows for
spreadsheets and quick looks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import _format

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "RESULTS_CSV", "load", "number", "plain_rows", "save", "to_frame"]

COLUMNS = ("scenario", "backend", "case", "metric", "value", "unit", "low", "high",
           "verdict", "status", "detail", "trial")
RESULTS_CSV = "results.csv"


def to_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Records -> DataFrame with exactly ``COLUMNS`` (missing optional fields become NA)."""
    import pandas as pd

    frame = pd.DataFrame([dict(r) for r in records], columns=list(COLUMNS))
    for column in ("value", "low", "high"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["trial"] = pd.to_numeric(frame["trial"], errors="coerce").astype("Int64")
    for column in ("scenario", "backend", "case", "metric", "unit", "verdict", "status", "detail"):
        frame[column] = frame[column].astype("string")
    return frame


def number(value: Any) -> float | None:
    """``value`` as a float; None for a missing, NaN or non-numeric value."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return None if result != result else result


def save(out_dir: str, metadata: Mapping[str, Any], records: Sequence[Mapping[str, Any]],
         *, overwrite: bool = False) -> tuple[str, str]:
    """Write ``out_dir/results.json`` and ``out_dir/results.csv``; return their paths.

    Raises FileExistsError if results.json exists and ``overwrite`` is false.
    """
    os.makedirs(out_dir, exist_ok=True)
    json_path = _format.dump(os.path.join(out_dir, _format.RESULTS_JSON), metadata, records, overwrite=overwrite)
    csv_path = os.path.join(out_dir, RESULTS_CSV)
    to_frame(records).to_csv(csv_path, index=False)
    return json_path, csv_path


def load(path: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """(metadata, table) of a results directory or results.json file (version-checked)."""
    data = _format.load(path)
    return data["metadata"], to_frame(data["records"])


def plain_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values, missing values (NA/NaN) as None."""
    clean = frame.astype(object)
    return [{str(k): (None if _missing(v) else v) for k, v in row.items()} for row in clean.to_dict("records")]


def _missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
