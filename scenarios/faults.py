"""Scenario ``faults``: run the fault catalogue over one backend.

Each case runs in its own spawned child process with a time limit, so a
case may set rlimits, install signal handlers, fork or drop privileges, and a
deadlock becomes a failed row instead of a hung run. ``CASES_AT_ONCE`` cases
run at a time: they judge outcomes (counts, lines, exceptions), never time, and
most of a case is waiting (a slow disk, a stalled writer, a close). One record per case:
``written``/``dropped``/``errors`` as counted by the backend, verdict ``ok``
when the required outcomes hold (no exception into the application, failures
counted, nothing lost that the fault did not force, every line valid JSON),
``defect`` otherwise, the outcome in words in ``detail``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tempfile
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from . import _fault_cases as bad_input
from . import _fault_env as env
from ._fault_cases import Outcome
from ._proc import ChildFailed, run_in_child
from ._fault_storm import signal_storm
from ._results import ResultRecord

CASES: dict[str, Callable[..., Outcome]] = {
    "huge_message": bad_input.huge_message,
    "many_fields": bad_input.many_fields,
    "control_characters": bad_input.control_characters,
    "invalid_text": bad_input.invalid_text,
    "non_str_message": bad_input.non_str_message,
    "hostile_values": bad_input.hostile_values,
    "odd_field_names": bad_input.odd_field_names,
    "signal_handler": env.signal_handler_logging,
    "log_after_close": env.log_after_close,
    "threads_during_close": env.threads_during_close,
    "fork_mid_run": env.fork_mid_run,
    "disk_full": env.disk_full_dev_full,
    "size_limit_then_recovery": env.file_size_limit_then_recovery,
    "directory_removed": env.directory_removed,
    "external_rotation": env.external_rotation,
    "symlink_at_path": env.symlink_at_log_path,
    "permission_denied": env.permission_denied,
    "writer_killed": env.writer_killed,
    "slow_disk": env.slow_disk,
    # re-entrancy under pressure: storm interval, queue size, overflow policy (None: the backend's default)
    "signal_storm_1ms": functools.partial(signal_storm, interval_s=0.001),
    "signal_storm_100us": functools.partial(signal_storm, interval_s=0.0001),
    **{
        f"signal_storm_100us_q64_{policy}": functools.partial(signal_storm, interval_s=0.0001, queue_size=64, overflow=policy)
        for policy in ("block", "drop_new", "drop_old")
    },
}
CASE_TIMEOUT_SECONDS = 30.0
CASES_AT_ONCE = 2
QUICK_CASE_TIMEOUT_SECONDS = 10.0
#: The quick suite runs two of the five storm variants (a backend that passes finishes one in ~1 s; one
#: that hangs costs its whole limit, so the limit is shorter too); the full catalogue runs all five.
QUICK_STORM_CASES = ("signal_storm_1ms", "signal_storm_100us_q64_drop_new")
QUICK_STORM_TIMEOUT_SECONDS = 5.0
#: More stderr lines than this from one case means failures are reported per record, not once per kind.
MAX_STDERR_LINES = 100

# Invalid values every backend taking the option must refuse at create(), naming the option.
BAD_OPTIONS: dict[str, list[object]] = {
    "level": ["LOUD", -1, 2.5, None],
    "max_bytes": [0, -1, "10", 1.5],
    "backup_count": [-1, "2", None],
    "queue_size": [0, -10, "big"],
    "overflow": ["explode", None, 1],
    "batch_size": [0, -1, 2.0],
    "flush_interval": [0, -0.5, "1s", float("inf")],
}


def run_faults(
    factory: Callable[..., Any], *, backend: str | None = None, quick: bool = False, cases: list[str] | None = None
) -> list[ResultRecord]:
    """Run the catalogue (or ``cases``) over the backend made by ``factory``."""
    name = backend or _name_of(factory)
    reason = _why_not_applicable(factory)
    if reason:
        return [ResultRecord("faults", name, case, "outcome", None, "count", status="not supported", detail=reason) for case in ["bad_configuration", *CASES]]
    records = [_config_record(factory, name)]
    chosen = _cases(quick) if cases is None else cases

    def outcome_of(case: str) -> Outcome:
        return _run_isolated(case, factory, _limit(case, quick))

    with ThreadPoolExecutor(CASES_AT_ONCE, thread_name_prefix="logbench-fault-case") as pool:
        for case, outcome in zip(chosen, pool.map(outcome_of, chosen)):
            records.extend(_records_for(name, case, outcome))
    return records


def _limit(case: str, quick: bool) -> float:
    """A case's time limit: shorter in quick mode, shortest for quick storm variants."""
    if not quick:
        return CASE_TIMEOUT_SECONDS
    return QUICK_STORM_TIMEOUT_SECONDS if case.startswith("signal_storm") else QUICK_CASE_TIMEOUT_SECONDS


