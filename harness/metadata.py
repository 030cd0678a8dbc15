"""Run metadata: machine, Python, git commit and dirty flag, times, the command."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from typing import Any

__all__ = ["collect", "now_iso"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _git(*args: str, root: str = ROOT) -> str | None:
    """Output of a read-only git command in ``root`` (the project), or None (no git, not a repository)."""
    try:
        done = subprocess.run(["git", "--no-optional-locks", *args], cwd=root, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def collect(*, quick: bool, command: list[str], reference: tuple[str, ...], baseline: tuple[str, ...],
            root: str = ROOT) -> dict[str, Any]:
    """The metadata block of a result file, ``finished_at`` still None (set when the run ends).

    ``root``: the tree whose code ran (its git commit and dirty flag); default this one.
    """
    status = _git("status", "--porcelain", "--untracked-files=no", root=root)
    return {
        "machine": platform.node(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "git_commit": _git("rev-parse", "HEAD", root=root),
        "git_dirty": None if status is None else bool(status),
        "started_at": now_iso(),
        "finished_at": None,
        "quick": quick,
        "command": " ".join(command),
        "reference_backends": list(reference),
        "baseline_backends": list(baseline),
    }
