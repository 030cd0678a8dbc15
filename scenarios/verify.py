"""Check a rotated set of log files against what was logged: the rotation verifier.

Contract of :func:`verify_log_files`:

Input
    ``directory`` holds ``base_name`` (newest) and its backups ``base_name.1``
    (newest backup) ... ``base_name.N`` (oldest); other files (``.lock``, other
    names) are ignored. With ``files=`` (an explicit list, oldest first, the
    current file last, e.g. from the backend's ``Logger.log_files(path)`` hook)
    exactly those files are read and the directory is not scanned; the last
    one counts as the base file, the others as backups. ``expected`` maps each writer id to how many records it
    logged, with ``seq`` 0..n-1 in call order. ``parse_line(line) -> (writer, seq)``
    or ``None`` (unparseable) reads one line (without its ``\\n``); the default
    reads logbench JSON Lines with top-level ``writer`` and ``seq`` fields
    (a backend's ``Logger.line_parser`` hook says how to read its own layout).

Reading order
    Files oldest first (highest index first, gaps allowed: a crash mid-rotation
    may leave one), the base file last; lines in file order.

Counts
    ``found``: parsed records of expected writers with ``0 <= seq < n``, each
    once; ``lost``: expected records not found; ``duplicated``: a record seen
    again; ``out_of_order``: a record whose seq is below one already seen for
    its writer (per writer, across files in reading order); ``torn_lines``:
    lines that do not parse, a last line without ``\\n``, blank lines;
    ``cut_tails``: the files among those whose last line has no ``\\n`` (a
    ``write`` cut short, e.g. by SIGKILL; also counted in ``torn_lines``);
    ``unexpected``: parsed records of unknown writers or seq outside 0..n-1;
    ``oversize_files``: files over ``max_bytes`` holding more than one line
    (one record larger than ``max_bytes`` alone in its file is allowed);
    ``empty_files``: empty *backups* (an empty base file is a legal state: the
    file was just created, or a writer was killed right after rotating).

Losses explained by ``backup_count``
    True when nothing is lost, or when ``backup_count`` is given, the backup
    chain ``.1`` ... ``.backup_count`` is complete (so deletion has happened),
    and for every writer the lost records are exactly a prefix ``0..k-1`` (the
    oldest ones went first). Explained losses are not a defect.

The result is a frozen :class:`Verification`; ``ok`` is True when
``defects()`` is empty. Per-writer dicts are exposed as read-only mappings.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
from collections.abc import Callable, Mapping, Sequence

__all__ = ["Verification", "parse_json_line", "verify_log_files"]

LineParser = Callable[[bytes], "tuple[object, int] | None"]


def parse_json_line(line: bytes) -> tuple[object, int] | None:
    """``(writer, seq)`` of one logbench JSON Lines record, or None if it is not one."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or "writer" not in record:
        return None
    seq, writer = record.get("seq"), record["writer"]
    if type(seq) is not int or isinstance(writer, (list, dict)):
        return None
    return writer, seq


@dataclasses.dataclass(frozen=True)
class Verification:
    """What :func:`verify_log_files` found; see the module docstring for each count."""

    expected: int
    found: int
    lost: int
    duplicated: int
    out_of_order: int
    torn_lines: int
    cut_tails: int
    unexpected: int
    oversize_files: tuple[str, ...]
    empty_files: tuple[str, ...]
    files: tuple[str, ...]
    losses_explained_by_backup_count: bool
    lost_by_writer: Mapping[object, int]
    duplicated_by_writer: Mapping[object, int]
    out_of_order_by_writer: Mapping[object, int]

    @property
    def ok(self) -> bool:
        """No defect: see :meth:`defects`."""
        return not self.defects()

    def defects(self) -> list[str]:
        """One human-readable line per kind of defect; empty when the files are correct."""
        found: list[str] = []
        if self.lost and not self.losses_explained_by_backup_count:
            found.append(f"{self.lost} record(s) lost, not explained by backup_count deletion")
        for count, what in (
            (self.duplicated, "duplicated record(s)"),
            (self.out_of_order, "record(s) out of order"),
            (self.torn_lines, "torn or unparseable line(s)"),
            (self.unexpected, "unexpected record(s) (unknown writer or seq)"),
        ):
            if count:
                found.append(f"{count} {what}")
        if self.oversize_files:
            found.append(f"file(s) over max_bytes: {', '.join(self.oversize_files)}")
        if self.empty_files:
            found.append(f"empty backup(s): {', '.join(self.empty_files)}")
        return found

    def summary(self) -> str:
        """One line for test failures and scenario details."""
        state = "ok" if self.ok else "; ".join(self.defects())
        return f"{self.found}/{self.expected} records in {len(self.files)} file(s): {state}"