def _cases(quick: bool) -> list[str]:
    """The catalogue's cases; quick mode keeps only :data:`QUICK_STORM_CASES` of the storm variants."""
    return [case for case in CASES if not (quick and case.startswith("signal_storm") and case not in QUICK_STORM_CASES)]


def _records_for(backend: str, case: str, outcome: Outcome) -> list[ResultRecord]:
    if not outcome.applicable:
        return [ResultRecord("faults", backend, case, "outcome", None, "count", status="not supported", detail=outcome.detail)]
    verdict = "ok" if outcome.ok else "defect"
    counts = (("written", outcome.written), ("dropped", outcome.dropped), ("errors", outcome.errors), *outcome.metrics)
    return [
        ResultRecord("faults", backend, case, metric, value, "count", verdict=verdict, detail=outcome.detail)
        for metric, value in counts
    ]


def _config_record(factory: Callable[..., Any], backend: str) -> ResultRecord:
    """Every invalid option value must raise ValueError/TypeError naming the option."""
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "app.log"
        unclear, checked = [], 0
        for option, values in BAD_OPTIONS.items():
            for value in values:
                try:
                    log = factory(path=path, **{option: value})
                except (ValueError, TypeError) as exc:
                    checked += 1
                    if option not in str(exc):
                        unclear.append(f"{option}={value!r}: {exc}")
                    continue
                log.close()
                unclear.append(f"{option}={value!r} accepted")
    ok = not unclear
    detail = f"{checked} invalid values refused at create(), each naming its option" if ok else "; ".join(unclear[:5])
    return ResultRecord("faults", backend, "bad_configuration", "refused", float(checked), "count", verdict="ok" if ok else "defect", detail=detail)


def _run_isolated(case: str, factory: Callable[..., Any], limit: float | None = None) -> Outcome:
    limit = CASE_TIMEOUT_SECONDS if limit is None else limit

    def wait(receiver: Connection) -> str | None:
        return None if receiver.poll(limit) else f"no result within {limit:.0f}s: hung (killed, with what it started)"

    with tempfile.TemporaryDirectory() as workdir:
        try:
            outcome: Outcome = run_in_child(_case_child, (case, factory, workdir), wait=wait, name="logbench-fault-case")
        except ChildFailed as exc:  # hung, died without a result, or raised past the case
            outcome = Outcome(False, f"case process: {exc}")
    return outcome


def _case_child(case: str, factory: Callable[..., Any], workdir: str) -> Outcome:
    def make(path: object, **options: Any) -> Any:
        return factory(path=path, **options)

    stderr_path = Path(workdir) / "case.stderr"
    _redirect_stderr(stderr_path)
    try:
        outcome = CASES[case](make, Path(workdir))
    except BaseException as exc:  # an exception reaching here reached the application
        outcome = Outcome(False, f"exception reached the application: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}")
    return _judge_stderr(outcome, stderr_path)


def _redirect_stderr(path: Path) -> None:
    """Send this process's fd 2 (what the backend reports on) to ``path``."""
    with open(path, "wb") as file:
        os.dup2(file.fileno(), 2)


def _judge_stderr(outcome: Outcome, path: Path) -> Outcome:
    """Failures must be reported once per kind, not per record: too many stderr lines is a defect."""
    os.close(2)  # flush nothing more into the file; the case is over
    lines = path.read_bytes().count(b"\n") if path.exists() else 0
    if lines <= MAX_STDERR_LINES:
        return outcome
    return dataclasses.replace(outcome, ok=False, detail=f"{outcome.detail}; stderr flooded: {lines} lines (reports not rate-limited)")


def _why_not_applicable(factory: Callable[..., Any]) -> str:
    """Why the catalogue cannot judge this backend ("" if it can)."""
    with tempfile.TemporaryDirectory() as workdir:
        log = factory(path=Path(workdir) / "probe.log")
        log.close()
    if not getattr(type(log), "writes_file", True):
        return "writes no file (a baseline): faults do not apply"
    return ""


def _name_of(factory: Callable[..., Any]) -> str:
    args = getattr(factory, "args", ())
    return str(args[0]) if args else getattr(factory, "__name__", "backend")
