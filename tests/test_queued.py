"""What every queued backend promises beyond the contract suite (issue 3).

Parametrized over the queued backends registered in ``loggers.BACKENDS``.
The overflow tests stall the sink by patching ``FileSink.write_many`` in this
process, so they cover the backends whose writer is a thread here
(``IN_PROCESS_WRITERS``); a backend writing from another process is stalled
by its own tests. The asyncio-specific tests are at the end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, read_lines, read_records
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import loggers
from loggers._sink import FileSink
from loggers._writer import handoff
from loggers._writer.handoff import HandoffQueue

# The registry lists these: a backend missing from it fails here instead of being skipped.
QUEUED = ("thread-queue", "asyncio", "subprocess", "mmap")
IN_PROCESS_WRITERS = ("thread-queue", "asyncio")
assert set(QUEUED) <= set(loggers.BACKENDS), loggers.BACKENDS
GUARD_S = 20.0  # a hang guard, not a timing goal


@pytest.fixture(params=QUEUED)
def queued(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class StalledSink:
    """Patch ``FileSink.write_many`` so every write waits until ``release()``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self.released = threading.Event()
        original = FileSink.write_many

        def stalled(sink: FileSink, lines: object) -> int:
            self.entered.set()
            self.released.wait(GUARD_S)
            return original(sink, lines)  # type: ignore[arg-type]

        monkeypatch.setattr(FileSink, "write_many", stalled)

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def stalled(monkeypatch: pytest.MonkeyPatch) -> Iterator[StalledSink]:
    sink = StalledSink(monkeypatch)
    yield sink
    sink.release()


def _stall_writer(log: loggers.Logger, stalled: StalledSink) -> None:
    """Log record 0 and wait until the writer is stuck writing it."""
    log.info("r", i=0)
    assert stalled.entered.wait(GUARD_S), "the writer never tried to write"


# -- overflow with a stalled sink ------------------------------------------------------------


@pytest.mark.parametrize("backend", IN_PROCESS_WRITERS)
@pytest.mark.parametrize("policy", ["drop_new", "drop_old"])
def test_drop_policies_bound_memory_and_count_every_drop(
    backend: str, policy: str, log_path: Path, stalled: StalledSink
) -> None:
    queue_size, total = 50, 300
    log = loggers.create(backend, path=log_path, queue_size=queue_size, batch_size=10, overflow=policy, flush_interval=0.01)
    _stall_writer(log, stalled)
    for i in range(1, total):
        log.info("r", i=i)
    during = log.stats()
    assert during["max_queue_depth"] <= queue_size
    assert during["dropped"] == total - 1 - queue_size
    stalled.release()
    log.close()
    stats = log.stats()
    kept = [r["i"] for r in read_records(log_path)]
    expected_tail = list(range(1, 1 + queue_size)) if policy == "drop_new" else list(range(total - queue_size, total))
    assert kept == [0, *expected_tail]
    assert stats["dropped"] == total - 1 - queue_size and stats["written"] == 1 + queue_size
    assert stats["emitted"] == stats["written"] + stats["dropped"] == total
    assert stats["max_queue_depth"] <= queue_size


@pytest.mark.parametrize("backend", IN_PROCESS_WRITERS)
def test_block_policy_waits_off_the_loop_then_loses_nothing(backend: str, log_path: Path, stalled: StalledSink) -> None:
    queue_size, total = 20, 100
    log = loggers.create(backend, path=log_path, queue_size=queue_size, batch_size=5, overflow="block", flush_interval=0.01)
    _stall_writer(log, stalled)
    producer = threading.Thread(target=lambda: [log.info("r", i=i) for i in range(1, total)])
    producer.start()
    producer.join(0.3)
    assert producer.is_alive(), "a full queue with overflow=block must make the caller wait"
    assert log.stats()["max_queue_depth"] <= queue_size
    stalled.release()
    producer.join(GUARD_S)
    assert not producer.is_alive()
    log.close()
    assert [r["i"] for r in read_records(log_path)] == list(range(total))
    stats = log.stats()
    assert stats["dropped"] == 0 and stats["written"] == total == stats["emitted"]


# -- exit paths: a child interpreter logs N records and ends ---------------------------------------

