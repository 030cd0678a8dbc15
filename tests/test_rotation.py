"""Size-based rotation is correct in every writing backend, across threads, processes and crashes.

Every check goes through ``scenarios.verify.verify_log_files``; the stdlib
``RotatingFileHandler`` tests show that the verifier does catch real defects.
"""

from __future__ import annotations

import functools
import json
import logging
import logging.handlers
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import rotation_child
from conftest import WRITING_BACKENDS, read_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loggers
from loggers._sink.encoder import JsonLinesEncoder
from scenarios.verify import parse_json_line, rotated_files, verify_log_files

BASE = "app.log"
CHILD = str(Path(rotation_child.__file__).resolve())
_ENCODER = JsonLinesEncoder()


def record_size(text: str, writer: object, seq: int) -> int:
    """Bytes of the record the backends write for ``info(text, writer=, seq=)`` (ts has a fixed width)."""
    return len(_ENCODER.encode(1_700_000_000_000_000_000, loggers.INFO, text, {"writer": writer, "seq": seq}))


def model_file_sizes(sizes: list[int], max_bytes: int) -> list[int]:
    """Sizes of the files a correct greedy rotation produces, oldest first (deletion ignored)."""
    files = [0]
    for size in sizes:
        if files[-1] > 0 and files[-1] + size > max_bytes:
            files.append(0)
        files[-1] += size
    return files


def file_sizes(directory: Path) -> list[int]:
    return [(directory / name).stat().st_size for _, name in rotated_files(directory, BASE)]


# -- hypothesis: random sizes, limits, backups; every backend --------------------------

TEXT = st.text(alphabet=st.sampled_from("ab c\n\"\\é€😀\x00"), max_size=300)


