"""crash: which records survive when the application dies, abruptly or gracefully.

The application (:mod:`scenarios._crash_app`, a real ``python -m`` process)
logs records with fields ``writer=0`` and ``seq`` 0, 1, 2 ... and stores,
after each call returned, the highest returned ``seq`` (and the highest one a
successful ``flush()`` covered) in memory shared with this process.

``sigkill/paced``, ``sigkill/burst``
    ``trials`` kills with SIGKILL at a uniformly random moment (seeded) while
    logging at ``rate`` records/s (a flush every ``flush_every`` records), or in
    bursts of ``burst_len`` as fast as possible, each followed by a 10 ms pause
    (and a flush after every second burst). Per trial ``lost_records`` = returned records not in the files
    (the loss window), judged against the durability contract on its own; per case the loss window's
    distribution ``lost_median`` (p50), ``lost_p99`` (nearest rank), ``lost_max``, plus ``torn_lines``,
    ``duplicates`` and ``defect_trials`` (trials that broke the contract). ``trials=1000`` is a soak
    (``python -m harness run --scenarios crash --trials 1000``; figures in docs/soak.md).
``exit/normal``, ``exit/exception``, ``exit/sys_exit``
    ``records`` records, neither flushed nor closed, then the program ends by
    falling off its end, an unhandled exception or ``sys.exit(3)``: every
    record must survive (the interpreter's exit path must drain).
``exit/sigterm``
    Paced logging, then SIGTERM at a random moment. Its default action ends
    the process without running Python code, so it is judged like SIGKILL;
    the loss is reported as data.
``exit/sigterm_graceful``
    The same with ``loggers.drain_on_signals(signal.SIGTERM)`` installed: every
    returned record must survive, and the app must still die by SIGTERM.
``pool/<method>/<ending>``, ``executor/<method>/shutdown``
    A process pool ends cleanly or by SIGTERM (:mod:`scenarios._crash_stop`),
    ``pool_workers`` workers running ``pool_tasks`` tasks of ``pool_records``
    records each.

Verdict ``defect``: a record the backend promised durable was lost
(``crash_durability`` ``"returned"``: any returned record; ``"flushed"``: any
record covered by a successful flush), any torn line or duplicate, or any loss
at a graceful exit. One exception for torn lines: after a kill, a file may end
mid-record (the kill cut a ``write`` between pages); that record was never
promised and counts as lost, so the cut tail is reported in the detail, not
judged a defect. A backend's writer process may outlive the application:
counting waits until it exited and the files stopped growing.
"""

from __future__ import annotations

import os
import pickle
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._crash_app import FLUSHED, GO, RETURNED, STARTED, AppSpec, create_progress, open_progress
from ._crash_stop import QUICK_STOP_CASES, STOP_CASES, run_stop_case
from ._proc import BackendInfo, Factory, child_env, descendants, probe, wait_until_quiet
from ._results import ResultRecord
from ._stats import percentile
from .verify import LineParser, verify_log_files

SCENARIO = "crash"
KILL_CASES = ("sigkill/paced", "sigkill/burst")
EXIT_CASES = ("exit/normal", "exit/exception", "exit/sys_exit", "exit/sigterm", "exit/sigterm_graceful")
#: Exits that must keep every record: the interpreter's exit path, or the graceful stop, drains.
GRACEFUL_MODES = ("normal", "exception", "sys_exit", "sigterm_graceful")
SUMMARY = (("lost_median", "records"), ("lost_max", "records"), ("torn_lines", "count"), ("duplicates", "count"),
           ("lost_p99", "records"), ("defect_trials", "count"))
#: Up to this many trials the summary's detail lists every loss; beyond it, the distribution only.
LIST_LOSSES_UP_TO = 30
LOG_NAME = "app.log"


