"""Nothing is lost when a process is told to stop: multiprocessing workers' exits, and SIGTERM with the graceful stop.

Every signal test runs in its own interpreter (``python -c``), so no handler is
left installed in the test process.
"""

from __future__ import annotations

import functools
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import loggers
from loggers import _lifecycle
from loggers._lifecycle import signals as _signals
from scenarios._crash_stop import QUICK_STOP_CASES, STOP_CASES, run_stop_case
from scenarios.crash import run_crash
from scenarios._proc import child_env, probe

from conftest import WRITING_BACKENDS, read_lines

CLEAN_ENDS = tuple(case for case in STOP_CASES if not case.endswith("/terminate"))
N = 3000


# -- multiprocessing workers drain on their way out ----------------------------------------------


@pytest.mark.parametrize("backend", WRITING_BACKENDS)
def test_every_clean_worker_exit_keeps_every_record(backend: str, tmp_path: Path) -> None:
    """Pool close/join, executor shutdown and Process join, under fork, spawn and forkserver: 0 lost."""
    factory = functools.partial(loggers.create, backend)
    info = probe(factory)
    for case in CLEAN_ENDS:
        outcome = run_stop_case(
            factory, info, case, workdir=str(tmp_path), workers=2, tasks=4, records=500, timeout=60.0, parse_line=None
        )
        assert "failed" not in outcome, (case, outcome)
        assert outcome["lost"] == 0 and not outcome["defect"], (case, outcome["detail"])


def test_import_loggers_imports_neither_multiprocessing_nor_signal() -> None:
    code = "import loggers, sys; print(sorted({'multiprocessing', 'signal'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_flush_all_shares_one_deadline() -> None:
    """Each logger gets what is left of the one timeout; a failing flush does not stop the others."""
    given: list[float] = []

    class Slow:
        def flush(self, timeout: float | None = None) -> bool:
            given.append(timeout or 0.0)
            time.sleep(0.3)
            return False

        def close(self) -> None: ...

        def _after_fork_in_child(self) -> None: ...

    class Broken(Slow):
        def flush(self, timeout: float | None = None) -> bool:
            raise OSError("planted")

    loggers_ = [Slow(), Broken(), Slow()]
    for fake in loggers_:
        _lifecycle.track(fake)
    try:
        assert _lifecycle.flush_all(1.0) is False
    finally:
        for fake in loggers_:
            _lifecycle.untrack(fake)
    assert len(given) == 2 and given[0] <= 1.0 and given[1] <= 0.75  # the second got what the first left


# -- drain_on_signals -----------------------------------------------------------------------------------


def _run(code: str, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], env=child_env(), capture_output=True, text=True,
        timeout=timeout,
    )


SIGTERM_SELF = """
    import os, signal, sys, time, loggers
    log = loggers.create(sys.argv[1], sys.argv[2])
    loggers.drain_on_signals(signal.SIGTERM)
    for seq in range({n}):
        log.info("r", writer=0, seq=seq)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
    print("survived")
"""


@pytest.mark.parametrize("backend", WRITING_BACKENDS)
def test_sigterm_drains_then_dies_by_sigterm(backend: str, log_path: Path) -> None:
    log_path.parent.mkdir()
    done = _run(SIGTERM_SELF.format(n=N), backend, str(log_path))
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert "survived" not in done.stdout
    assert len(read_lines(log_path)) == N


def test_sigterm_reaches_a_main_thread_blocked_in_a_lock(log_path: Path) -> None:
    """The writer thread blocks SIGTERM, so the kernel hands it to the sleeping main thread, which handles it."""
    log_path.parent.mkdir()
    code = f"""
        import signal, sys, threading, loggers
        log = loggers.create("thread-queue", sys.argv[1], flush_interval=60.0, batch_size=100000)
        loggers.drain_on_signals(signal.SIGTERM)
        for seq in range({N}):
            log.info("r", writer=0, seq=seq)
        print("ready", flush=True)
        threading.Event().wait()
    """
    app = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(log_path)], env=child_env(),
                           stdout=subprocess.PIPE, text=True)
    assert app.stdout is not None and app.stdout.readline().strip() == "ready"
    time.sleep(0.3)  # the main thread is inside the wait, not about to enter it
    app.send_signal(signal.SIGTERM)
    assert app.wait(20) == -signal.SIGTERM
    assert len(read_lines(log_path)) == N


