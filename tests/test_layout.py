"""The layout issue 12 set, kept: a small ``loggers/`` top level, backends named after themselves,
no package reading another's private modules, a README a newcomer reads to the end."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import loggers

ROOT = Path(__file__).resolve().parent.parent
MAX_TOP_LEVEL = 14
MAX_README_LINES = 300


def test_loggers_top_level_stays_small() -> None:
    entries = sorted(p.name for p in (ROOT / "loggers").iterdir() if p.name != "__pycache__")
    assert len(entries) <= MAX_TOP_LEVEL, entries


@pytest.mark.parametrize("backend", loggers.BACKENDS)
def test_every_backend_lives_in_a_module_or_folder_named_after_it(backend: str) -> None:
    module = loggers.backend_class(backend).__module__.split(".")
    assert module[0] == "loggers" and module[1] == backend.replace("-", "_"), module


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("package", ["harness", "scenarios", "reports", "benchmarks"])
def test_no_package_imports_the_loggers_private_modules(package: str) -> None:
    private = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in _imported_modules(path)
        if name.startswith("loggers._")
    }
    assert not private, sorted(private)


def test_readme_stays_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, lines