_CHILD = """
import asyncio, sys
sys.path.insert(0, {root!r})
import loggers
log = loggers.create({backend!r}, path={path!r})
mode = {mode!r}
def log_all():
    for i in range({n}):
        log.info("r", i=i, pad="x" * (i % 7))
if mode == "loop_exception":
    async def main():
        log_all()
        raise RuntimeError("unhandled inside asyncio.run")
    asyncio.run(main())
log_all()
if mode == "exception":
    raise RuntimeError("unhandled")
if mode == "sys_exit":
    sys.exit(3)
"""


@pytest.mark.parametrize(("mode", "returncode"), [("normal", 0), ("exception", 1), ("sys_exit", 3), ("loop_exception", 1)])
def test_exit_paths_drain_every_record(queued: str, log_path: Path, mode: str, returncode: int) -> None:
    n = 5000
    code = _CHILD.format(root=str(ROOT), backend=queued, path=str(log_path), mode=mode, n=n)
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == returncode, done.stderr
    assert [r["i"] for r in read_records(log_path)] == list(range(n))


# -- fork --------------------------------------------------------------------------------------------


def _wait_child(pid: int) -> int:
    deadline = time.monotonic() + GUARD_S
    while time.monotonic() < deadline:
        waited, status = os.waitpid(pid, os.WNOHANG)
        if waited:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child deadlocked")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_logs_and_parent_keeps_working(queued: str, log_path: Path) -> None:
    log = loggers.create(queued, path=log_path, batch_size=16, flush_interval=0.01)
    stop = threading.Event()
    sent = [0]

    def busy() -> None:  # the writer is mid-batch at fork time more often than not
        while not stop.is_set():
            log.info("parent-bg", seq=sent[0])
            sent[0] += 1

    background = threading.Thread(target=busy)
    background.start()
    children = 3
    try:
        for child in range(children):
            time.sleep(0.02)
            pid = os.fork()
            if pid == 0:  # the child: log, close, leave without running pytest's exit code
                code = 0
                try:
                    before = log.stats()
                    for i in range(200):
                        log.info("child", child=child, i=i)
                    log.close()
                    after = log.stats()
                    delta = {key: after[key] - before[key] for key in ("emitted", "written", "dropped")}
                    if delta["emitted"] != 200 or delta["written"] + delta["dropped"] != 200:
                        os.write(2, f"child's calls not accounted for: {before} -> {after}\n".encode())
                        code = 2
                except BaseException:  # noqa: BLE001 - the forked child must reach os._exit
                    code = 1
                os._exit(code)
            assert _wait_child(pid) == 0
    finally:
        stop.set()
        background.join()
    for i in range(100):
        log.info("parent-after", i=i)
    log.close()
    records = read_records(log_path)  # every line parses: no garbage
    for child in range(children):  # thread writers keep writing in the child; others may disable it (documented)
        got = [r["i"] for r in records if r["msg"] == "child" and r["child"] == child]
        assert got == list(range(200)) or (queued not in IN_PROCESS_WRITERS and got == [])
    assert [r["i"] for r in records if r["msg"] == "parent-after"] == list(range(100))
    assert [r["seq"] for r in records if r["msg"] == "parent-bg"] == list(range(sent[0]))
    assert log.stats()["dropped"] == 0