def test_previous_python_handler_runs_after_the_drain(log_path: Path) -> None:
    log_path.parent.mkdir()
    code = f"""
        import os, signal, sys, loggers
        path = sys.argv[1]
        def mine(signum, frame):
            with open(path, "rb") as file:
                print("mine saw", file.read().count(b"\\n"), "lines", signum == signal.SIGTERM)
        signal.signal(signal.SIGTERM, mine)
        log = loggers.create("thread-queue", path, flush_interval=60.0, batch_size=100000)
        loggers.drain_on_signals(signal.SIGTERM)
        for seq in range({N}):
            log.info("r", writer=0, seq=seq)
        os.kill(os.getpid(), signal.SIGTERM)
        log.info("after", writer=0, seq={N})
        log.close()
        print("went on")
    """
    done = _run(code, str(log_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"mine saw {N} lines True", "went on"]
    assert len(read_lines(log_path)) == N + 1  # still logging after the signal


def test_ignored_signal_stays_ignored_after_the_drain(log_path: Path) -> None:
    log_path.parent.mkdir()
    code = f"""
        import os, signal, sys, loggers
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log = loggers.create("subprocess", sys.argv[1], flush_interval=60.0)
        loggers.drain_on_signals(signal.SIGTERM)
        for seq in range({N}):
            log.info("r", writer=0, seq=seq)
        os.kill(os.getpid(), signal.SIGTERM)
        with open(sys.argv[1], "rb") as file:
            print(file.read().count(b"\\n"))
        os.kill(os.getpid(), signal.SIGTERM)
        log.close()
    """
    done = _run(code, str(log_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(N)]


def test_installing_twice_keeps_one_handler_and_later_handlers_may_chain(log_path: Path) -> None:
    log_path.parent.mkdir()
    code = f"""
        import os, signal, sys, loggers
        log = loggers.create("asyncio", sys.argv[1], flush_interval=60.0, batch_size=100000)
        loggers.drain_on_signals(signal.SIGTERM)
        loggers.drain_on_signals(signal.SIGTERM, timeout=2.0)
        ours = signal.getsignal(signal.SIGTERM)
        print(type(ours).__name__, ours.previous == signal.SIG_DFL, ours.timeout)
        def later(signum, frame):
            print("later", flush=True)
            ours(signum, frame)
        assert signal.signal(signal.SIGTERM, later) is ours
        for seq in range({N}):
            log.info("r", writer=0, seq=seq)
        os.kill(os.getpid(), signal.SIGTERM)
        print("survived")
    """
    done = _run(code, str(log_path))
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert done.stdout.splitlines() == ["_DrainHandler True 2.0", "later"]
    assert len(read_lines(log_path)) == N


@pytest.mark.parametrize("backend", ["asyncio", "thread-queue", "subprocess"])
def test_loop_variant_drains_then_dies_by_sigterm(backend: str, log_path: Path) -> None:
    log_path.parent.mkdir()
    code = f"""
        import asyncio, os, signal, sys, loggers
        async def main():
            log = loggers.create(sys.argv[1], sys.argv[2], flush_interval=60.0, batch_size=100000)
            loggers.drain_on_loop_signals(signal.SIGTERM)
            loggers.drain_on_loop_signals(signal.SIGTERM)
            for seq in range({N}):
                log.info("r", writer=0, seq=seq)
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100):
                await asyncio.sleep(0.1)  # the loop keeps running while the drain runs in a thread
            print("survived")
        asyncio.run(main())
    """
    done = _run(code, backend, str(log_path))
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert "survived" not in done.stdout
    assert len(read_lines(log_path)) == N


def test_outside_the_main_thread_is_a_clear_error_and_installs_nothing() -> None:
    before = signal.getsignal(signal.SIGTERM)
    errors: list[BaseException] = []

    def install() -> None:
        try:
            loggers.drain_on_signals(signal.SIGTERM)
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            errors.append(exc)

    thread = threading.Thread(target=install, name="not-main")
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    assert "main thread" in str(errors[0]) and "'not-main'" in str(errors[0])
    assert signal.getsignal(signal.SIGTERM) == before


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "text"),
    [
        ((), {}, ValueError, "at least one signal"),
        ((signal.SIGKILL,), {}, ValueError, "SIGKILL cannot be caught"),
        ((10_000,), {}, ValueError, "not a signal"),
        (("SIGTERM",), {}, TypeError, "signal number"),
        ((signal.SIGTERM,), {"timeout": 0}, ValueError, "timeout"),
        ((signal.SIGTERM,), {"timeout": "5"}, TypeError, "timeout"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_installed(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], text: str
) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(error, match=text):
        loggers.drain_on_signals(*args, **kwargs)
    assert signal.getsignal(signal.SIGTERM) == before


def test_logger_threads_block_the_stop_signals() -> None:
    seen: list[set[int]] = []
    thread = threading.Thread(target=lambda: seen.append(set(signal.pthread_sigmask(signal.SIG_BLOCK, []))))
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    _signals.start_quiet(thread)
    thread.join()
    assert _signals.QUIET_SIGNALS <= seen[0]
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before  # the caller's mask is restored
    assert signal.SIGTERM not in before


def test_forked_children_get_the_previous_disposition_so_pool_terminate_never_hangs(log_path: Path) -> None:
    """A fork-started pool of a process with the graceful stop: its workers die at once on terminate()."""
    log_path.parent.mkdir()
    code = """
        import multiprocessing, os, signal, sys, loggers
        loggers.drain_on_signals(signal.SIGTERM)
        log = loggers.create("thread-queue", sys.argv[1])
        def work(n):
            log.info("r", writer=n, seq=0)
            return str(int(signal.getsignal(signal.SIGTERM)))
        context = multiprocessing.get_context("fork")
        for _ in range(5):
            with context.Pool(2) as pool:  # __exit__ is terminate()
                seen = set(pool.map(work, range(8), chunksize=1))
        print(sorted(seen), type(signal.getsignal(signal.SIGTERM)).__name__)
    """
    done = _run(code, str(log_path), timeout=60.0)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['0']", "_DrainHandler"]  # SIG_DFL in every worker


# -- the crash scenario's stop cases ------------------------------------------------------------------


def test_stop_cases_flag_a_backend_that_loses_records_at_a_clean_end() -> None:
    import planted

    records = run_crash(planted.drop_every_100, quick=True, cases=("pool/fork/close", "executor/spawn/shutdown"))
    assert [(r.case, r.value, r.verdict) for r in records] == [
        ("pool/fork/close", 20.0, "defect"), ("executor/spawn/shutdown", 20.0, "defect")  # 2000 records, every 100th
    ], [r.detail for r in records]


def test_terminate_loss_of_a_queued_backend_is_data_and_the_graceful_sigterm_keeps_all() -> None:
    factory = functools.partial(loggers.create, "thread-queue", flush_interval=60.0, batch_size=100_000)
    records = run_crash(factory, quick=True, cases=("pool/fork/terminate", "exit/sigterm_graceful"))
    by_case = {r.case: r for r in records}
    terminate, graceful = by_case["pool/fork/terminate"], by_case["exit/sigterm_graceful"]
    # Nothing was flushed, so nothing was promised: whatever the SIGTERM took is data. (Anything from 0 to 2000:
    # terminate() also sends the workers their stop sentinel, and one that reads it first exits normally, and drains.)
    assert terminate.verdict == "ok" and terminate.value is not None, terminate.detail
    assert "promised (flushed: no record" in terminate.detail
    assert graceful.verdict == "ok" and graceful.value == 0, graceful.detail
    assert "SIGTERM after" in graceful.detail and "exit code -15" in graceful.detail


def test_quick_runs_the_clean_ends_that_used_to_lose_records() -> None:
    assert set(QUICK_STOP_CASES) <= set(STOP_CASES)
    assert {"pool/fork/close", "pool/forkserver/close", "executor/forkserver/shutdown"} <= set(QUICK_STOP_CASES)



def test_a_writer_started_from_a_logger_thread_does_not_inherit_its_blocked_signals(tmp_path: Path) -> None:
    """A replacement writer is started by the (quiet) sender thread; its bootstrap clears the inherited mask."""
    from loggers._writer.process import _BOOTSTRAP

    (tmp_path / "maskprobe.py").write_text(
        "import signal\ndef main(args):\n    print(sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])))\n"
    )
    plain = [sys.executable, "-c", "import signal; print(sorted(int(s) for s in signal.pthread_sigmask(0, [])))"]
    writer = [sys.executable, "-E", "-S", "-c", _BOOTSTRAP, str(tmp_path), "maskprobe"]
    seen: dict[str, str] = {}

    def run_both() -> None:
        for name, argv in (("plain", plain), ("writer", writer)):
            seen[name] = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()

    thread = threading.Thread(target=run_both)
    _signals.start_quiet(thread)
    thread.join()
    assert seen["plain"] == str(sorted(int(s) for s in _signals.QUIET_SIGNALS))  # inherited across exec
    assert seen["writer"] == "[]"


def test_a_graceful_stop_that_swallows_the_signal_is_a_defect() -> None:
    """The sender expects the process to end: a drain that never hands the signal on breaks that promise."""
    import planted

    records = run_crash(planted.swallows_sigterm, quick=True, cases=("exit/sigterm_graceful",), timeout=3.0)
    assert len(records) == 1 and records[0].verdict == "defect", records[0].detail
    assert "did not end the process by SIGTERM (exit code -9)" in records[0].detail
