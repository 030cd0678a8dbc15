"""The ``subprocess`` backend beyond the contract suite: stalls, crashes, writer death, fork, fallback."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, read_records
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import loggers
from loggers.subprocess.backend import SubprocessBackend


def _state(pid: int) -> str:
    """One-letter process state from /proc ('X' when it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return "X"


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _state(pid) in ("X", "Z"):
            return True
        time.sleep(0.02)
    return False


def _wait_until(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def _create(path: Path, **options: Any) -> SubprocessBackend:
    log = loggers.create("subprocess", path=path, **options)
    assert isinstance(log, SubprocessBackend)
    return log


@contextmanager
def _stopped(pid: int) -> Iterator[None]:
    """The writer process stopped (SIGSTOP) inside the block, always continued after."""
    os.kill(pid, signal.SIGSTOP)
    try:
        assert _wait_until(lambda: _state(pid) == "T", 5)
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _balanced(log: loggers.Logger, path: Path) -> dict[str, int]:
    stats = log.stats()
    assert stats["emitted"] == stats["written"] + stats["dropped"]
    assert len(read_records(path)) == stats["written"]
    return stats


# -- overflow with a stalled writer ---------------------------------------------------------


def _fill_until_sender_blocks(log: SubprocessBackend, queue_size: int, chunk: int = 1_000) -> int:
    """Log chunks (pausing so the sender thread runs) until the queue stays full: the writer is
    stopped, so the socket buffer is full and the sender is stuck in ``sendall``. Returns how many
    records were logged; the next record logged meets a full queue for certain."""
    logged = 0
    while logged < 1_000_000:
        for _ in range(chunk):
            log.info("r", i=logged)
            logged += 1
        time.sleep(0.02)
        if log.stats()["queue_depth"] >= queue_size:
            return logged
    raise AssertionError("the sender never blocked on the stopped writer")


@pytest.mark.parametrize("overflow", ["drop_new", "drop_old"])
def test_stalled_writer_drops_exactly_and_stays_bounded(overflow: str, log_path: Path) -> None:
    queue_size = 200
    log = _create(log_path, queue_size=queue_size, batch_size=50, overflow=overflow)
    pid = log.writer_pid
    assert pid is not None
    with _stopped(pid):
        first_late = _fill_until_sender_blocks(log, queue_size)
        n = first_late + 5_000
        for i in range(first_late, n):  # every one of these meets a full queue
            log.info("r", i=i)
        assert log.flush(timeout=0.2) is False  # the writer cannot confirm while stopped
        stalled = log.stats()
        assert stalled["dropped"] >= n - first_late
        assert stalled["max_queue_depth"] <= queue_size + 1
    log.close()
    stats = _balanced(log, log_path)
    assert stats["emitted"] == n and stats["dropped"] >= stalled["dropped"]
    seen = [r["i"] for r in read_records(log_path)]
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    if overflow == "drop_new":
        assert seen[-1] < first_late  # the late ones were refused
    else:
        assert seen[-queue_size:] == list(range(n - queue_size, n))  # the newest were kept


def test_stalled_writer_blocks_callers_until_it_resumes(log_path: Path) -> None:
    n, queue_size = 60_000, 200
    log = _create(log_path, queue_size=queue_size, batch_size=50, overflow="block")
    pid = log.writer_pid
    assert pid is not None
    done = threading.Event()

    def produce() -> None:
        for i in range(n):
            log.info("r", i=i)
        done.set()

    with _stopped(pid):
        producer = threading.Thread(target=produce)
        producer.start()
        assert _wait_until(lambda: log.stats()["queue_depth"] >= queue_size, 10)
        assert not done.wait(0.3)  # the caller is held, the queue does not grow
        assert log.stats()["max_queue_depth"] <= queue_size + 1
    producer.join(30)
    assert done.is_set()
    log.close()
    stats = _balanced(log, log_path)
    assert stats["written"] == n and stats["dropped"] == 0
    assert [r["i"] for r in read_records(log_path)] == list(range(n))


# -- exit paths in a child interpreter --------------------------------------------------------

_CHILD = """
import os, sys, signal, time
sys.path.insert(0, {root!r})
import loggers
log = loggers.create("subprocess", path={path!r})
for i in range({n}):
    log.info("r", i=i)
mode = {mode!r}
if mode == "exception":
    raise RuntimeError("unhandled")
if mode == "sys_exit":
    sys.exit(3)
if mode == "sigkill_after_flush":
    assert log.flush(timeout=30)
    for i in range({n}, {n} + 5000):
        log.info("unflushed", i=i)
    print(log.writer_pid, flush=True)
    time.sleep(60)
"""


def _child(path: Path, n: int, mode: str) -> subprocess.Popen[str]:
    code = textwrap.dedent(_CHILD.format(root=str(ROOT), path=str(path), n=n, mode=mode))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize(("mode", "status"), [("normal", 0), ("exception", 1), ("sys_exit", 3)])
def test_exit_drains_every_record(mode: str, status: int, log_path: Path) -> None:
    n = 20_000
    child = _child(log_path, n, mode)
    _out, err = child.communicate(timeout=60)
    assert child.returncode == status, err
    # atexit waited for the writer's final ack and reaped it: everything is already there
    assert [r["i"] for r in read_records(log_path)] == list(range(n))
    assert "logbench" not in err


def test_sigkill_after_flush_loses_nothing_flushed_and_writer_exits(log_path: Path) -> None:
    n = 20_000
    child = _child(log_path, n, "sigkill_after_flush")
    try:
        assert child.stdout is not None
        writer_pid = int(child.stdout.readline())
        child.kill()
        child.wait(10)
    finally:
        child.kill()
        child.communicate()
    assert _wait_gone(writer_pid, 15), "writer outlived the application"
    seen = [r["i"] for r in read_records(log_path)]  # also: no torn line
    assert seen[:n] == list(range(n))
    assert seen == list(range(len(seen)))  # what it received after that is written in order


# -- writer death -----------------------------------------------------------------------------


def test_writer_death_is_counted_reported_once_and_replaced_once(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _create(log_path, queue_size=50, batch_size=10, overflow="block")
    for i in range(100):
        log.info("first", i=i)
    assert log.flush(timeout=10)
    first = log.writer_pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    assert _wait_until(lambda: log.stats()["errors"] == 1)
    for i in range(100):
        log.info("second", i=i)  # sent through the one replacement writer
    assert log.flush(timeout=10)
    second = log.writer_pid
    assert second is not None and second != first
    os.kill(second, signal.SIGKILL)
    assert _wait_until(lambda: log.stats()["errors"] == 2)
    started = time.monotonic()
    for i in range(2000):  # no writer any more: block must not block, nothing raises
        log.info("third", i=i)
    assert log.flush(timeout=5) is False
    log.close()
    assert time.monotonic() - started < 10
    stats = _balanced(log, log_path)
    assert stats["emitted"] == 2200 and stats["written"] == 200 and stats["dropped"] == 2000
    assert stats["writer_spawns"] == 2
    err = capsys.readouterr().err
    assert err.count("writer lost") == 1  # reported once per kind


# -- fork -------------------------------------------------------------------------------------


def test_forked_children_share_the_parents_writer(log_path: Path) -> None:
    log = _create(log_path)
    log.info("before fork")
    assert log.flush(timeout=10)
    stop = threading.Event()

    def busy() -> None:  # a parent thread logging while we fork: locks may be held at fork
        while not stop.is_set():
            log.info("noise")

    noise = threading.Thread(target=busy)
    noise.start()
    children = []
    try:
        for child_id in range(2):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                code = 1
                try:
                    os.close(read_end)
                    for seq in range(1000):
                        log.info("child", child=child_id, seq=seq)
                    ok = log.flush(timeout=20)
                    spawns = log.stats()["writer_spawns"]
                    log.close()
                    os.write(write_end, f"{ok} {spawns} {log.stats()['written']}".encode())
                    code = 0
                finally:
                    os._exit(code)
            os.close(write_end)
            children.append((pid, read_end))
    finally:
        stop.set()
        noise.join()
    for seq in range(1000):
        log.info("parent", seq=seq)
    for pid, read_end in children:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        with os.fdopen(read_end) as pipe:
            assert pipe.read() == "True 0 1000"  # confirmed by the parent's writer, none started
    writer_pid = log.writer_pid
    assert writer_pid is not None
    log.close()
    assert _wait_gone(writer_pid, 1)  # reaped by close()
    records = read_records(log_path)
    for child_id in range(2):
        assert [r["seq"] for r in records if r.get("child") == child_id] == list(range(1000))
    assert [r["seq"] for r in records if r["msg"] == "parent"] == list(range(1000))
    stats = _balanced_subset(log, records)
    assert stats["written"] == len(records) - 2000


def _balanced_subset(log: loggers.Logger, records: list[dict[str, object]]) -> dict[str, int]:
    stats = log.stats()
    assert stats["emitted"] == stats["written"] + stats["dropped"] and stats["dropped"] == 0
    return stats


def test_child_of_a_closed_logger_does_not_connect(log_path: Path) -> None:
    log = _create(log_path)
    log.close()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        log.info("after close")
        os._exit(0 if log.stats()["dropped"] == 1 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert read_records(log_path) == []


# -- marshal fallback ---------------------------------------------------------------------------


class _Custom:
    def __repr__(self) -> str:
        return "<custom>"


class _Text(str):
    pass


def test_values_marshal_refuses_are_encoded_in_the_app(log_path: Path) -> None:
    when = datetime.datetime(2024, 5, 1, 12, 0, 0)
    deep: list[object] = []
    for _ in range(3000):
        deep = [deep]
    with _create(log_path) as log:
        log.info("plain", n=1)
        log.info("datetime", when=when)
        log.info("custom", obj=_Custom())
        log.info(_Text("subclass msg"), tags={"a"})
        log.info("deep", deep=deep)
        log.info(12345, fine=(1, 2))
        assert log.flush(timeout=10)
        fallback = log.stats()["encoded_in_app"]
    records = read_records(log_path)
    assert [r["msg"] for r in records] == ["plain", "datetime", "custom", "subclass msg", "deep", "12345"]
    assert records[1]["when"] == repr(when) and records[2]["obj"] == "<custom>"
    assert records[3]["tags"] == "{'a'}" and records[5]["fine"] == [1, 2]
    assert fallback == 4
    assert log.stats()["written"] == 6


# -- a model of log/flush/close -------------------------------------------------------------------


class LogFlushCloseMachine(RuleBasedStateMachine):
    """Whatever the interleaving, a True flush shows every earlier record and close shows all."""

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        self.dir = tempfile.mkdtemp(prefix="logbench-sp-model-")
        self.path = Path(self.dir) / "m.log"
        self.log = _create(self.path, batch_size=7, queue_size=1000, flush_interval=0.01)
        self.logged: list[int] = []
        self.closed = False

    @rule(count=st.integers(1, 40))
    def log_some(self, count: int) -> None:
        for _ in range(count):
            seq = len(self.logged)
            self.log.info("m", seq=seq)
            if not self.closed:
                self.logged.append(seq)

    @precondition(lambda self: not self.closed)
    @rule()
    def flush(self) -> None:
        assert self.log.flush(timeout=10)
        assert [r["seq"] for r in read_records(self.path)] == self.logged

    @rule()
    def close(self) -> None:
        self.log.close()
        self.closed = True
        assert [r["seq"] for r in read_records(self.path)] == self.logged

    @invariant()
    def counters_add_up(self) -> None:
        stats = self.log.stats()
        assert stats["written"] <= len(self.logged) <= stats["emitted"]

    def teardown(self) -> None:
        self.log.close()
        assert [r["seq"] for r in read_records(self.path)] == self.logged
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)


TestLogFlushClose = LogFlushCloseMachine.TestCase
TestLogFlushClose.settings = settings(max_examples=15, stateful_step_count=12, deadline=None)


def _pool_task(args: tuple[str, int]) -> int:
    _path, task = args
    log = _POOL_LOG[0]
    for seq in range(200):
        log.info("task", task=task, seq=seq)
    return os.getpid()


_POOL_LOG: list[loggers.Logger] = []


def test_fork_pool_workers_log_through_one_writer_and_drain_at_exit(log_path: Path) -> None:
    import multiprocessing

    log = _create(log_path)
    _POOL_LOG[:] = [log]
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            pids = set(pool.map(_pool_task, [(str(log_path), task) for task in range(6)]))
            pool.close()
            pool.join()  # workers exit with os._exit: multiprocessing's exit hook closes their loggers
    finally:
        _POOL_LOG.clear()
    assert os.getpid() not in pids
    writer_pid = log.writer_pid
    log.close()
    assert writer_pid is not None and _wait_gone(writer_pid, 1)
    records = read_records(log_path)
    for task in range(6):
        assert [r["seq"] for r in records if r["task"] == task] == list(range(200))