@pytest.mark.parametrize("backend_name", WRITING_BACKENDS)
@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(TEXT, min_size=1, max_size=40),
    max_bytes=st.integers(min_value=60, max_value=1500),
    backup_count=st.integers(min_value=0, max_value=4),
)
def test_random_records_rotate_exactly(backend_name: str, texts: list[str], max_bytes: int, backup_count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        log = loggers.create(backend_name, path=directory / BASE, max_bytes=max_bytes, backup_count=backup_count)
        with log:
            for seq, text in enumerate(texts):
                log.info(text, writer="w", seq=seq)
        stats = log.stats()
        result = verify_log_files(directory, BASE, {"w": len(texts)}, max_bytes=max_bytes, backup_count=backup_count)
        assert result.ok, result.summary()
        model = model_file_sizes([record_size(t, "w", i) for i, t in enumerate(texts)], max_bytes)
        assert file_sizes(directory) == model[-(backup_count + 1):]
        assert stats["rotations"] == len(model) - 1
        assert (stats["written"], stats["dropped"], stats["errors"]) == (len(texts), 0, 0)


# -- several processes x threads on one path ------------------------------------------------


def run_processes(
    backend_name: str, directory: Path, processes: int, threads: int, count: int, options: dict[str, object]
) -> list[dict[str, int]]:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    factory = functools.partial(loggers.create, backend_name)
    path = str(directory / "logs" / BASE)
    children = [
        ctx.Process(
            target=rotation_child.write_records,
            args=(factory, path, options, f"p{i}", threads, count, start, str(directory / f"stats-{i}.json")),
        )
        for i in range(processes)
    ]
    for child in children:
        child.start()
    start.set()
    for child in children:
        child.join(120)
        assert child.exitcode == 0, f"child exited with {child.exitcode}"
    return [json.loads((directory / f"stats-{i}.json").read_text()) for i in range(processes)]


@pytest.mark.slow
@pytest.mark.parametrize("backup_count", [2, 200])
def test_four_processes_two_threads_one_rotated_path(backend: str, tmp_path: Path, backup_count: int) -> None:
    processes, threads, count, max_bytes = 4, 2, 250, 4096
    stats = run_processes(
        backend, tmp_path, processes, threads, count, {"max_bytes": max_bytes, "backup_count": backup_count}
    )
    expected = {f"p{p}/{t}": count for p in range(processes) for t in range(threads)}
    result = verify_log_files(tmp_path / "logs", BASE, expected, max_bytes=max_bytes, backup_count=backup_count)
    assert result.ok, result.summary()
    for child in stats:
        assert child["written"] == threads * count and child["dropped"] == child["errors"] == 0
    if backup_count == 200:
        assert result.lost == 0
        assert sum(child["rotations"] for child in stats) == len(result.files) - 1
    else:
        assert result.lost > 0 and len(result.files) == backup_count + 1  # deletion did happen


# -- the stdlib RotatingFileHandler under the same verifier: defects are detected ------------


def run_stdlib_processes(directory: Path, count: int, max_bytes: int, backup_count: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    path = str(directory / BASE)
    children = [
        ctx.Process(target=rotation_child.write_stdlib_records, args=(path, f"p{i}", count, max_bytes, backup_count, start))
        for i in range(4)
    ]
    for child in children:
        child.start()
    start.set()
    for child in children:
        child.join(120)
        assert child.exitcode == 0


@pytest.mark.slow
def test_verifier_detects_stdlib_multiprocess_rotation_defects(tmp_path: Path) -> None:
    """4 processes, one RotatingFileHandler each, no deletion due: records go missing or files overflow.

    The races (check-then-write, rename-while-another-renames) depend on scheduling,
    so up to eight runs are made (small files: many rotations, many chances to collide);
    one defect is enough, a clean stdlib run eight times fails.
    """
    count, max_bytes, backup_count = 1000, 1024, 2000
    summaries = []
    for attempt in range(8):
        directory = tmp_path / str(attempt)
        directory.mkdir()
        run_stdlib_processes(directory, count, max_bytes, backup_count)
        expected = {f"p{i}": count for i in range(4)}
        result = verify_log_files(directory, BASE, expected, max_bytes=max_bytes, backup_count=backup_count)
        summaries.append(result.summary())
        if not result.ok:
            break
    assert not result.ok, summaries
    assert result.oversize_files or (result.lost and not result.losses_explained_by_backup_count), summaries


def test_verifier_detects_stdlib_check_then_write_race(tmp_path: Path) -> None:
    """Two processes' handlers replayed step by step: both check the size, then both write."""
    path, max_bytes = str(tmp_path / BASE), 400
    a = rotation_child.stdlib_rotating_logger(path, "a", max_bytes, 5).handlers[0]
    b = rotation_child.stdlib_rotating_logger(path, "b", max_bytes, 5).handlers[0]
    assert isinstance(a, logging.handlers.RotatingFileHandler) and isinstance(b, logging.handlers.RotatingFileHandler)

    def record(writer: str, seq: int) -> logging.LogRecord:
        return logging.makeLogRecord({"msg": "r" * 80, "writer": writer, "seq": seq, "levelno": 20})

    for seq in range(2):
        a.handle(record("a", seq))
    first, second = record("a", 2), record("b", 0)
    assert not a.shouldRollover(first) and not b.shouldRollover(second)  # each: "it fits"
    logging.FileHandler.emit(a, first)  # ... then both write
    logging.FileHandler.emit(b, second)
    a.close()
    b.close()
    result = verify_log_files(tmp_path, BASE, {"a": 3, "b": 1}, max_bytes=max_bytes, backup_count=5)
    assert result.oversize_files == (BASE,) and not result.ok, result.summary()


def test_verifier_detects_stdlib_empty_backup_and_char_sizes(tmp_path: Path) -> None:
    """cpython #116263 (a large first record rolls an empty file over) and maxBytes counted in chars."""
    path, max_bytes = str(tmp_path / BASE), 200
    logger = rotation_child.stdlib_rotating_logger(path, "s", max_bytes, 30)
    logger.info("x" * 300, extra={"writer": "s", "seq": 0})  # larger than maxBytes, first record
    for seq in range(1, 20):  # "a" * 20 then "€" * 60: 60 chars but 180 bytes of text
        logger.info("€" * 60 if seq % 2 else "a" * 20, extra={"writer": "s", "seq": seq})
    logger.handlers[0].close()
    result = verify_log_files(tmp_path, BASE, {"s": 20}, max_bytes=max_bytes, backup_count=30)
    if sys.version_info < (3, 12, 3):  # fixed in 3.12.3 / 3.13 (gh-116263)
        assert result.empty_files, result.summary()
    assert result.oversize_files and not result.ok, result.summary()

    ours = tmp_path / "ours"
    with loggers.create("sync", path=ours / BASE, max_bytes=max_bytes, backup_count=30) as log:
        log.info("x" * 300, writer="s", seq=0)
        for seq in range(1, 20):
            log.info("€" * 60 if seq % 2 else "a" * 20, writer="s", seq=seq)
    assert verify_log_files(ours, BASE, {"s": 20}, max_bytes=max_bytes, backup_count=30).ok


# -- crashes ----------------------------------------------------------------------------------


def rotation_steps(base: Path, backup_count: int) -> list[tuple[Path, Path]]:
    """The renames of the next rotation (shift up to the first gap), in the sink's order."""
    gap = 1
    while gap < backup_count and Path(f"{base}.{gap}").exists():
        gap += 1
    steps = [(Path(f"{base}.{i}"), Path(f"{base}.{i + 1}")) for i in range(gap - 1, 0, -1)]
    return [*steps, (base, Path(f"{base}.1"))]


@pytest.mark.parametrize(("backup_count", "done"), [(3, 0), (3, 1), (3, 2), (3, 3), (40, 0), (40, 2), (40, 5)])
def test_a_rotation_cut_after_any_rename_is_completed_without_extra_loss(
    tmp_path: Path, backup_count: int, done: int
) -> None:
    """Replay a rotation killed after ``done`` of its renames, then let new loggers continue."""
    path, max_bytes = tmp_path / BASE, 300
    with loggers.create("sync", path=path, max_bytes=max_bytes, backup_count=backup_count) as log:
        for seq in range(40):
            log.info(rotation_child.message("w", seq), writer="w", seq=seq)
    before = verify_log_files(tmp_path, BASE, {"w": 40}, max_bytes=max_bytes, backup_count=backup_count)
    assert before.ok and (before.lost > 0) == (backup_count == 3)
    steps = rotation_steps(path, backup_count)
    assert len(steps) >= done
    deleted = 0
    for source, target in steps[:done]:  # what the killed process managed to do
        deleted += len(read_lines(target)) if target.exists() else 0  # only the oldest, full chain
        os.replace(source, target)
    assert deleted == 0 or (backup_count == 3 and steps[0][1] == Path(f"{path}.3"))
    assert verify_log_files(tmp_path, BASE, {"w": 40}).found == before.found - deleted
    for backend_name in WRITING_BACKENDS:
        writer = f"after/{backend_name}"
        with loggers.create(backend_name, path=path, max_bytes=max_bytes, backup_count=backup_count) as log:
            for seq in range(3):
                log.info("y" * 50, writer=writer, seq=seq)
    expected = {"w": 40, **{f"after/{name}": 3 for name in WRITING_BACKENDS}}
    result = verify_log_files(tmp_path, BASE, expected, max_bytes=max_bytes, backup_count=backup_count)
    assert result.ok, result.summary()
    assert result.lost == 0 or backup_count == 3


def kill_trial(backend_name: str, path: Path, max_bytes: int, backup_count: int, writer: str, rng: random.Random) -> int:
    """Start a child logging in a loop, SIGKILL it at a random moment; return its durable count."""
    child = subprocess.Popen(
        [sys.executable, CHILD, "kill-loop", backend_name, str(path), str(max_bytes), str(backup_count), writer],
        stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None
    target, durable = rng.randrange(5, 60), 0
    try:
        for reported in child.stdout:
            durable = int(reported)
            if durable >= target:
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(30)
        child.stdout.close()
    return durable


def max_seq_found(directory: Path) -> dict[object, int]:
    highest: dict[object, int] = {}
    for _, name in rotated_files(directory, BASE):
        for raw in (directory / name).read_bytes().split(b"\n"):
            parsed = parse_json_line(raw) if raw else None
            if parsed is not None:
                highest[parsed[0]] = max(parsed[1], highest.get(parsed[0], -1))
    return highest


@pytest.mark.slow
@pytest.mark.parametrize("backup_count", [2, 200])
def test_sigkill_during_rotation_then_a_new_logger_continues(backend: str, tmp_path: Path, backup_count: int) -> None:
    rng = random.Random(f"{backend}-{backup_count}")
    path, max_bytes = tmp_path / BASE, 400
    durable: dict[object, int] = {}
    for trial in range(6):
        durable[f"t{trial}"] = kill_trial(backend, path, max_bytes, backup_count, f"t{trial}", rng)
    with loggers.create(backend, path=path, max_bytes=max_bytes, backup_count=backup_count) as log:
        for seq in range(30):
            log.info(rotation_child.message("final", seq), writer="final", seq=seq)
    highest = max_seq_found(tmp_path)
    # Flushed records must all be there; records written after the last report may be too.
    expected = {writer: max(count, highest.get(writer, -1) + 1) for writer, count in durable.items()}
    expected["final"] = 30
    result = verify_log_files(tmp_path, BASE, expected, max_bytes=max_bytes, backup_count=backup_count)
    assert result.ok, result.summary()
    if backup_count == 200:  # nothing deleted: every record there exactly once
        assert result.lost == 0 and len(result.files) < backup_count
    order = [parse_json_line(raw) for _, name in rotated_files(tmp_path, BASE) for raw in read_lines(tmp_path / name)]
    writers = [writer for writer, _ in filter(None, order)]
    assert writers == sorted(writers, key=lambda w: 99 if w == "final" else int(str(w)[1:]))  # trials in order
