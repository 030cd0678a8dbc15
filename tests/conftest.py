"""Shared helpers: which backends write files, and reading a JSON Lines file back."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tests run against the working tree even without an install
    sys.path.insert(0, str(ROOT))

import loggers  # noqa: E402

WRITING_BACKENDS = tuple(name for name in loggers.BACKENDS if loggers.backend_class(name).writes_file)


def read_lines(path: str | os.PathLike[str]) -> list[bytes]:
    """Raw lines of a log file, split on b"\\n" only (never on U+2028 and friends)."""
    data = Path(path).read_bytes()
    assert data == b"" or data.endswith(b"\n"), "file does not end on a complete line"
    return data.split(b"\n")[:-1]


def read_records(path: str | os.PathLike[str]) -> list[dict[str, object]]:
    """Every record of a log file, parsed; fails on a line that is not one JSON object."""
    records = []
    for line in read_lines(path):
        record = json.loads(line)
        assert isinstance(record, dict)
        records.append(record)
    return records


@pytest.fixture(params=WRITING_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each writing reference backend in turn."""
    return str(request.param)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "app.log"
