"""The rotation verifier finds each kind of defect planted in a clean set of files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenarios.verify import parse_json_line, verify_log_files

BASE = "app.log"


def line(writer: object, seq: int, pad: int = 0) -> bytes:
    return json.dumps({"msg": "x" * pad, "writer": writer, "seq": seq}).encode() + b"\n"


def write_files(directory: Path, files: dict[str, list[bytes]]) -> None:
    for name, lines in files.items():
        (directory / name).write_bytes(b"".join(lines))


def clean_layout() -> dict[str, list[bytes]]:
    """Writers "a" (6 records) and "b" (3) interleaved over base + 2 backups, oldest in .2."""
    return {
        "app.log.2": [line("a", 0), line("b", 0), line("a", 1)],
        "app.log.1": [line("a", 2), line("b", 1), line("a", 3)],
        "app.log": [line("a", 4), line("b", 2), line("a", 5)],
        "app.log.lock": [],
        "other.log": [b"not a record\n"],
    }


EXPECTED = {"a": 6, "b": 3}


def test_clean_files_verify_ok(tmp_path: Path) -> None:
    write_files(tmp_path, clean_layout())
    result = verify_log_files(tmp_path, BASE, EXPECTED, max_bytes=200, backup_count=2)
    assert result.ok, result.defects()
    assert (result.expected, result.found, result.lost) == (9, 9, 0)
    assert result.files == ("app.log.2", "app.log.1", "app.log")
    assert result.losses_explained_by_backup_count
    assert result.defects() == []


def test_detects_a_lost_line(tmp_path: Path) -> None:
    layout = clean_layout()
    del layout["app.log.1"][1]  # b/1
    write_files(tmp_path, layout)
    result = verify_log_files(tmp_path, BASE, EXPECTED, backup_count=2)
    assert result.lost == 1 and dict(result.lost_by_writer) == {"b": 1}
    assert not result.losses_explained_by_backup_count and not result.ok
    assert any("lost" in d for d in result.defects())


def test_detects_a_duplicate_across_files(tmp_path: Path) -> None:
    layout = clean_layout()
    layout["app.log"].insert(0, line("a", 3))
    write_files(tmp_path, layout)
    result = verify_log_files(tmp_path, BASE, EXPECTED)
    assert result.duplicated == 1 and dict(result.duplicated_by_writer) == {"a": 1}
    assert result.lost == 0 and not result.ok


@pytest.mark.parametrize("torn", [b'{"writer": "a", "se', b"", b"\xff\xfe garbage"])
def test_detects_a_torn_line(tmp_path: Path, torn: bytes) -> None:
    layout = clean_layout()
    layout["app.log.1"].insert(1, torn + b"\n")
    write_files(tmp_path, layout)
    result = verify_log_files(tmp_path, BASE, EXPECTED)
    assert result.torn_lines == 1 and result.cut_tails == 0 and not result.ok


def test_detects_a_last_line_without_newline(tmp_path: Path) -> None:
    layout = clean_layout()
    layout["app.log"][-1] = layout["app.log"][-1].rstrip(b"\n")
    write_files(tmp_path, layout)
    result = verify_log_files(tmp_path, BASE, EXPECTED)
    assert result.torn_lines == 1 and result.cut_tails == 1 and result.lost == 1 and not result.ok


def test_detects_reordering_within_and_across_files(tmp_path: Path) -> None:
    layout = clean_layout()
    layout["app.log.1"], layout["app.log"] = layout["app.log"], layout["app.log.1"]  # across files
    write_files(tmp_path, layout)
    result = verify_log_files(tmp_path, BASE, EXPECTED)
    assert result.out_of_order == 3 and dict(result.out_of_order_by_writer) == {"a": 2, "b": 1}
    assert result.lost == 0 and result.duplicated == 0 and not result.ok

    layout = clean_layout()
    layout["app.log"].reverse()  # within one file: a5 b2 a4 -> a4 follows a5
    write_files(tmp_path, layout)
    assert verify_log_files(tmp_path, BASE, EXPECTED).out_of_order == 1


def test_detects_an_oversize_file_but_allows_one_big_record(tmp_path: Path) -> None:
    layout = clean_layout()
    write_files(tmp_path, layout)
    biggest = max(len(b"".join(lines)) for lines in layout.values())
    assert verify_log_files(tmp_path, BASE, EXPECTED, max_bytes=biggest).ok
    result = verify_log_files(tmp_path, BASE, EXPECTED, max_bytes=biggest - 1)
    assert result.oversize_files and not result.ok

    layout = clean_layout()
    layout["app.log.3"] = [line("x", 0, pad=500)]  # one record larger than max_bytes, alone
    write_files(tmp_path, layout)
    result = verify_log_files(tmp_path, BASE, {**EXPECTED, "x": 1}, max_bytes=200)
    assert result.oversize_files == () and result.ok, result.defects()


def test_detects_an_empty_backup_but_not_an_empty_base(tmp_path: Path) -> None:
    layout = clean_layout()
    layout["app.log.3"] = []
    write_files(tmp_path, layout)
    result = verify_log_files(tmp_path, BASE, EXPECTED)
    assert result.empty_files == ("app.log.3",) and not result.ok

    del layout["app.log.3"]
    (tmp_path / "app.log.3").unlink()
    (tmp_path / "app.log.0").write_bytes(b"")  # not a backup name: ignored
    layout["app.log.1"] += layout.pop("app.log")
    layout["app.log"] = []
    write_files(tmp_path, layout)
    assert verify_log_files(tmp_path, BASE, EXPECTED).ok


def test_detects_unexpected_records(tmp_path: Path) -> None:
    layout = clean_layout()
    layout["app.log"] += [line("c", 0), line("a", 6), line("a", -1)]
    write_files(tmp_path, layout)
    result = verify_log_files(tmp_path, BASE, EXPECTED)
    assert result.unexpected == 3 and not result.ok


def test_losses_explained_only_by_oldest_first_deletion_of_a_full_chain(tmp_path: Path) -> None:
    layout = clean_layout()
    del layout["app.log.2"]  # a0 b0 a1 deleted: a prefix of each writer
    write_files(tmp_path, layout)
    assert verify_log_files(tmp_path, BASE, EXPECTED, backup_count=1).ok
    explained = verify_log_files(tmp_path, BASE, EXPECTED, backup_count=1)
    assert explained.lost == 3 and explained.losses_explained_by_backup_count
    # the chain is not full for backup_count=2: nothing could have been deleted
    assert not verify_log_files(tmp_path, BASE, EXPECTED, backup_count=2).ok
    assert not verify_log_files(tmp_path, BASE, EXPECTED).ok  # backup_count unknown

    (tmp_path / "app.log.1").write_bytes(line("a", 2) + line("b", 1))  # a3 gone: not a prefix of a
    result = verify_log_files(tmp_path, BASE, EXPECTED, backup_count=1)
    assert not result.losses_explained_by_backup_count and not result.ok


def test_a_gap_left_by_a_crash_keeps_reading_order(tmp_path: Path) -> None:
    layout = clean_layout()
    layout["app.log.3"] = layout.pop("app.log.2")
    write_files(tmp_path, layout)
    result = verify_log_files(tmp_path, BASE, EXPECTED, backup_count=3)
    assert result.files == ("app.log.3", "app.log.1", "app.log") and result.ok


def test_custom_parser_reads_other_formats(tmp_path: Path) -> None:
    (tmp_path / BASE).write_bytes(b"w1 0\nw1 1\nbroken\nw1 1\n")

    def parse(raw: bytes) -> tuple[object, int] | None:
        parts = raw.split()
        return (parts[0].decode(), int(parts[1])) if len(parts) == 2 else None

    result = verify_log_files(tmp_path, BASE, {"w1": 3}, parse_line=parse)
    assert (result.found, result.lost, result.torn_lines, result.duplicated) == (2, 1, 1, 1)


def test_default_parser_rejects_non_records() -> None:
    assert parse_json_line(line(7, 3)) == (7, 3)
    for raw in (b"[1]", b'{"writer": "a"}', b'{"writer": "a", "seq": "1"}', b'{"writer": [1], "seq": 1}', b"{"):
        assert parse_json_line(raw) is None


def test_rejects_a_bad_expected_count(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected"):
        verify_log_files(tmp_path, BASE, {"a": -1})


# -- explicit file lists (a backend's ``Logger.log_files`` hook) -------------------------------


def test_explicit_files_are_read_in_the_given_order(tmp_path: Path) -> None:
    """Rotated names the scan does not know (loguru's ``app.<timestamp>.log``) are read when listed."""
    write_files(tmp_path, {
        "app.2024-01-01_00-00-00.log": [line("a", 0), line("b", 0), line("a", 1)],
        "app.2024-01-01_00-00-01.log": [line("a", 2), line("b", 1), line("a", 3)],
        "app.log": [line("a", 4), line("b", 2), line("a", 5)],
    })
    names = ["app.2024-01-01_00-00-00.log", "app.2024-01-01_00-00-01.log", "app.log"]
    assert verify_log_files(tmp_path, BASE, EXPECTED).lost == 6  # the scan sees only app.log
    result = verify_log_files(tmp_path, BASE, EXPECTED, files=[str(tmp_path / n) for n in names], backup_count=2)
    assert result.ok and result.found == 9 and result.files == tuple(names)
    swapped = verify_log_files(tmp_path, BASE, EXPECTED, files=[names[1], names[0], names[2]])
    assert swapped.out_of_order == 3 and not swapped.ok  # names relative to the directory work too


def test_explicit_files_base_is_last_and_backup_count_counts_backups(tmp_path: Path) -> None:
    write_files(tmp_path, {"old.log": [], "new.log": [line("a", 5)], "app.log": []})
    result = verify_log_files(tmp_path, BASE, {"a": 6}, files=["old.log", "new.log", "app.log"], backup_count=2)
    assert result.empty_files == ("old.log",)  # an empty backup is a defect, an empty current file is not
    assert result.lost == 5 and result.losses_explained_by_backup_count  # 2 backups kept: oldest deleted
    short = verify_log_files(tmp_path, BASE, {"a": 6}, files=["new.log", "app.log"], backup_count=2)
    assert not short.losses_explained_by_backup_count


def test_default_log_files_hook_lists_the_numbered_chain_oldest_first(tmp_path: Path) -> None:
    import loggers

    path = tmp_path / BASE
    assert loggers.Logger.log_files(path) == []
    with loggers.create("sync", path=path, max_bytes=300, backup_count=100) as log:
        for seq in range(40):
            log.info("r", writer="a", seq=seq, pad="x" * 40)
    files = loggers.Logger.log_files(path)
    assert len(files) > 3 and files[-1] == str(path)
    assert files[:-1] == [str(path) + f".{i}" for i in range(len(files) - 1, 0, -1)]
    assert type(log).line_parser is None and type(log).log_files(path) == files
    scanned = verify_log_files(tmp_path, BASE, {"a": 40})
    listed = verify_log_files(tmp_path, BASE, {"a": 40}, files=files)
    assert scanned == listed and listed.ok


@pytest.mark.parametrize(("mode", "garbage_inside", "defect"), [
    ("sigkill", False, False),  # only the tail cut by the kill: reported, not a defect
    ("sigkill", True, True),  # a torn line inside the file is a defect
    ("normal", False, True),  # a graceful exit must leave no cut tail
])
def test_crash_judges_a_tail_cut_by_the_kill_apart_from_torn_lines(
    tmp_path: Path, mode: str, garbage_inside: bool, defect: bool
) -> None:
    from scenarios import crash
    from scenarios._proc import BackendInfo

    lines = [b'{"writer": 0, "seq": %d}\n' % seq for seq in range(10)]
    if garbage_inside:
        lines.insert(5, b"\xff garbage\n")
    (tmp_path / crash.LOG_NAME).write_bytes(b"".join(lines) + b'{"writer": 0, "se')
    info = BackendInfo("thread-queue", frozenset(), True, "flushed")
    counted = crash._count(str(tmp_path), info, mode, returned=10, flushed=9, ending="SIGKILL after 0.1 s",
                           quiet=True, code=-9, parse_line=None)
    assert counted["defect"] is defect, counted["detail"]
    assert counted["lost"] == 1 and counted["torn"] == 1 + garbage_inside
