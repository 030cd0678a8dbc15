"""The on-disk result format: ``results.json`` = {format_version, metadata, records}.

Format changes (bump ``FORMAT_VERSION`` and note them here; ``load`` rejects versions it does not know):

1. First version. ``metadata``: machine, cpu_count, python, implementation, platform, git_commit,
   git_dirty, started_at, finished_at, quick, command (plus reference_backends, baseline_backends).
   ``records``: ``scenarios.ResultRecord.as_dict()`` each.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["FORMAT_VERSION", "RESULTS_JSON", "dump", "load"]

FORMAT_VERSION = 1
RESULTS_JSON = "results.json"
_RECORD_KEYS = ("scenario", "backend", "case", "metric", "value", "unit")


def _json_path(path: str | os.PathLike[str]) -> str:
    text = os.fspath(path)
    return os.path.join(text, RESULTS_JSON) if os.path.isdir(text) else text


def dump(
    path: str | os.PathLike[str],
    metadata: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    *,
    overwrite: bool = False,
) -> str:
    """Write results to ``path`` (a file, or a directory to hold ``results.json``); return the file path.

    Keys are sorted; NaN values are written as null. Raises FileExistsError if the
    file exists and ``overwrite`` is false, ValueError for a record missing a key.
    """
    target = _json_path(path)
    for record in records:
        missing = [key for key in _RECORD_KEYS if key not in record]
        if missing:
            raise ValueError(f"record without {', '.join(missing)}: {dict(record)!r}")
    data = {
        "format_version": FORMAT_VERSION,
        "metadata": dict(metadata),
        "records": [{k: _clean(v) for k, v in record.items()} for record in records],
    }
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    mode = "w" if overwrite else "x"
    with open(target, mode, encoding="utf-8") as file:
        json.dump(data, file, sort_keys=True, indent=1, allow_nan=False)
        file.write("\n")
    return target


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``path`` (file or results directory): ``{"format_version", "metadata", "records"}``.

    Raises ValueError for an unknown format version or a malformed file, FileNotFoundError if absent.
    """
    target = _json_path(path)
    with open(target, encoding="utf-8") as file:
        data = json.load(file)
    if not isinstance(data, dict):
        raise ValueError(f"{target}: expected a JSON object")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"{target}: unknown format_version {version!r} (this harness reads {FORMAT_VERSION})")
    records, metadata = data.get("records"), data.get("metadata")
    if not isinstance(records, list) or not isinstance(metadata, dict):
        raise ValueError(f"{target}: 'records' must be a list and 'metadata' an object")
    return {"format_version": version, "metadata": metadata, "records": records}


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value