def run_crash(
    factory: Factory,
    *,
    quick: bool = False,
    backend: str | None = None,
    workdir: str | None = None,
    trials: int | None = None,
    kill_window_s: tuple[float, float] | None = None,
    rate: float = 5000.0,
    burst_len: int = 2000,
    flush_every: int = 500,
    records: int = 2000,
    seed: int = 0,
    timeout: float = 60.0,
    cases: tuple[str, ...] | None = None,
    pool_workers: int | None = None,
    pool_tasks: int | None = None,
    pool_records: int | None = None,
    parse_line: LineParser | None = None,
    trials_at_once: int = 1,
) -> list[ResultRecord]:
    """Run the crash ``cases`` (default: see below) for ``factory``; see the module docstring.

    Defaults: quick 3 trials per kill case killed 0.1-0.5 s after logging
    started; full 20 trials, 0.1-1.5 s. Stop cases: quick a pool of 2 running
    4 tasks x 500 records, and of the stop cases only ``QUICK_STOP_CASES``;
    full a pool of 4 running 8 x 1000, every case. ``parse_line``: how to read
    one line (default: the backend class's ``line_parser`` hook, else logbench
    JSON Lines); the files read are the ones its ``log_files`` hook lists. ``trials_at_once``:
    kill trials run side by side, each its own application in its own directory (a soak's
    wall time; the kill moments stay the seeded ones, the records keep trial order).
    """
    if trials_at_once < 1:
        raise ValueError(f"trials_at_once: must be at least 1, got {trials_at_once!r}")
    if cases is None:
        cases = KILL_CASES + EXIT_CASES + (QUICK_STOP_CASES if quick else STOP_CASES)
    unknown = set(cases) - set(KILL_CASES + EXIT_CASES + STOP_CASES)
    if unknown:
        raise ValueError(f"cases: unknown crash case(s) {sorted(unknown)}")
    info = probe(factory)
    name = backend or info.name
    parse_line = parse_line or info.line_parser
    if not info.writes_file:
        reason = f"{info.name} writes nothing: nothing can be lost or persisted"
        return [
            ResultRecord(SCENARIO, name, case, metric, None, unit, status="not supported", detail=reason)
            for case in KILL_CASES
            if case in cases
            for metric, unit in SUMMARY
        ] + [
            ResultRecord(SCENARIO, name, case, "lost_records", None, "records", status="not supported", detail=reason)
            for case in EXIT_CASES + STOP_CASES
            if case in cases
        ]
    n_trials = trials or (3 if quick else 20)
    window = kill_window_s or ((0.1, 0.5) if quick else (0.1, 1.5))
    rng = random.Random(seed)
    common = {"rate": rate, "burst_len": burst_len, "flush_every": flush_every, "records": records}
    results: list[ResultRecord] = []
    for case in (case for case in KILL_CASES if case in cases):
        mode = case.split("/", 1)[1]
        delays = [rng.uniform(*window) for _ in range(n_trials)]
        with ThreadPoolExecutor(max_workers=trials_at_once) as pool:
            outcomes = list(pool.map(
                lambda delay: _trial(factory, info, workdir, mode, delay, common, timeout, parse_line), delays))
        results += [_trial_record(name, case, trial, outcome) for trial, outcome in enumerate(outcomes)]
        results += _summary_records(name, case, outcomes)
    for case in (case for case in EXIT_CASES if case in cases):
        mode = case.split("/", 1)[1]
        outcome = _trial(factory, info, workdir, mode, rng.uniform(*window), common, timeout, parse_line)
        results.append(_trial_record(name, case, None, outcome))
    sizes = {
        "workers": pool_workers or (2 if quick else 4),
        "tasks": pool_tasks or (4 if quick else 8),
        "records": pool_records or (500 if quick else 1000),
    }
    for case in (case for case in STOP_CASES if case in cases):
        outcome = run_stop_case(factory, info, case, workdir=workdir, timeout=timeout, parse_line=parse_line, **sizes)
        results.append(_trial_record(name, case, None, outcome))
    return results


