"""Fault cases of the environment and of concurrency (see ``_fault_cases`` for the contract)."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

from ._fault_cases import Make, Outcome, finish, read_log, record_view

try:
    import psutil  # type: ignore[import-untyped, unused-ignore]
except ImportError:  # pragma: no cover - the harness extra installs it
    psutil = None  # type: ignore[assignment, unused-ignore]


def _seqs(records: list[dict[str, Any]], **match: object) -> list[int]:
    return [r["seq"] for r in records if all(r.get(k) == v for k, v in match.items())]


def signal_handler_logging(make: Make, workdir: Path) -> Outcome:
    """A SIGALRM handler logs every 0.5 ms while the main thread logs: no deadlock, nothing lost."""
    path = workdir / "app.log"
    log = make(path)
    hits = 0

    def handler(signum: int, frame: object) -> None:
        nonlocal hits
        seq, hits = hits, hits + 1  # claim the number first: handlers nest
        log.info("from handler", source="handler", seq=seq)

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
    try:
        for seq in range(20_000):
            log.info("main", source="main", seq=seq)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous)

    def check(records: list[dict[str, Any]]) -> tuple[bool, str]:
        main, handled = _seqs(records, source="main"), _seqs(records, source="handler")
        ok = sorted(main) == list(range(20_000)) and sorted(handled) == list(range(hits))
        return ok, f"20000 main + {hits} handler records all written, no deadlock" if ok else f"main {len(main)}/20000, handler {len(handled)}/{hits}"

    return finish(log, path, check)


def log_after_close(make: Make, workdir: Path) -> Outcome:
    path = workdir / "app.log"
    log = make(path)
    log.info("before", seq=0)
    log.close()
    for seq in range(1, 101):
        log.info("after", seq=seq)
    stats = log.stats()
    records, bad = read_log(path, record_view(log))
    ok = _seqs(records) == [0] and stats["dropped"] == 100 and not bad
    return Outcome(ok, "100 calls after close dropped and counted, none raised" if ok else f"records {_seqs(records)[:5]}, stats {stats}", stats["written"], stats["dropped"], stats["errors"])


def threads_during_close(make: Make, workdir: Path) -> Outcome:
    """8 threads log while the main thread closes: no exception, every record written or counted."""
    path = workdir / "app.log"
    log = make(path)
    stop = threading.Event()
    failures: list[BaseException] = []

    def produce(writer: int) -> None:
        seq = 0
        try:
            while not stop.is_set():
                log.info("t", writer=writer, seq=seq)
                seq += 1
        except BaseException as exc:  # noqa: BLE001 - the point is to see it
            failures.append(exc)

    threads = [threading.Thread(target=produce, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    started = time.perf_counter()
    log.close()
    close_s = time.perf_counter() - started
    time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()

    def check(records: list[dict[str, Any]]) -> tuple[bool, str]:
        gaps = [w for w in range(8) if _seqs(records, writer=w) != list(range(len(_seqs(records, writer=w))))]
        ok = not failures and not gaps
        took = f"close() took {close_s:.2f} s with 8 threads logging"
        return ok, f"{len(records)} records, each thread's a gap-free prefix, no exception; {took}" if ok else f"exceptions {failures[:2]!r}, gaps in writers {gaps}; {took}"

    return finish(log, path, check)


def fork_mid_run(make: Make, workdir: Path) -> Outcome:
    """Fork while a thread logs; the child logs and exits; the parent keeps logging."""
    path = workdir / "app.log"
    log = make(path)
    stop = threading.Event()

    def background() -> None:
        seq = 0
        while not stop.is_set():
            log.info("bg", writer="bg", seq=seq)
            seq += 1

    thread = threading.Thread(target=background)
    thread.start()
    time.sleep(0.02)
    pid = os.fork()
    if pid == 0:  # child: log, flush, leave without running the parent's atexit twice
        code = 0
        try:
            for seq in range(100):
                log.info("child", writer="child", seq=seq)
            code = 0 if log.flush(timeout=10) else 3
            log.close()
        except BaseException:
            code = 4
        os._exit(code)
    status = _wait_child(pid, timeout=5.0)
    stop.set()
    thread.join()
    for seq in range(100):
        log.info("parent", writer="parent", seq=seq)

    def check(records: list[dict[str, Any]]) -> tuple[bool, str]:
        if status is None:
            return False, "the forked child deadlocked (killed after 5 s); parent kept working"
        child_ok = os.waitstatus_to_exitcode(status) == 0 and _seqs(records, writer="child") == list(range(100))
        parent_ok = _seqs(records, writer="parent") == list(range(100))
        bg = _seqs(records, writer="bg")
        no_dups = len(bg) == len(set(bg))
        ok = child_ok and parent_ok and no_dups
        return ok, "child wrote its 100, parent kept working, no duplicate or garbage line" if ok else f"child ok {child_ok} (exit {os.waitstatus_to_exitcode(status)}), parent ok {parent_ok}, bg dups {not no_dups}"

    return finish(log, path, check)


def _wait_child(pid: int, timeout: float) -> int | None:
    """The child's wait status, or None after killing a child that did not exit in ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


