"""rotation: the rotation verifier (:mod:`scenarios.verify`) driven under load.

``single-process``
    One fresh process, one logger, ``threads`` threads released together by a
    barrier, each logging ``records`` records (``writer=<i>``, ``seq``
    0..n-1) as fast as it can into a small ``max_bytes``, so the file rotates
    every few dozen records.
``multi-process``
    ``processes`` fresh processes, each with its *own* logger of the backend on
    the *same* path (as several workers of one service would), released
    together, ``writer=<i>``.
``multi-process-kill``
    ``processes`` processes on one path, one of them SIGKILLed (with its writer
    process, if any) at a random moment, mid-rotation included; survivors must
    lose and duplicate nothing, and the next logger opened on the path must
    repair what the kill left: see :mod:`scenarios._rotation_kill` (``trials``
    trials, each judged; the values are summed over them).

After every logger closed (and the files stopped growing), the rotated set is
read back. Metrics: ``lost`` (records missing, minus losses explained by
``backup_count`` deletion: those are reported in the detail and are not a
defect), ``duplicated``, ``out_of_order`` (per writer, oldest file first),
``torn`` (lines that are not a whole expected record, plus records of unknown
writers), ``oversize_files`` (files over ``max_bytes`` with more than one
record), ``empty_files`` (empty backups). Verdict ``defect`` for any non-zero
value, ``ok`` otherwise. ``backup_count`` defaults to twice the expected
number of files (sized from one record in the backend's own format), so
nothing is deleted unless the caller asks for it.

The files read are those the backend's ``Logger.log_files`` hook lists, each
line read with its ``Logger.line_parser`` hook (both from the logger's class),
so backends and peers with other layouts or rotated names count correctly.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from . import _rotation_kill
from ._proc import SPAWN, BackendInfo, ChildFailed, Factory, probe, receive_result, run_child, wait_until_quiet
from ._results import ResultRecord
from .verify import LineParser, Verification, verify_log_files

SCENARIO = "rotation"
CASES = ("single-process", "multi-process", _rotation_kill.CASE)
METRICS = ("lost", "duplicated", "out_of_order", "torn", "oversize_files", "empty_files")
LOG_NAME = "app.log"
PAYLOAD = "r" * 64
LINE_ESTIMATE = 160  # bytes of one record, for sizing backup_count


def run_rotation(
    factory: Factory,
    *,
    quick: bool = False,
    backend: str | None = None,
    workdir: str | None = None,
    threads: int | None = None,
    processes: int | None = None,
    records: int | None = None,
    max_bytes: int | None = None,
    backup_count: int | None = None,
    parse_line: LineParser | None = None,
    timeout: float = 300.0,
    trials: int | None = None,
    seed: int = 0,
    cases: tuple[str, ...] = CASES,
) -> list[ResultRecord]:
    """Run the ``cases`` (default: all); one record per (case, metric). See the module docstring.

    Defaults: quick 4 threads / 3 processes x 500 records, ``max_bytes`` 4096;
    full 8 threads / 4 processes x 5000 records, ``max_bytes`` 16384. The kill case:
    always 4 processes, ``records`` (default 200 quick, 2000 full), ``max_bytes`` (default 1024: a rotation every few records);
    ``trials`` (the harness's ``--trials``) 1 quick, 10 full.
    ``parse_line``: how to read one line (default: the backend class's ``line_parser``
    hook, else logbench JSON Lines); the files read are the ones its ``log_files`` hook lists.
    """
    info = probe(factory)
    name = backend or info.name
    parse_line = parse_line or info.line_parser
    if not info.rotates:
        reason = f"{info.name} " + ("writes nothing" if not info.writes_file else "does not rotate (no max_bytes option)")
        return [ResultRecord(SCENARIO, name, case, metric, None, "count", status="not supported", detail=reason) for case in CASES for metric in METRICS]
    n = records or (500 if quick else 5000)
    limit = max_bytes or (4096 if quick else 16384)
    line_bytes = max(LINE_ESTIMATE, _record_size(factory, workdir))
    results: list[ResultRecord] = []
    plain = (("single-process", threads or (4 if quick else 8)), ("multi-process", processes or (3 if quick else 4)))
    for case, writers in ((case, writers) for case, writers in plain if case in cases):
        keep = backup_count if backup_count is not None else 2 * (writers * n * line_bytes // limit) + 10
        options = {"max_bytes": limit, "backup_count": keep}
        try:
            with tempfile.TemporaryDirectory(prefix="logbench-rotation-", dir=workdir) as tmp:
                path = os.path.join(tmp, LOG_NAME)
                started = time.perf_counter()
                if case == "single-process":
                    expected, stats = _single_process(factory, path, writers, n, options, timeout)
                else:
                    expected, stats = _multi_process(factory, path, writers, n, options, timeout)
                elapsed = time.perf_counter() - started
                wait_until_quiet((), tmp, timeout=timeout)
                found = verify_log_files(
                    tmp, LOG_NAME, expected, max_bytes=limit, backup_count=keep, parse_line=parse_line,
                    files=info.files_for(path),
                )
        except ChildFailed as exc:
            results += [ResultRecord(SCENARIO, name, case, metric, None, "count", status="failed", detail=str(exc)[-2000:]) for metric in METRICS]
            continue
        note = (
            f"{writers} writers x {n} records, max_bytes {limit}, backup_count {keep}; {elapsed:.2f} s; "
            f"rotations {sum(s.get('rotations', 0) for s in stats)}, dropped {sum(s.get('dropped', 0) for s in stats)}; "
            + found.summary()
        )
        results += _records(name, case, found, note)
    if _rotation_kill.CASE in cases:
        trials = trials or (1 if quick else 10)
        kill_records = records or (200 if quick else 2000)
        results += _kill_case(factory, info, name, workdir, kill_records, max_bytes or 1024, line_bytes, trials, seed,
                              timeout, parse_line)
    return results


def _kill_case(
    factory: Factory, info: BackendInfo, name: str, workdir: str | None, n: int, limit: int, line_bytes: int,
    trials: int, seed: int, timeout: float, parse_line: LineParser | None,
) -> list[ResultRecord]:
    """``trials`` kill trials; one record per metric, values summed over the trials, details of each."""
    case, writers = _rotation_kill.CASE, 4
    options = {"max_bytes": limit, "backup_count": 2 * (writers * n * line_bytes // limit) + 10}
    rng = random.Random(seed)
    totals = dict.fromkeys(METRICS, 0)
    details: list[str] = []
    cut_rotations = 0
    started = time.perf_counter()
    try:
        for trial in range(trials):
            with tempfile.TemporaryDirectory(prefix="logbench-rotation-kill-", dir=workdir) as tmp:
                values, detail, cut = _rotation_kill.run_kill_trial(
                    factory, os.path.join(tmp, LOG_NAME), writers, n, options, rng, timeout, parse_line, info.files_for)
            cut_rotations += cut
            for metric in METRICS:
                totals[metric] += values[metric]
            if any(values.values()) or trial == 0:
                details.append(f"trial {trial}: {detail}")
    except ChildFailed as exc:
        return [ResultRecord(SCENARIO, name, case, metric, None, "count", status="failed", detail=str(exc)[-2000:]) for metric in METRICS]
    note = (f"{trials} trial(s) in {time.perf_counter() - started:.1f} s, max_bytes {limit}, backup_count {options['backup_count']}; a backup gap (a rotation cut "
            f"by the kill that no survivor completed) in {cut_rotations}; " + " | ".join(details[:3]))
    return [
        ResultRecord(SCENARIO, name, case, metric, totals[metric], "count", verdict="defect" if totals[metric] else "ok", detail=note)
        for metric in METRICS
    ]


def _record_size(factory: Factory, workdir: str | None) -> int:
    """Bytes one rotation record takes in this backend's format (peers' layouts are larger)."""
    with tempfile.TemporaryDirectory(prefix="logbench-rotation-size-", dir=workdir) as tmp:
        logger = factory(path=os.path.join(tmp, LOG_NAME))
        _log_records(logger, 0, 1)
        logger.close()
        return sum(entry.stat().st_size for entry in os.scandir(tmp) if entry.is_file())


def _records(name: str, case: str, found: Verification, note: str) -> list[ResultRecord]:
    values = {
        "lost": 0 if found.losses_explained_by_backup_count else found.lost,
        "duplicated": found.duplicated,
        "out_of_order": found.out_of_order,
        "torn": found.torn_lines + found.unexpected,
        "oversize_files": len(found.oversize_files),
        "empty_files": len(found.empty_files),
    }
    if found.lost and found.losses_explained_by_backup_count:
        note += f"; {found.lost} oldest record(s) deleted by backup_count (not a defect)"
    return [
        ResultRecord(SCENARIO, name, case, metric, values[metric], "count", verdict="defect" if values[metric] else "ok", detail=note)
        for metric in METRICS
    ]


def _single_process(
    factory: Factory, path: str, threads: int, n: int, options: dict[str, Any], timeout: float
) -> tuple[dict[object, int], list[dict[str, int]]]:
    stats: dict[str, int] = run_child(_threads_child, factory, path, threads, n, options, timeout=timeout)
    return {i: n for i in range(threads)}, [stats]


def _multi_process(
    factory: Factory, path: str, processes: int, n: int, options: dict[str, Any], timeout: float
) -> tuple[dict[object, int], list[dict[str, int]]]:
    barrier = SPAWN.Barrier(processes)
    pipes, procs = [], []
    for i in range(processes):
        receiver, sender = SPAWN.Pipe(duplex=False)
        proc = SPAWN.Process(target=_process_child, args=(factory, path, i, n, options, barrier, sender))
        proc.start()
        sender.close()
        pipes.append(receiver)
        procs.append(proc)
    deadline = time.monotonic() + timeout
    stats: list[dict[str, int]] = []
    failures: list[str] = []
    try:
        for proc, receiver in zip(procs, pipes, strict=True):
            ok, payload = receive_result(proc, receiver, proc.name, deadline, timeout)
            (stats if ok else failures).append(payload)
    finally:
        for proc in procs:
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()
        for receiver in pipes:
            receiver.close()
    if failures:
        raise ChildFailed("; ".join(str(failure) for failure in failures))
    return {i: n for i in range(processes)}, stats


# -- in the measuring children ------------------------------------------------------------


def _log_records(logger: Any, writer: int, n: int) -> None:
    for seq in range(n):
        logger.info("rotation record", writer=writer, seq=seq, payload=PAYLOAD)


def _threads_child(factory: Factory, path: str, threads: int, n: int, options: dict[str, Any]) -> dict[str, int]:
    """One logger, ``threads`` threads released together; returns the logger's stats after close."""
    logger = factory(path=path, **options)
    barrier = threading.Barrier(threads)

    def work(writer: int) -> None:
        barrier.wait()
        _log_records(logger, writer, n)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    logger.close()
    return dict(logger.stats())


def _process_child(
    factory: Factory, path: str, writer: int, n: int, options: dict[str, Any], barrier: Any, sender: Connection
) -> None:
    """Own logger on the shared path; waits for the others, logs, closes, sends its stats."""
    try:
        logger = factory(path=path, **options)
        barrier.wait(60)
        _log_records(logger, writer, n)
        logger.close()
        sender.send((True, dict(logger.stats())))
    except BaseException as exc:  # the parent reports it; nothing may hang
        sender.send((False, f"writer {writer}: {type(exc).__name__}: {exc}"))
    finally:
        sender.close()
