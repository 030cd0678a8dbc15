"""Debian's logrotate against a live logger of every writing backend (create, copytruncate), and the sink's
size accounting for ``max_bytes`` after an external truncate.

logrotate is installed here when missing (root and apt-get); the tests skip, saying why, only where it cannot be.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import WRITING_BACKENDS

import loggers
from loggers._sink import FileSink
from scenarios._logrotate import LOG_NAME, logrotate_binary, rotate_live, run_logrotate, write_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def logrotate() -> str:
    found = logrotate_binary()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "logrotate"], capture_output=True, timeout=600,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, check=False)
        found = logrotate_binary()
    if found is None:
        pytest.skip("logrotate is not installed and cannot be installed here (needs root and apt-get: "
                    "apt-get install -y logrotate)")
    return found


@pytest.mark.parametrize("backend", WRITING_BACKENDS)
def test_create_mode_loses_nothing(backend: str, tmp_path: Path, logrotate: str) -> None:
    outcome = rotate_live(functools.partial(loggers.create, backend), str(tmp_path), "create", rotations=2,
                          interval_s=0.08, binary=logrotate)
    assert not outcome.failures and outcome.rotations == 2, outcome.failures
    assert len(outcome.files) == 3  # app.log.2, app.log.1 and app.log: each rotation was seen
    assert outcome.logged > 500 and (outcome.lost, outcome.duplicated, outcome.torn, outcome.out_of_order) == (0, 0, 0, 0), (
        outcome.summary())


@pytest.mark.parametrize("backend", WRITING_BACKENDS)
def test_copytruncate_loss_is_measured_and_nothing_else_breaks(backend: str, tmp_path: Path, logrotate: str) -> None:
    outcome = rotate_live(functools.partial(loggers.create, backend), str(tmp_path), "copytruncate", rotations=2,
                          interval_s=0.08, binary=logrotate)
    assert not outcome.failures and outcome.rotations == 2, outcome.failures
    # What copytruncate loses is the records appended between the copy and the truncate: at most one run of
    # consecutive records per rotation. Nothing doubled, torn, reordered, and no hole of NULs (O_APPEND).
    assert sum(outcome.gaps) == outcome.lost and len(outcome.gaps) <= outcome.rotations, outcome.summary()
    assert (outcome.duplicated, outcome.torn, outcome.out_of_order, outcome.nul_bytes) == (0, 0, 0, 0), outcome.summary()


def _log(log: loggers.Logger, first: int, count: int) -> None:
    for seq in range(first, first + count):  # seq 1000..9999: every record has the same size
        log.info("size accounting", writer=0, seq=seq)
    assert log.flush(timeout=10)


def _record_bytes(backend: str, directory: Path) -> int:
    with loggers.create(backend, path=directory / "probe.log") as log:
        _log(log, 1000, 1)
    return (directory / "probe.log").stat().st_size


@pytest.mark.parametrize("backend", WRITING_BACKENDS)
def test_max_bytes_counts_from_the_file_after_a_copytruncate(backend: str, tmp_path: Path, logrotate: str) -> None:
    line = _record_bytes(backend, tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    path = logs / LOG_NAME
    log = loggers.create(backend, path=path, max_bytes=20 * line, backup_count=10)
    _log(log, 1000, 15)
    assert run_logrotate(logrotate, write_config(str(logs), "copytruncate"), str(logs / "state")) is None
    assert path.stat().st_size == 0 and (logs / f"{LOG_NAME}.1").stat().st_size == 15 * line
    _log(log, 1015, 20)  # exactly max_bytes of new content: fits (15 + 20 counted from writes would not)
    assert log.stats()["rotations"] == 0 and path.stat().st_size == 20 * line
    _log(log, 1035, 1)  # one more: now it rotates, and only now
    log.close()
    assert log.stats()["rotations"] == 1
    assert path.stat().st_size == line and (logs / f"{LOG_NAME}.1").stat().st_size == 20 * line


def test_sink_counts_size_from_the_file_after_any_external_truncate(tmp_path: Path) -> None:
    path = str(tmp_path / LOG_NAME)
    sink = FileSink(path, max_bytes=100, backup_count=3)
    line = b"x" * 19 + b"\n"
    with sink.lock:
        assert sink.write_many([line] * 4) == 4
        os.truncate(path, 30)  # a truncate that leaves a (torn) rest behind: counted from the file, not from writes
        assert sink.write_many([line] * 3) == 3  # 30 + 60 = 90 <= 100
        assert sink.rotations == 0 and os.path.getsize(path) == 90
        assert sink.write_many([line]) == 1  # 110 > 100: rotate
    sink.close()
    assert sink.rotations == 1 and os.path.getsize(path) == 20 and os.path.getsize(path + ".1") == 90