# -- faults of the environment --------------------------------------------------


def disk_full_dev_full(make: Make, workdir: Path) -> Outcome:
    """Every write fails with ENOSPC (/dev/full): counted drops and errors, no exception."""
    log = make(Path("/dev/full"))
    for seq in range(200):
        log.info("full", seq=seq)
    log.flush(timeout=10)
    log.close()
    stats = log.stats()
    ok = stats["written"] == 0 and stats["dropped"] == 200 and stats["errors"] >= 1
    return Outcome(ok, f"200 records dropped and counted, {stats['errors']} error events" if ok else f"stats {stats}", stats["written"], stats["dropped"], stats["errors"])


def _set_file_size_limit(limit: int) -> None:
    """Set RLIMIT_FSIZE on this process and its children (writer processes included)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    if psutil is not None:
        for child in psutil.Process().children(recursive=True):
            try:
                resource.prlimit(child.pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
            except (ProcessLookupError, PermissionError):
                pass


def file_size_limit_then_recovery(make: Make, workdir: Path) -> Outcome:
    """Writes fail (EFBIG) past a size limit, then the limit is lifted: logging resumes."""
    path = workdir / "app.log"
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    log = make(path)
    log.info("first", phase="before", seq=0)
    log.flush(timeout=10)
    _set_file_size_limit(os.path.getsize(path) + 20_000)
    for seq in range(1000):
        log.info("x" * 80, phase="full", seq=seq)
    log.flush(timeout=10)
    _set_file_size_limit(resource.RLIM_INFINITY)
    for seq in range(100):
        log.info("resumed", phase="after", seq=seq)

    def check(records: list[dict[str, Any]]) -> tuple[bool, str]:
        after = _seqs(records, phase="after")
        during = _seqs(records, phase="full")
        ok = after == list(range(100)) and 0 < len(during) < 1000 and during == list(range(len(during)))
        return ok, f"{len(during)}/1000 fit under the limit, the rest counted; all 100 after recovery written" if ok else f"during {len(during)}, after {len(after)}/100"

    outcome = finish(log, path, check)
    if outcome.ok and (outcome.errors == 0 or outcome.dropped == 0):
        counted = f"stats say written {outcome.written}, dropped {outcome.dropped}, errors {outcome.errors}"
        return Outcome(False, f"{outcome.detail}, but the failures were not counted: {counted}", outcome.written, outcome.dropped, outcome.errors)
    return outcome


def directory_removed(make: Make, workdir: Path) -> Outcome:
    """The log directory is removed mid-run: the logger recreates it and keeps every later record."""
    path = workdir / "logs" / "app.log"
    log = make(path)
    for seq in range(50):
        log.info("before", seq=seq)
    log.flush(timeout=10)
    shutil.rmtree(path.parent)
    for seq in range(50, 100):
        log.info("after", seq=seq)

    def check(records: list[dict[str, Any]]) -> tuple[bool, str]:
        after = _seqs(records)
        ok = after == list(range(50, 100))
        return ok, "directory recreated; all 50 records logged after the removal written" if ok else f"after removal {len(after)}/50 records survived (the rest went into the deleted file)"

    return finish(log, path, check)


def external_rotation(make: Make, workdir: Path) -> Outcome:
    """logrotate-style: rename the file and create a new one; later records land in the new file."""
    path = workdir / "app.log"
    log = make(path)
    for seq in range(50):
        log.info("old", seq=seq)
    log.flush(timeout=10)
    os.rename(path, workdir / "rotated.log")
    path.touch(mode=0o640)
    for seq in range(50, 100):
        log.info("new", seq=seq)
    log.close()
    stats = log.stats()
    new, bad_new = read_log(path, record_view(log))
    old, bad_old = read_log(workdir / "rotated.log", record_view(log))
    ok = _seqs(old) == list(range(50)) and _seqs(new) == list(range(50, 100)) and not (bad_new or bad_old)
    detail = "renamed file kept the old records, new file got every later one" if ok else f"old file {len(old)}, new file {len(new)} records"
    return Outcome(ok, detail, stats["written"], stats["dropped"], stats["errors"])


def symlink_at_log_path(make: Make, workdir: Path) -> Outcome:
    """A symlink planted at the log path is never followed (clear error at create, or counted)."""
    target = workdir / "victim.txt"
    target.write_text("precious\n")
    path = workdir / "app.log"
    path.symlink_to(target)
    try:
        log = make(path)
    except (ValueError, OSError) as exc:
        untouched = target.read_text() == "precious\n"
        return Outcome(untouched, f"create() refused: {exc}" if untouched else "target modified")
    log.info("must not reach the victim")
    log.close()
    stats = log.stats()
    untouched = target.read_text() == "precious\n"
    return Outcome(untouched, "symlink not followed" if untouched else "wrote through the symlink", stats["written"], stats["dropped"], stats["errors"])


def permission_denied(make: Make, workdir: Path) -> Outcome:
    """An unwritable directory is a clear error at create (checked as an unprivileged user)."""
    locked = workdir / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    if os.geteuid() == 0:  # root ignores permissions: drop to nobody (this case's child process only)
        make(workdir / "warm-up.log").close()  # import the backend first: nobody may not read the stdlib
        os.chmod(workdir, 0o755)
        os.setgid(65534)
        os.setuid(65534)
    try:
        log = make(locked / "app.log")
    except (ValueError, OSError, PermissionError) as exc:
        named = "path" in str(exc) or "ermission" in str(exc)
        return Outcome(named, f"create() refused clearly: {exc}" if named else f"unclear error: {exc!r}")
    log.info("x")
    log.close()
    stats = log.stats()
    counted = stats["errors"] >= 1 and stats["written"] == 0
    return Outcome(counted, "accepted at create, failures counted at log time" if counted else f"stats {stats}", stats["written"], stats["dropped"], stats["errors"])


def _writer_processes() -> list[Any]:
    return [] if psutil is None else psutil.Process().children(recursive=True)


def writer_killed(make: Make, workdir: Path) -> Outcome:
    """The backend's writer process is SIGKILLed: the app neither blocks nor raises; losses counted."""
    path = workdir / "app.log"
    before = {p.pid for p in _writer_processes()}
    log = make(path)
    writers = [p for p in _writer_processes() if p.pid not in before]
    if not writers:
        log.close()
        return Outcome(True, "no writer process: not applicable", applicable=False)
    for seq in range(100):
        log.info("before", seq=seq)
    log.flush(timeout=10)
    for process in writers:
        process.kill()
        process.wait(5)
    started = time.monotonic()
    for seq in range(100, 300):
        log.info("after", seq=seq)
    flushed = log.flush(timeout=5)
    log.close()
    took = time.monotonic() - started
    stats = log.stats()
    records, bad = read_log(path, record_view(log))
    kept = _seqs(records)
    counted = stats["emitted"] == stats["written"] + stats["dropped"] and stats["dropped"] + len(kept) >= 300
    ok = kept[:100] == list(range(100)) and counted and took < 30 and not bad
    detail = (f"flushed records kept; {stats['dropped']} later records counted as dropped, {stats['errors']} errors; "
              f"flush after the kill returned {flushed}; close took {took:.1f}s")
    return Outcome(ok, detail if ok else f"{detail}; kept {len(kept)}, bad lines {bad}", stats["written"], stats["dropped"], stats["errors"])


