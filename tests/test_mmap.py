"""``mmap`` backend beyond the contract suite: SIGKILL trials, recovery, wrap point, overflow.

The crash trials fork this (single-threaded) test process: each child opens a
logger and logs numbered records, publishing after every *returned* call how
many returned in an anonymous shared map; the parent SIGKILLs it at a random
moment and then checks the file against that count.
"""

from __future__ import annotations

import fcntl
import marshal
import mmap
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import ROOT, read_records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loggers
from loggers.mmap import journal as jr
from loggers.mmap.drain import Drainer
from loggers._sink import FileSink
from loggers.mmap.backend import ring_bytes_for

SLOT_RETURNED, SLOT_WRITER = 0, 1


def _journal_path(log_path: Path) -> Path:
    directory, prefix = jr.journal_names(str(log_path))
    return Path(directory) / prefix


def _wait_journal_free(log_path: Path, timeout: float = 20.0) -> None:
    """Wait until no process (application or writer) holds the journal's flock."""
    name = _journal_path(log_path)
    deadline = time.monotonic() + timeout
    while name.exists():
        fd = os.open(name, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            assert time.monotonic() < deadline, "writer still holds the journal"
        finally:
            os.close(fd)
        time.sleep(0.005)


def _seqs(path: Path) -> list[int]:
    return [int(str(r["seq"])) for r in read_records(path)] if path.exists() else []


def _fork_app(path: Path, shared: memoryview, slot: int, **options: object) -> int:
    """Fork a child that logs numbered records until killed; returns its pid."""
    pid = os.fork()
    if pid:
        return pid
    try:  # the child: never returns into pytest
        log = loggers.create("mmap", path=path, **options)
        shared[slot * 2 + SLOT_WRITER] = log._proc.pid  # type: ignore[attr-defined]
        for seq in range(200_000):
            log.info("r", seq=seq, pad="x" * (seq * 37 % 300))
            shared[slot * 2 + SLOT_RETURNED] = seq + 1
        time.sleep(60)
    finally:
        os._exit(0)


def _run_kill_batch(paths: list[Path], *, kill_writer: bool, rng: random.Random) -> list[int]:
    """Fork one app per path, SIGKILL each at a random moment; return each one's returned count."""
    area = mmap.mmap(-1, 16 * len(paths))
    shared = memoryview(area).cast("Q")
    pids = [_fork_app(path, shared, i, queue_size=64) for i, path in enumerate(paths)]
    moments = sorted((rng.uniform(0.0, 0.25), i) for i in range(len(paths)))
    start = time.monotonic()
    returned = [0] * len(paths)
    for moment, i in moments:
        time.sleep(max(0.0, start + moment - time.monotonic()))
        os.kill(pids[i], signal.SIGKILL)
        returned[i] = shared[i * 2 + SLOT_RETURNED]
        if kill_writer and shared[i * 2 + SLOT_WRITER]:
            time.sleep(rng.uniform(0.0, 0.01))
            _kill_quietly(int(shared[i * 2 + SLOT_WRITER]), signal.SIGKILL)
    for pid in pids:
        os.waitpid(pid, 0)
    for path in paths:
        _wait_journal_free(path)
    shared.release()
    area.close()
    return returned


def _kill_quietly(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _assert_exactly_returned(path: Path, returned: int) -> None:
    seqs = _seqs(path)  # read_records fails on a torn line
    assert seqs == list(range(len(seqs))), "lost, duplicated or reordered records"
    assert returned <= len(seqs) <= returned + 1  # + the call that returned as we killed


@pytest.mark.slow
def test_sigkill_of_the_application_loses_no_returned_record(tmp_path: Path) -> None:
    rng = random.Random(1234)
    trials = 0
    for batch in range(25):
        paths = [tmp_path / f"b{batch}" / f"t{i}" / "app.log" for i in range(8)]
        returned = _run_kill_batch(paths, kill_writer=False, rng=rng)
        for path, count in zip(paths, returned):
            _assert_exactly_returned(path, count)
            journal = jr.Journal.try_own(str(_journal_path(path))) if _journal_path(path).exists() else None
            if journal is not None:  # the writer drained everything before exiting
                assert not journal.has_pending()
                journal.release(unlink=False)
            trials += 1
    assert trials >= 200


@pytest.mark.slow
def test_sigkill_of_application_and_writer_then_recovery_exactly_once(tmp_path: Path) -> None:
    rng = random.Random(99)
    recovered_total = 0
    for batch in range(5):
        paths = [tmp_path / f"b{batch}" / f"t{i}" / "app.log" for i in range(8)]
        returned = _run_kill_batch(paths, kill_writer=True, rng=rng)
        for path, count in zip(paths, returned):
            path.parent.mkdir(parents=True, exist_ok=True)
            with loggers.create("mmap", path=path) as log:
                recovered_total += log.stats()["recovered"]
            _assert_exactly_returned(path, count)
            assert not _journal_path(path).exists()
    assert recovered_total > 0  # the writer was killed with records left at least once


def test_stalled_writer_killed_with_the_app_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    code = f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        import loggers
        log = loggers.create("mmap", path={str(path)!r})
        log.info("r", seq=0); log.flush(10)
        os.kill(log._proc.pid, signal.SIGSTOP)
        for seq in range(1, 301):
            log.info("r", seq=seq, pad="y" * seq)
        os.kill(log._proc.pid, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
    """
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=False, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    _wait_journal_free(path)
    assert _seqs(path) == [0]
    with loggers.create("mmap", path=path) as log:
        assert log.stats()["recovered"] == 300
        log.info("r", seq=301)
    assert _seqs(path) == list(range(302))
    assert log.stats()["written"] == 1 and log.stats()["emitted"] == 1


def _stalled(log: loggers.Logger) -> tuple[loggers.Logger, int]:
    pid = log._proc.pid  # type: ignore[attr-defined]
    assert log.flush(timeout=10)
    os.kill(pid, signal.SIGKILL)
    log._proc.wait()  # type: ignore[attr-defined]
    return log, pid


@pytest.mark.parametrize(("split", "torn"), [(0, False), (4, False), (10, False), (4, True), (0, True)])
def test_interrupted_batch_is_settled_exactly_once(tmp_path: Path, split: int, torn: bool) -> None:
    """A writer killed after writing ``split`` records of a batch (``torn``: and part of the
    next one, as a SIGKILL between pages of one write can leave) but before moving TAIL."""
    path = tmp_path / "app.log"
    log, _ = _stalled(loggers.create("mmap", path=path, max_bytes=600, backup_count=50))
    for seq in range(10):
        log.info("r", seq=seq)
    journal = log._journal  # type: ignore[attr-defined]
    q = journal.q
    tail, tail_seq = q[jr.TAIL], q[jr.TAIL_SEQ]
    sink = FileSink(str(path), max_bytes=600, backup_count=50)
    drainer = Drainer(journal, sink, batch_size=10, publishes=True, fsync=False)
    lines: list[bytes] = []

    def capture(batch: Sequence[bytes]) -> int:
        lines.extend(batch)
        return 0

    drainer.sink.write_many = capture  # type: ignore[method-assign,assignment]
    drainer.drain_once(None)  # sets the intent; the "write" is captured, not done
    q[jr.TAIL], q[jr.TAIL_SEQ] = tail, tail_seq  # the crash: TAIL was never stored
    with sink.lock:
        FileSink.write_many(sink, lines[:split])  # what reached the file before the crash
    if torn:
        with open(path, "ab") as handle:
            handle.write(lines[split][:25])
    sink.close()
    log.close()
    names = sorted(tmp_path.glob("app.log*"), key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
    seqs = [int(str(r["seq"])) for name in names if not name.name.endswith(".lock") for r in read_records(name)]
    assert seqs == list(range(10))


def test_writer_death_while_running_is_repaired(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "app.log"
    log = loggers.create("mmap", path=path)
    for seq in range(100):
        log.info("r", seq=seq)
    _stalled(log)
    for seq in range(100, 200):
        log.info("r", seq=seq)
    assert log.flush(timeout=10)
    assert _seqs(path) == list(range(200))
    log.info("r", seq=200)
    log.close()
    assert _seqs(path) == list(range(201))
    stats = log.stats()
    assert stats["written"] == 201 and stats["errors"] == 1
    assert capfd.readouterr().err.count("writer-died") == 1


def _stall_writer(log: loggers.Logger) -> int:
    """SIGSTOP the idle writer and return once the kernel shows it stopped (state ``T``)."""
    assert log.flush(timeout=10)
    pid = int(log._proc.pid)  # type: ignore[attr-defined]
    os.kill(pid, signal.SIGSTOP)
    safety = threading.Timer(20.0, _kill_quietly, (pid, signal.SIGCONT))  # never leave it stopped
    safety.daemon = True
    safety.start()
    deadline = time.monotonic() + 5
    while _process_state(pid) != "T" and time.monotonic() < deadline:
        time.sleep(0.001)
    assert _process_state(pid) == "T"
    return pid


def _process_state(pid: int) -> str:
    """The one-letter state from ``/proc/PID/stat`` (after the parenthesised command name)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def test_an_idle_drainer_takes_no_batch_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer stopped while idle must not hold the batch lock: drop_old needs it (a CI run saw
    drop_old keep the first records because SIGSTOP landed inside an empty batch)."""
    path = tmp_path / "app.log"
    log, _ = _stalled(loggers.create("mmap", path=path))
    sink = FileSink(str(path))
    drainer = Drainer(log._journal, sink, batch_size=10, publishes=False, fsync=False)  # type: ignore[attr-defined]
    locks: list[int] = []
    real_lockf = fcntl.lockf
    monkeypatch.setattr(fcntl, "lockf", lambda fd, op, *a: (locks.append(op), real_lockf(fd, op, *a)))
    assert drainer.drain_once(None) == 0 and locks == []
    log.info("r", seq=0)
    assert drainer.drain_once(None) == 1 and locks  # a record to take: the lock is taken
    monkeypatch.undo()
    sink.close()
    log.close()
    assert _seqs(path) == [0]


@pytest.mark.parametrize(("policy", "kept"), [("drop_new", range(100)), ("drop_old", range(900, 1000))])
def test_drop_policies_with_a_stalled_writer_count_exactly(tmp_path: Path, policy: str, kept: range) -> None:
    path = tmp_path / "app.log"
    log = loggers.create("mmap", path=path, queue_size=100, overflow=policy)
    pid = _stall_writer(log)
    try:
        for seq in range(1000):
            log.info("r", seq=seq)
        stats = log.stats()
        assert stats["dropped"] == 900 and stats["max_queue_depth"] == 100
        assert _journal_path(path).stat().st_size == jr.HEADER_BYTES + ring_bytes_for(100)
    finally:
        os.kill(pid, signal.SIGCONT)
    log.close()
    assert _seqs(path) == list(kept)
    stats = log.stats()
    assert stats["emitted"] == 1000 and stats["written"] == 100 and stats["dropped"] == 900


def test_block_policy_with_a_stopped_writer_drains_in_the_caller(tmp_path: Path) -> None:
    """block never waits for good on a stopped writer: after STALL_TAKEOVER the caller drains."""
    path = tmp_path / "app.log"
    log = loggers.create("mmap", path=path, queue_size=50, overflow="block")
    pid = _stall_writer(log)
    try:
        for seq in range(200):
            log.info("r", seq=seq)
        stats = log.stats()
        assert stats["dropped"] == 0 and stats["max_queue_depth"] == 50
        assert stats["written"] >= 150  # the caller wrote what did not fit
        assert _seqs(path) == list(range(stats["written"]))
    finally:
        os.kill(pid, signal.SIGCONT)
    log.close()
    assert _seqs(path) == list(range(200)) and log.stats()["written"] == 200


_WRAP_LOGGER: dict[str, loggers.Logger] = {}
_EXAMPLE = [0]


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pads=st.lists(
        st.one_of(st.integers(0, 2100), st.integers(1995, 2015), st.integers(0, 64)), min_size=1, max_size=12
    )
)
def test_record_sizes_around_the_wrap_point(tmp_path_factory: pytest.TempPathFactory, pads: list[int]) -> None:
    """A 4 KiB ring (queue_size=32): every record lands, whole and in order; one longer than
    half the ring is written by the caller itself (after the writer caught up)."""
    if "log" not in _WRAP_LOGGER:
        path = tmp_path_factory.mktemp("wrap") / "app.log"
        _WRAP_LOGGER["log"] = loggers.create("mmap", path=path, queue_size=32)
        _WRAP_LOGGER["path"] = path  # type: ignore[assignment]
    log, path = _WRAP_LOGGER["log"], Path(str(_WRAP_LOGGER["path"]))
    assert ring_bytes_for(32) == 4096
    _EXAMPLE[0] += 1
    example = _EXAMPLE[0]
    big_before = _big_written(log)
    big = 0
    for i, pad in enumerate(pads):
        fields = {"ex": example, "i": i, "pad": "p" * pad}
        log.info("w", **fields)
        big += (len(marshal.dumps((time.time_ns(), 20, "w", fields))) + 15) & -8 > 2048
    assert log.flush(timeout=10)
    got = [r for r in read_records(path) if r["ex"] == example]
    assert [r["i"] for r in got] == list(range(len(pads)))
    assert all(r["pad"] == "p" * pads[int(str(r["i"]))] for r in got)
    assert _big_written(log) - big_before >= big
    assert log.stats()["dropped"] == 0


def _big_written(log: loggers.Logger) -> int:
    """Records the application wrote through its own sink (oversize ones, or a stalled writer's)."""
    return int(log._sink.written)  # type: ignore[attr-defined]


def teardown_module() -> None:
    if "log" in _WRAP_LOGGER:
        _WRAP_LOGGER["log"].close()


@pytest.mark.parametrize("ending", ["normal", "exception", "sys_exit", "sigterm"])
def test_exit_paths_drain_everything(tmp_path: Path, ending: str) -> None:
    path = tmp_path / "app.log"
    endings = {
        "normal": "pass",
        "exception": "raise RuntimeError('unhandled')",
        "sys_exit": "sys.exit(3)",
        "sigterm": "os.kill(os.getpid(), signal.SIGTERM); time.sleep(30)",
    }
    code = f"""
        import os, signal, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        import loggers
        log = loggers.create("mmap", path={str(path)!r})
        for seq in range(5000):
            log.info("r", seq=seq)
        {endings[ending]}
    """
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=False, timeout=60, capture_output=True)
    _wait_journal_free(path)
    assert _seqs(path) == list(range(5000))


def test_fork_child_gets_its_own_journal_and_parent_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    log = loggers.create("mmap", path=path)
    log.info("r", seq=0)
    pid = os.fork()
    if pid == 0:
        ok = False
        try:
            ok = log.flush(timeout=1) is True and log.stats()["emitted"] == 0  # fresh, nothing to flush
            for seq in range(100, 105):
                log.info("r", seq=seq)
            ok = ok and log.flush(timeout=10) is True
            log.close()
            stats = log.stats()
            ok = ok and stats["emitted"] == stats["written"] == 5
        finally:
            os._exit(0 if ok else 1)
    log.info("r", seq=1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    log.info("r", seq=2)
    log.close()
    assert sorted(_seqs(path)) == [0, 1, 2, 100, 101, 102, 103, 104]
    assert [s for s in _seqs(path) if s < 100] == [0, 1, 2]
    assert log.stats()["written"] == 3


def test_close_reaps_the_writer_and_removes_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    log = loggers.create("mmap", path=path)
    proc = log._proc  # type: ignore[attr-defined]
    assert _journal_path(path).exists()
    log.close()
    assert proc.returncode == 0
    assert not _journal_path(path).exists()


def test_unmarshallable_values_fall_back_to_the_encoded_line(tmp_path: Path) -> None:
    path = tmp_path / "app.log"

    class Thing:
        def __repr__(self) -> str:
            return "<thing>"

    with loggers.create("mmap", path=path) as log:
        log.info("obj", thing=Thing(), n=1)
        log.info(Thing())
    first, second = read_records(path)
    assert first["thing"] == "<thing>" and first["n"] == 1 and second["msg"] == "<thing>"


# -- re-entrancy (issue 16) --------------------------------------------------------------------


def test_close_called_inside_a_hand_off_runs_after_it(tmp_path: Path) -> None:
    """A ``__repr__`` (encoded inside the hand-off: marshal refuses the object) closes the logger."""
    path = tmp_path / "app.log"
    log = loggers.create("mmap", path=path)

    class Closer:
        def __repr__(self) -> str:
            log.info("from repr", seq=1)
            log.close()
            return "closer"

    log.info("outer", seq=0, value=Closer())
    assert log.closed
    log.info("after close", seq=2)
    assert [(r["msg"], r["seq"]) for r in read_records(path)] == [("outer", 0), ("from repr", 1)]
    stats = log.stats()
    assert (stats["emitted"], stats["written"], stats["dropped"]) == (3, 2, 1)


def test_a_wrap_word_without_its_record_is_not_pending(tmp_path: Path) -> None:
    """An application killed between the ``WRAP`` store and its record's commit leaves a committed
    ``WRAP`` word and nothing after it: no record waits (CI once counted that as pending)."""
    journal = jr.Journal.try_own(str(tmp_path / "j"))
    assert journal is not None
    try:
        journal.reset(4096)
        q, tail = journal.q, 4096 - 64  # a wrap 64 bytes before the end of the first lap
        q[jr.TAIL] = tail
        q[(jr.HEADER_BYTES + (tail & 4095)) >> 3] = (jr.tag_of(tail) << 32) | jr.WRAP
        assert not journal.has_pending()
        lap = tail + 64  # the record the application did not get to commit, committed after all
        payload = b'{"msg":"x"}'
        q[(jr.HEADER_BYTES + 8) >> 3] = int.from_bytes(payload[:8].ljust(8, b" "), "little")
        q[(jr.HEADER_BYTES + (lap & 4095)) >> 3] = (jr.tag_of(lap) << 32) | (len(payload) << 2) | jr.JSON
        assert journal.has_pending()
    finally:
        journal.release(unlink=True)
