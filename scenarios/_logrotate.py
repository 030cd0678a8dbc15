"""Real ``logrotate`` against a live logger (tests and ``benchmarks/logrotate_loss.py``).

:func:`rotate_live` starts a logger on ``<directory>/app.log``, logs records
(``writer=0``, ``seq`` 0, 1, 2 ...) from a thread at ``rate`` records/s, and
meanwhile runs the system's ``logrotate -f`` ``rotations`` times with a config
in ``directory`` (``rotate 100000``, so nothing is deleted; its own state file),
in one of two modes:

``create``
    logrotate renames ``app.log`` to ``app.log.1`` (older ones shift up) and
    creates a new ``app.log``. The sink's identity check (one ``stat`` per batch)
    sees the path name another file and reopens: nothing may be lost.
``copytruncate``
    logrotate copies ``app.log`` to ``app.log.1``, then truncates ``app.log`` in
    place. Records appended between the end of the copy and the truncate are in
    neither file: a loss the mode forces on every writer, measured here. The sink
    writes ``O_APPEND``, so after the truncate it writes at the new end (no hole
    of NULs) and, with ``max_bytes``, counts the size from the file, not from
    what it wrote.

The files are read back like the rotation scenario's (``app.log.N`` oldest first).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import threading
import time
from typing import Any

from ._proc import Factory, wait_until_quiet
from .verify import parse_json_line, rotated_files, verify_log_files

MODES = ("create", "copytruncate")
LOG_NAME = "app.log"
PAYLOAD = "l" * 48


def logrotate_binary() -> str | None:
    """Path of the ``logrotate`` program, or None if it is not installed."""
    return shutil.which("logrotate") or next(
        (path for path in ("/usr/sbin/logrotate", "/sbin/logrotate") if os.access(path, os.X_OK)), None)


@dataclasses.dataclass(frozen=True)
class RotateOutcome:
    """What one :func:`rotate_live` run found. ``gaps``: sizes of the runs of lost seqs, in order."""

    mode: str
    rotations: int
    failures: tuple[str, ...]
    logged: int
    lost: int
    duplicated: int
    torn: int
    out_of_order: int
    nul_bytes: int
    files: tuple[str, ...]
    gaps: tuple[int, ...]
    oversize_files: tuple[str, ...]
    stats: dict[str, Any]
    elapsed_s: float

    def summary(self) -> str:
        return (f"{self.mode}: {self.rotations} logrotate run(s){f' ({len(self.failures)} failed)' if self.failures else ''}, "
                f"{self.logged} records in {self.elapsed_s:.2f} s, lost {self.lost} in {len(self.gaps)} gap(s) "
                f"{list(self.gaps)[:12]}, duplicated {self.duplicated}, torn {self.torn}, out of order "
                f"{self.out_of_order}, NUL bytes {self.nul_bytes}, {len(self.files)} file(s), oversize "
                f"{list(self.oversize_files)}, rotations by the sink {self.stats.get('rotations')}")


def write_config(directory: str, mode: str) -> str:
    """A logrotate config for ``<directory>/app.log`` in ``mode``; returns its path."""
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    path = os.path.join(directory, "logrotate.conf")
    directive = "create 0640" if mode == "create" else "copytruncate"
    with open(path, "w", encoding="utf-8") as file:
        file.write(f'"{os.path.join(directory, LOG_NAME)}" {{\n    {directive}\n    rotate 100000\n'
                   "    missingok\n    ifempty\n    nocompress\n    nodateext\n}\n")
    os.chmod(path, 0o644)
    return path


def run_logrotate(binary: str, config: str, state: str) -> str | None:
    """One forced rotation; None on success, else logrotate's complaint."""
    done = subprocess.run([binary, "-f", "-s", state, config], capture_output=True, text=True, timeout=60)
    return None if done.returncode == 0 else f"exit {done.returncode}: {done.stderr.strip()[-500:]}"


def rotate_live(
    factory: Factory,
    directory: str,
    mode: str,
    *,
    rotations: int = 5,
    interval_s: float = 0.1,
    rate: float = 5000.0,
    options: dict[str, Any] | None = None,
    binary: str | None = None,
) -> RotateOutcome:
    """Log at ``rate`` while logrotate runs ``rotations`` times, ``interval_s`` apart; count. See the module docstring.

    Raises:
        FileNotFoundError: logrotate is not installed (and ``binary`` not given).
    """
    program = binary or logrotate_binary()
    if program is None:
        raise FileNotFoundError("logrotate is not installed")
    config = write_config(directory, mode)
    state = os.path.join(directory, "logrotate.state")
    path = os.path.join(directory, LOG_NAME)
    logger = factory(path=path, **(options or {}))
    stop = threading.Event()
    logged = [0]
    thread = threading.Thread(target=_log_paced, args=(logger, rate, stop, logged), daemon=True)
    started = time.perf_counter()
    thread.start()
    failures = []
    try:
        for _ in range(rotations):
            time.sleep(interval_s)
            failure = run_logrotate(program, config, state)
            if failure:
                failures.append(failure)
        time.sleep(interval_s)
    finally:
        stop.set()
        thread.join()
        logger.close()
    elapsed = time.perf_counter() - started
    wait_until_quiet((), directory)
    limit = (options or {}).get("max_bytes")
    found = verify_log_files(directory, LOG_NAME, {0: logged[0]}, max_bytes=limit)
    names = [name for _, name in rotated_files(directory, LOG_NAME)]
    return RotateOutcome(
        mode=mode, rotations=rotations - len(failures), failures=tuple(failures), logged=logged[0], lost=found.lost,
        duplicated=found.duplicated, torn=found.torn_lines + found.unexpected, out_of_order=found.out_of_order,
        nul_bytes=sum(_read(directory, name).count(b"\0") for name in names), files=found.files,
        gaps=_gaps(directory, names, logged[0]), oversize_files=found.oversize_files, stats=dict(logger.stats()),
        elapsed_s=elapsed,
    )


def _log_paced(logger: Any, rate: float, stop: threading.Event, logged: list[int]) -> None:
    start = time.perf_counter()
    seq = 0
    while not stop.is_set():
        logger.info("logrotate record", writer=0, seq=seq, payload=PAYLOAD)
        seq += 1
        logged[0] = seq
        ahead = start + seq / rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)


def _read(directory: str, name: str) -> bytes:
    with open(os.path.join(directory, name), "rb") as file:
        return file.read()


def _gaps(directory: str, names: list[str], logged: int) -> tuple[int, ...]:
    """Lengths of the runs of missing seqs, in seq order."""
    seen: set[int] = set()
    for name in names:
        for line in _read(directory, name).split(b"\n"):
            parsed = parse_json_line(line) if line else None
            if parsed is not None and parsed[0] == 0:
                seen.add(parsed[1])
    gaps: list[int] = []
    run = 0
    for seq in range(logged):
        if seq in seen:
            if run:
                gaps.append(run)
            run = 0
        else:
            run += 1
    if run:
        gaps.append(run)
    return tuple(gaps)