def _stall_writes(seconds: float) -> Any:
    """Make every sink write (in this process) take ``seconds`` longer; returns an undo callable."""
    from loggers import _sink

    original = _sink.FileSink.write_many

    def slow(self: Any, lines: Any) -> int:
        time.sleep(seconds)
        return original(self, lines)

    _sink.FileSink.write_many = slow  # type: ignore[method-assign]
    return lambda: setattr(_sink.FileSink, "write_many", original)


def slow_disk(make: Make, workdir: Path) -> Outcome:
    """Each write stalls 20 ms (writer processes: SIGSTOPped for 0.5 s) under each overflow policy."""
    results, refused = [], []
    for policy in ("block", "drop_new", "drop_old"):
        path = workdir / f"{policy}.log"
        try:
            log = make(path, overflow=policy, queue_size=500, batch_size=100)
        except TypeError:
            return Outcome(True, "no queue to overflow: not applicable", applicable=False)
        except ValueError:  # a queue that cannot honour this policy, refused at create: the others are judged
            refused.append(policy)
            continue
        writers = _writer_processes()
        undo = _stall_writes(0.02)
        for process in writers:
            process.suspend()
        started = time.monotonic()
        for seq in range(3000):
            log.info("burst", seq=seq)
        blocked_for = time.monotonic() - started
        time.sleep(0.5 if writers else 0)
        for process in writers:
            process.resume()
        undo()
        log.close()
        stats = log.stats()
        records, bad = read_log(path, record_view(log))
        seqs = _seqs(records)
        exact = stats["emitted"] == 3000 == stats["written"] + stats["dropped"] and len(seqs) == stats["written"]
        bounded = stats["max_queue_depth"] <= 500 + 8
        shape = {"block": seqs == list(range(3000)), "drop_new": seqs[:1] == [0], "drop_old": seqs[-1:] == [2999]}[policy]
        ok = exact and bounded and shape and not bad
        results.append((ok, f"{policy}: {stats['written']} written, {stats['dropped']} dropped, depth<={stats['max_queue_depth']}, caller {blocked_for:.2f}s"))
    if not results:
        return Outcome(True, f"every overflow policy refused at create ({', '.join(refused)}): not applicable", applicable=False)
    texts = [text for _, text in results] + [f"{policy}: refused at create" for policy in refused]
    return Outcome(all(ok for ok, _ in results), "; ".join(texts))