def _trial(
    factory: Factory,
    info: BackendInfo,
    workdir: str | None,
    mode: str,
    delay: float,
    common: dict[str, Any],
    timeout: float,
    parse_line: LineParser | None,
) -> dict[str, Any]:
    """One run of the application; returns counts, verdict and a detail text (or the failure)."""
    with tempfile.TemporaryDirectory(prefix="logbench-crash-", dir=workdir) as tmp:
        logs = os.path.join(tmp, "logs")
        os.makedirs(logs)
        spec = AppSpec(factory, os.path.join(logs, LOG_NAME), os.path.join(tmp, "progress"), mode, **common)
        create_progress(spec.progress_path)
        spec_path, stderr_path = os.path.join(tmp, "spec.pickle"), os.path.join(tmp, "stderr")
        with open(spec_path, "wb") as file:
            pickle.dump(spec, file)
        with open(stderr_path, "wb") as stderr:
            app = subprocess.Popen(
                [sys.executable, "-m", "scenarios._crash_app", spec_path],
                env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
            )
        try:
            ending, pids = _drive(app, spec, mode, delay, timeout)
        finally:
            if app.poll() is None:
                app.kill()
            app.wait()
        if ending.startswith("failed"):
            with open(stderr_path, "rb") as file:
                return {"failed": ending + ": " + file.read()[-2000:].decode(errors="replace")}
        quiet = wait_until_quiet(pids, logs, timeout=timeout)
        progress = open_progress(spec.progress_path)
        returned, flushed = int(progress[RETURNED]), int(progress[FLUSHED])
        progress.release()
        return _count(logs, info, mode, returned, flushed, ending, quiet, app.returncode, parse_line)


def _drive(
    app: subprocess.Popen[bytes], spec: AppSpec, mode: str, delay: float, timeout: float
) -> tuple[str, list[int]]:
    """Start the app's logging, then signal it (kill modes) or wait for its own end.

    Returns how it ended and the app's descendants seen meanwhile (writer
    processes that may outlive it).
    """
    pids: list[int] = []
    progress = open_progress(spec.progress_path)
    try:
        deadline = time.monotonic() + timeout
        while progress[STARTED] == 0:
            if app.poll() is not None or time.monotonic() > deadline:
                return f"failed: the application ended (exit code {app.returncode}) before its logger was ready", pids
            time.sleep(0.005)
        pids = descendants(app.pid)
        progress[GO] = 1
        if mode in ("paced", "burst", "sigterm", "sigterm_graceful"):
            time.sleep(delay)
            if app.poll() is not None:
                return f"failed: the application ended by itself (exit code {app.returncode}) before the signal", pids
            pids = sorted(set(pids) | set(descendants(app.pid)))
            sent = signal.SIGKILL if mode in ("paced", "burst") else signal.SIGTERM
            app.send_signal(sent)
            try:
                app.wait(timeout)
            except subprocess.TimeoutExpired:  # survived the signal: judged by its exit code (SIGKILL)
                app.kill()
                app.wait()
                return f"{sent.name} after {delay:.3f} s, survived it {timeout:g} s (then SIGKILL)", pids
            return f"{sent.name} after {delay:.3f} s", pids
        try:
            app.wait(timeout)
        except subprocess.TimeoutExpired:
            return f"failed: the application did not end within {timeout:g} s", pids
        return f"ended by itself ({mode})", pids
    finally:
        progress.release()


