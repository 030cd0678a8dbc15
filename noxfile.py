"""Sessions: ``tests`` (pytest), ``bench`` (the quick benchmark suite + report)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (contract suite over every backend, scenarios, harness, reports)."""
    session.install("-e", ".[harness,dev]")
    session.run("pytest", *(session.posargs or ["-q"]))
