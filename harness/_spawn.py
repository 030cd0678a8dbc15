"""Parent side: run one cell in a fresh ``python -m harness._worker`` process.

A non-zero exit, a timeout, or unreadable output becomes ONE failed-cell record
(``status="failed"``, ``metric="cell"``, the exit status and the tail of stderr
in ``detail``) and the run goes on. The child runs in its own session, so a
timeout kills its whole process group (writer processes, crash-test children).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import Any

__all__ = ["failed_record", "spawn_cell"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STDERR_TAIL = 8000


def failed_record(scenario: str, backend: str, detail: str) -> dict[str, Any]:
    """The record standing for a cell that produced no results."""
    from scenarios import ResultRecord

    return ResultRecord(scenario, backend, "", "cell", None, "-", status="failed", detail=detail).as_dict()


def spawn_cell(backend: str, scenario: str, *, quick: bool, timeout: float,
               artifacts_dir: str | None = None, options: dict[str, Any] | None = None,
               root: str = ROOT) -> list[dict[str, Any]]:
    """Run ``backend`` x ``scenario`` in a child process; its records, or one failed-cell record.

    ``artifacts_dir`` (the run's results directory) is offered to scenarios that keep files there
    (the ``caller`` scenario's pyperf JSON); ``options`` (JSON-able keyword arguments, e.g. the user's
    ``workload``, ``trials``) go to a scenario that takes them. ``root``: the logbench tree whose
    ``harness``, ``scenarios`` and ``loggers`` the child imports (default this one; ``ab`` runs two).
    """
    scratch = tempfile.mkdtemp(prefix="logbench-cell-")
    try:
        spec: dict[str, Any] = {"backend": backend, "scenario": scenario, "quick": quick,
                "workdir": os.path.join(scratch, "work"), "out": os.path.join(scratch, "records.json"),
                "dump_after": max(timeout - 2.0, timeout * 0.9),
                "artifacts_dir": None if artifacts_dir is None else os.path.abspath(artifacts_dir),
                "options": dict(options or {})}
        os.makedirs(spec["workdir"])
        spec_path = os.path.join(scratch, "spec.json")
        with open(spec_path, "w", encoding="utf-8") as file:
            json.dump(spec, file)
        status, stderr = _run_child(spec_path, timeout, root)
        if status != 0:
            why = f"timed out after {timeout:g} s" if status is None else f"worker exited with status {status}"
            return [failed_record(scenario, backend, f"{why}\n{stderr[-STDERR_TAIL:]}")]
        try:
            with open(spec["out"], encoding="utf-8") as file:
                rows: list[dict[str, Any]] = json.load(file)["records"]
        except (OSError, ValueError, KeyError) as exc:
            return [failed_record(scenario, backend, f"unreadable worker output: {exc}\n{stderr[-STDERR_TAIL:]}")]
        return rows
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_child(spec_path: str, timeout: float, root: str) -> tuple[int | None, str]:
    """(exit status or None on timeout, stderr text) of the worker, run from the tree ``root``."""
    env = dict(os.environ)
    # the tree, then the current directory (a user's --workload module), then what was there
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.getcwd(), env.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            # -P: ``-m`` would put the current directory first on sys.path, ahead of ``root``
            [sys.executable, "-P", "-m", "harness._worker", spec_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            env=env, start_new_session=True,
        )
        try:
            status: int | None = proc.wait(timeout=timeout)
        except BaseException:  # a timeout, or Ctrl-C in the parent: take the whole cell down
            _kill_group(proc)
            if not isinstance(sys.exc_info()[1], subprocess.TimeoutExpired):
                raise
            status = None
        err.seek(0)
        return status, err.read().decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the (still running, not yet reaped) worker's process group and reap the worker."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