def rotated_files(directory: str | os.PathLike[str], base_name: str) -> list[tuple[int, str]]:
    """``(index, name)`` of ``base_name`` and its numbered backups, oldest first (index 0 = base).

    The files are the ones ``loggers.Logger.log_files`` lists (the ``FileSink`` rotation chain).
    """
    from loggers import Logger

    files = [os.path.basename(file) for file in Logger.log_files(os.path.join(os.fspath(directory), base_name))]
    return [(int(name[len(base_name) + 1 :] or 0), name) for name in files]


def _numbered(files: Sequence[str | os.PathLike[str]]) -> list[tuple[int, str]]:
    """An explicit oldest-first file list as ``(index, path)``: the last is the base (0), backups count up."""
    return [(len(files) - 1 - position, os.fspath(file)) for position, file in enumerate(files)]


def verify_log_files(
    directory: str | os.PathLike[str],
    base_name: str,
    expected: Mapping[object, int],
    *,
    max_bytes: int | None = None,
    backup_count: int | None = None,
    parse_line: LineParser | None = None,
    files: Sequence[str | os.PathLike[str]] | None = None,
) -> Verification:
    """Read the rotated files of ``base_name`` in ``directory`` and compare with ``expected``.

    Args:
        directory: the log directory.
        base_name: the log file's name (``app.log``), without directory.
        expected: writer id -> records it logged (seq 0..n-1).
        max_bytes: the rotation limit, or None to skip the size check.
        backup_count: backups the logger kept, or None (then no loss is explained).
        parse_line: ``bytes -> (writer, seq) | None``; default :func:`parse_json_line`.
        files: the files to read, oldest first, the current one last (paths, or names
            relative to ``directory``); default: ``base_name`` and its ``.N`` backups.

    Raises:
        ValueError: an expected count is negative or not an int.
        OSError: the directory cannot be read.
    """
    for writer, count in expected.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"expected[{writer!r}]: a record count >= 0, got {count!r}")
    parse = parse_line or parse_json_line
    paths = rotated_files(directory, base_name) if files is None else _numbered(files)
    seen: dict[object, set[int]] = {writer: set() for writer in expected}
    highest: dict[object, int] = {}
    duplicated: dict[object, int] = {}
    out_of_order: dict[object, int] = {}
    torn = cut = unexpected = 0
    oversize: list[str] = []
    empty: list[str] = []
    for index, name in paths:
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        if not data and index > 0:
            empty.append(os.path.basename(name))
        pieces = data.split(b"\n")
        if pieces[-1]:
            torn += 1  # the last line has no newline
            cut += 1
        lines = pieces[:-1]
        records_in_file = len(lines) + (1 if pieces[-1] else 0)
        if max_bytes is not None and len(data) > max_bytes and records_in_file > 1:
            oversize.append(os.path.basename(name))
        for line in lines:
            parsed = parse(line) if line else None
            if parsed is None:
                torn += 1
                continue
            writer, seq = parsed
            if writer not in seen or not 0 <= seq < expected[writer]:
                unexpected += 1
            elif seq in seen[writer]:
                duplicated[writer] = duplicated.get(writer, 0) + 1
            else:
                if seq < highest.get(writer, -1):
                    out_of_order[writer] = out_of_order.get(writer, 0) + 1
                seen[writer].add(seq)
                highest[writer] = max(seq, highest.get(writer, -1))
    lost = {writer: expected[writer] - len(seqs) for writer, seqs in seen.items() if expected[writer] > len(seqs)}
    return Verification(
        expected=sum(expected.values()),
        found=sum(len(seqs) for seqs in seen.values()),
        lost=sum(lost.values()),
        duplicated=sum(duplicated.values()),
        out_of_order=sum(out_of_order.values()),
        torn_lines=torn,
        cut_tails=cut,
        unexpected=unexpected,
        oversize_files=tuple(oversize),
        empty_files=tuple(empty),
        files=tuple(os.path.basename(name) for _, name in paths),
        losses_explained_by_backup_count=_losses_explained(lost, seen, paths, backup_count),
        lost_by_writer=types.MappingProxyType(lost),
        duplicated_by_writer=types.MappingProxyType(duplicated),
        out_of_order_by_writer=types.MappingProxyType(out_of_order),
    )


def _losses_explained(
    lost: Mapping[object, int],
    seen: Mapping[object, set[int]],
    files: list[tuple[int, str]],
    backup_count: int | None,
) -> bool:
    """True if every loss is an oldest-first prefix that a full backup chain deleted."""
    if not lost:
        return True
    if backup_count is None:
        return False
    indexes = {index for index, _ in files}
    if not all(index in indexes for index in range(1, backup_count + 1)):
        return False
    # Lost records of a writer form a prefix 0..k-1 exactly when the found ones are k..n-1.
    return all(not seen[writer] or min(seen[writer]) == count for writer, count in lost.items())