# -- concurrency ----------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["block", "drop_new", "drop_old"])
def test_eight_threads_small_queue_counts_exactly(queued: str, log_path: Path, policy: str) -> None:
    threads_n, per_thread = 8, 1500
    log = loggers.create(queued, path=log_path, queue_size=64, batch_size=16, overflow=policy)
    start = threading.Barrier(threads_n)

    def produce(writer: int) -> None:
        start.wait()
        for seq in range(per_thread):
            log.info("c", writer=writer, seq=seq)

    workers = [threading.Thread(target=produce, args=(w,)) for w in range(threads_n)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    log.close()
    records = read_records(log_path)
    stats = log.stats()
    assert stats["emitted"] == threads_n * per_thread
    assert stats["written"] == len(records)
    assert stats["emitted"] == stats["written"] + stats["dropped"]
    assert stats["max_queue_depth"] <= 64 + threads_n  # racing callers may pass by one each
    for writer in range(threads_n):
        seqs = [r["seq"] for r in records if r["writer"] == writer]
        assert seqs == sorted(set(seqs)), "reordered or duplicated"
        if policy == "block":
            assert seqs == list(range(per_thread))


@pytest.mark.parametrize("backend", [*IN_PROCESS_WRITERS, "subprocess"])
def test_consumer_sleeps_while_a_flush_waits_for_nothing_queued(
    backend: str, log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flush with an empty queue must not make the consumer spin in take() (it held the GIL
    against the flushing thread: every flush cost one 5 ms switch interval of busy looping)."""
    from loggers._writer.handoff import HandoffQueue

    takes = []
    original = HandoffQueue.take

    def counted(queue: HandoffQueue, timeout: float) -> object:
        takes.append(timeout)
        return original(queue, timeout)

    monkeypatch.setattr(HandoffQueue, "take", counted)
    log = loggers.create(backend, path=log_path, batch_size=512, flush_interval=1.0)
    for seq in range(5):
        log.info("r", seq=seq)
        takes.clear()
        assert log.flush(timeout=GUARD_S)
        assert len(takes) <= 4, f"{len(takes)} take() calls during one flush"
    log.close()
    assert [r["seq"] for r in read_records(log_path)] == list(range(5))


def test_threads_logging_through_close_are_counted_exactly(queued: str, log_path: Path) -> None:
    """Calls racing close() are written or dropped, never both, never neither, never raised."""
    threads_n = 8
    log = loggers.create(queued, path=log_path, queue_size=256, batch_size=32)
    calls = [0] * threads_n
    stop = threading.Event()

    def produce(writer: int) -> None:
        while not stop.is_set():
            log.info("c", writer=writer, seq=calls[writer])
            calls[writer] += 1

    workers = [threading.Thread(target=produce, args=(w,)) for w in range(threads_n)]
    for thread in workers:
        thread.start()
    time.sleep(0.02)
    log.close()
    time.sleep(0.02)  # the producers go on logging into the closed logger
    stop.set()
    for thread in workers:
        thread.join()
    stats = log.stats()
    records = read_records(log_path)
    assert stats["emitted"] == sum(calls)
    assert stats["written"] == len(records)
    assert stats["dropped"] == sum(calls) - len(records) > 0
    for writer in range(threads_n):
        seqs = [r["seq"] for r in records if r["writer"] == writer]
        assert seqs == list(range(len(seqs))), "a thread's records are not a gap-free prefix"



# -- a state machine over log / flush / close ------------------------------------------------------


class LoggerMachine(RuleBasedStateMachine):
    """Random interleavings of calls; the file must always match the model."""

    backend = ""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "app.log")
        self.log = loggers.create(self.backend, path=self.path, batch_size=4, queue_size=1000, flush_interval=0.02)
        self.written: list[int] = []
        self.after_close = 0
        self.next = 0

    def _file(self) -> list[int]:
        if not os.path.exists(self.path):  # a backend may create the file on its first write
            return []
        return [int(r["i"]) for r in read_records(self.path)]  # type: ignore[call-overload]

    @rule(count=st.integers(min_value=1, max_value=20))
    def log_some(self, count: int) -> None:
        for _ in range(count):
            self.log.info("m", i=self.next)
            if self.log.closed:
                self.after_close += 1
            else:
                self.written.append(self.next)
            self.next += 1

    @rule(count=st.integers(min_value=1, max_value=10))
    def log_from_thread(self, count: int) -> None:
        first = self.next
        thread = threading.Thread(target=lambda: [self.log.info("m", i=first + k) for k in range(count)])
        thread.start()
        thread.join()
        for k in range(count):
            if self.log.closed:
                self.after_close += 1
            else:
                self.written.append(first + k)
        self.next += count

    @precondition(lambda self: not self.log.closed)
    @rule()
    def flush(self) -> None:
        assert self.log.flush(timeout=GUARD_S) is True
        assert self._file() == self.written

    @precondition(lambda self: not self.log.closed and isinstance(self.log, _async_class()))
    @rule()
    def aflush(self) -> None:
        assert asyncio.run(self.log.aflush(timeout=GUARD_S)) is True  # type: ignore[attr-defined]
        assert self._file() == self.written

    @rule()
    def close(self) -> None:
        self.log.close()
        assert self._file() == self.written

    @invariant()
    def counters_add_up(self) -> None:
        stats = self.log.stats()
        assert stats["emitted"] == self.next
        if self.log.closed:
            assert stats["written"] == len(self.written) and stats["dropped"] == self.after_close

    def teardown(self) -> None:
        self.log.close()
        try:
            assert self._file() == self.written
        finally:
            for name in os.listdir(self.dir):
                os.unlink(os.path.join(self.dir, name))
            os.rmdir(self.dir)


def _async_class() -> type:
    return loggers.backend_class("asyncio")


def test_state_machine_log_flush_close(queued: str) -> None:
    machine = type(f"Machine_{queued}", (LoggerMachine,), {"backend": queued})
    run_state_machine_as_test(
        machine, settings=settings(max_examples=12, stateful_step_count=8, deadline=None)
    )


# -- asyncio-specific -----------------------------------------------------------------------------

def test_asyncio_logs_from_coroutines_and_threads_then_aflush(log_path: Path) -> None:
    async def main() -> None:
        log = loggers.create("asyncio", path=log_path)

        async def worker(w: int) -> None:
            for i in range(200):
                log.info("co", w=w, i=i)
                if i % 50 == 0:
                    await asyncio.sleep(0)

        def thread_worker() -> None:
            for i in range(300):
                log.info("th", i=i)

        thread = threading.Thread(target=thread_worker)
        thread.start()
        await asyncio.gather(*(worker(w) for w in range(4)))
        await asyncio.get_running_loop().run_in_executor(None, thread.join)
        assert await log.aflush(timeout=GUARD_S) is True
        records = read_records(log_path)  # flushed: readable while still open
        for w in range(4):
            assert [r["i"] for r in records if r["msg"] == "co" and r["w"] == w] == list(range(200))
        assert [r["i"] for r in records if r["msg"] == "th"] == list(range(300))
        await log.aclose()  # type: ignore[attr-defined]
        assert log.closed
        await log.aclose()  # type: ignore[attr-defined]  # idempotent
        log.info("after")
        assert log.stats()["dropped"] == 1 and log.stats()["written"] == 1100

    asyncio.run(main())


def test_asyncio_concurrent_aflush_and_sync_calls_on_the_loop(log_path: Path) -> None:
    async def main() -> None:
        log = loggers.create("asyncio", path=log_path, flush_interval=5.0)  # only flushes wake the writer
        for i in range(10):
            log.info("r", i=i)
        results = await asyncio.gather(*(log.aflush(timeout=GUARD_S) for _ in range(5)))
        assert results == [True] * 5
        assert len(read_lines(log_path)) == 10
        log.info("r", i=10)
        assert log.flush(timeout=GUARD_S) is True  # sync flush on the loop thread: blocks it briefly, no deadlock
        assert len(read_lines(log_path)) == 11
        log.info("r", i=11)
        log.close()  # sync close on the loop thread drains too
        assert await log.aflush(timeout=1) is True  # nothing left to wait for
        assert [r["i"] for r in read_records(log_path)] == list(range(12))

    asyncio.run(main())


def test_asyncio_stalled_sink_never_stalls_the_loop(log_path: Path, stalled: StalledSink) -> None:
    queue_size = 50

    async def main() -> None:
        log = loggers.create("asyncio", path=log_path, queue_size=queue_size, batch_size=10, flush_interval=0.01)
        loop = asyncio.get_running_loop()
        ticks = [0]

        def tick() -> None:
            ticks[0] += 1
            loop.call_later(0.001, tick)

        tick()
        _stall_writer(log, stalled)
        for i in range(1, 300):  # overflow="block" (the default) on the loop thread: bounded wait, then drops
            log.info("r", i=i)
        before = ticks[0]
        assert await log.aflush(timeout=0.2) is False  # the writer is stuck: aflush times out...
        assert ticks[0] > before + 10  # ...while the loop kept running its callbacks
        stats = log.stats()
        assert stats["max_queue_depth"] <= queue_size and stats["dropped"] == 299 - queue_size
        stalled.release()
        assert await log.aflush(timeout=GUARD_S) is True
        await log.aclose()  # type: ignore[attr-defined]
        assert [r["i"] for r in read_records(log_path)] == list(range(queue_size + 1))
        final = log.stats()
        assert final["emitted"] == final["written"] + final["dropped"] == 300

    asyncio.run(main())


def test_asyncio_aclose_while_writer_stalled_keeps_loop_running(log_path: Path, stalled: StalledSink) -> None:
    async def main() -> None:
        log = loggers.create("asyncio", path=log_path, flush_interval=0.01)
        _stall_writer(log, stalled)
        log.info("r", i=1)
        closing = asyncio.ensure_future(log.aclose())  # type: ignore[attr-defined]
        await asyncio.sleep(0.05)
        assert not closing.done() and log.closed  # waiting for the drain, without blocking the loop
        log.info("too late")
        stalled.release()
        await asyncio.wait_for(closing, GUARD_S)
        assert [r["i"] for r in read_records(log_path)] == [0, 1]
        assert log.stats()["dropped"] == 1

    asyncio.run(main())


@pytest.mark.parametrize("backend", IN_PROCESS_WRITERS)
def test_fork_while_another_thread_holds_the_drop_counter_lock(backend: str, log_path: Path) -> None:
    """The child must not inherit a held lock on the stats path (stats() would hang there)."""
    log = loggers.create(backend, path=log_path)
    with log._queue._dropped_closed._lock:  # type: ignore[attr-defined]  # as if stats() ran in another thread
        pid = os.fork()
        if pid == 0:  # child: stats, log, close, leave
            code = 1
            try:
                log.stats()
                log.info("child", seq=0)
                log.close()
                code = 0
            finally:
                os._exit(code)
    deadline = time.monotonic() + GUARD_S
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0, "the child hung or failed"
    log.close()


# -- re-entrancy (issue 16): a call made by a thread already inside the slow path --------------


def test_a_call_made_while_waiting_for_room_is_deferred_and_queued_after_its_outer_call() -> None:
    queue = HandoffQueue(2, "block", batch_size=10)
    queue.put(1, 20, "a", {})
    queue.put(2, 20, "b", {})
    inner_calls: list[int] = []

    def consumer_alive() -> bool:  # called inside the wait for room: the same thread logs again
        if not inner_calls:
            inner_calls.append(1)
            queue.put(4, 20, "inner", {})  # must neither wait (for ever: nobody else makes room) nor recurse
            assert [r[2] for r in queue.take_nowait()] == ["a", "b"]  # now the consumer makes room
        return True

    queue.consumer_alive = consumer_alive
    queue.put(3, 20, "outer", {})
    assert [r[2] for r in queue.take_nowait()] == ["outer", "inner"]
    counters = queue.counters
    assert (counters.emitted, counters.dropped) == (4, 0)
    queue.put(5, 20, "later", {})  # nothing deferred any more: the fast path again
    assert [r[2] for r in queue.take_nowait()] == ["later"]


def test_deferred_records_past_the_cap_are_dropped_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handoff, "MAX_REENTRANT", 3)
    queue = HandoffQueue(10, "block", batch_size=100)
    for seq in range(10):
        queue.put(seq, 20, "full", {})
    calls: list[int] = []

    def consumer_alive() -> bool:
        if not calls:
            calls.append(1)
            for seq in range(5):
                queue.put(100 + seq, 20, "inner", {})  # 3 deferred, 2 past the cap
            queue.take_nowait()
        return True

    queue.consumer_alive = consumer_alive
    queue.put(10, 20, "outer", {})
    assert [(r[2], r[0]) for r in queue.take_nowait()] == [("outer", 10), ("inner", 100), ("inner", 101), ("inner", 102)]
    counters = queue.counters
    assert (counters.emitted, counters.dropped) == (16, 2)


def test_the_consumer_thread_never_waits_for_room_it_alone_could_make() -> None:
    queue = HandoffQueue(1, "block", batch_size=10)
    queue.put(0, 20, "full", {})
    queue.consumer_is_current = lambda: True  # as if a __repr__ the writer encodes logged
    started = time.monotonic()
    queue.put(1, 20, "from the consumer", {})
    assert time.monotonic() - started < handoff.BLOCK_POLL_SECONDS
    assert queue.counters.dropped == 1


def test_a_blocked_caller_wakes_a_consumer_that_starts_waiting_after_its_notify() -> None:
    """queue_size < batch_size: the consumer must not sleep its whole timeout while a caller waits for room."""
    queue = HandoffQueue(2, "block", batch_size=10)
    queue.put(1, 20, "a", {})
    queue.put(2, 20, "b", {})
    caller = threading.Thread(target=queue.put, args=(3, 20, "c", {}))
    caller.start()
    while caller.is_alive() and not _blocked(queue):
        time.sleep(0.001)
    started = time.monotonic()
    batch = queue.take(30.0)  # its notify came before this wait; it must not be lost
    assert time.monotonic() - started < 10.0
    assert [r[2] for r in batch] == ["a", "b"]
    caller.join(10)
    assert [r[2] for r in queue.take_nowait()] == ["c"]


def _blocked(queue: HandoffQueue) -> bool:
    with queue._lock:
        return queue._blocked > 0