def _count(
    logs: str,
    info: BackendInfo,
    mode: str,
    returned: int,
    flushed: int,
    ending: str,
    quiet: bool,
    code: int | None,
    parse_line: LineParser | None,
) -> dict[str, Any]:
    """Compare the files with what the application was told; apply the durability promise."""
    files = info.files_for(os.path.join(logs, LOG_NAME))
    seen = verify_log_files(logs, LOG_NAME, {0: returned + 1}, parse_line=parse_line, files=files)
    graceful = mode in GRACEFUL_MODES
    if graceful:
        promised, promise = returned, "every record (graceful exit)"
    elif info.crash_durability == "returned":
        promised, promise = returned, "every returned record"
    else:
        promised, promise = flushed, "every flushed record"
    promised_lost = (
        verify_log_files(logs, LOG_NAME, {0: promised + 1}, parse_line=parse_line, files=files).lost if promised >= 0 else 0
    )
    # A kill during a write can leave the file ending mid-record: that record was not promised (it is
    # counted lost, and promised_lost catches it if it was). Any other torn line is a defect.
    cut_by_kill = seen.cut_tails if not graceful else 0
    # The graceful stop must still end the process by the signal, as its sender expects.
    not_by_signal = mode == "sigterm_graceful" and code != -signal.SIGTERM
    defect = bool(promised_lost or seen.torn_lines - cut_by_kill or seen.duplicated or not_by_signal)
    detail = (
        f"{ending}, exit code {code}; returned 0..{returned}, flushed 0..{flushed}; persisted {seen.found} of them"
        f" (+{seen.unexpected} in flight); lost {seen.lost}; promised ({info.crash_durability}: {promise}) "
        f"and lost {promised_lost}; torn {seen.torn_lines}, duplicated {seen.duplicated}, out of order {seen.out_of_order}"
    )
    if cut_by_kill:
        detail += f"; {cut_by_kill} file(s) end mid-record: a write cut short by the kill (the next logger ends that line)"
    if not_by_signal:
        detail += f"; the graceful stop did not end the process by SIGTERM (exit code {code})"
    if not quiet:
        detail += "; a writer process was still busy when counting started"
    return {
        "lost": seen.lost, "torn": seen.torn_lines, "duplicates": seen.duplicated,
        "defect": defect, "detail": detail,
    }


def _trial_record(name: str, case: str, trial: int | None, outcome: dict[str, Any]) -> ResultRecord:
    if "failed" in outcome:
        return ResultRecord(SCENARIO, name, case, "lost_records", None, "records", status="failed", detail=outcome["failed"], trial=trial)
    verdict = "defect" if outcome["defect"] else "ok"
    return ResultRecord(SCENARIO, name, case, "lost_records", outcome["lost"], "records", verdict=verdict, detail=outcome["detail"], trial=trial)


def _summary_records(name: str, case: str, outcomes: list[dict[str, Any]]) -> list[ResultRecord]:
    done = [outcome for outcome in outcomes if "failed" not in outcome]
    if not done:
        detail = "every trial failed: " + (outcomes[0]["failed"] if outcomes else "no trials")
        return [ResultRecord(SCENARIO, name, case, metric, None, unit, status="failed", detail=detail) for metric, unit in SUMMARY]
    losses = [outcome["lost"] for outcome in done]
    defects = [outcome for outcome in done if outcome["defect"]]
    verdict = "defect" if defects else "ok"
    ranked = sorted(losses)
    p99 = percentile(ranked, 99.0)
    shown = f"losses {losses}" if len(losses) <= LIST_LOSSES_UP_TO else (
        f"loss window p50 {statistics.median(ranked):g}, p99 {p99:g}, max {ranked[-1]}, mean {statistics.fmean(ranked):.1f}")
    detail = f"{len(done)} trial(s), {shown}; {len(defects)} broke the durability contract" + (
        f"; {len(outcomes) - len(done)} failed" if len(done) < len(outcomes) else "")
    if defects:
        detail += "; first defect: " + defects[0]["detail"]
    values = (statistics.median(losses), max(losses), sum(o["torn"] for o in done), sum(o["duplicates"] for o in done),
              p99, len(defects))
    return [
        ResultRecord(SCENARIO, name, case, metric, value, unit, verdict=verdict, detail=detail)
        for (metric, unit), value in zip(SUMMARY, values, strict=True)
    ]
