"""``loggers._sink.FileSink``: permissions, symlinks, external rotation, lost directories, rotation rules."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import read_lines

import loggers
from loggers._sink import FileSink
from scenarios.verify import verify_log_files


def rec(seq: int, size: int = 40, writer: str = "w") -> bytes:
    """A JSON line of exactly ``size`` bytes (at least ~30) carrying writer and seq."""
    head = f'{{"writer":"{writer}","seq":{seq},"pad":"'
    return (head + "p" * max(0, size - len(head) - 3) + '"}\n').encode()


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    """``logs/app.log`` with its directory made (``create()`` makes it; the bare sink does not)."""
    (tmp_path / "logs").mkdir()
    return tmp_path / "logs" / "app.log"


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def write(sink: FileSink, *lines: bytes) -> int:
    with sink.lock:
        return sink.write_many(lines)


def write_line(sink: FileSink, line: bytes) -> int:
    with sink.lock:
        return sink.write_line(line)


@pytest.mark.parametrize("max_bytes", [None, 1000])
def test_files_are_created_with_mode_0640(log_path: Path, umask_022: None, max_bytes: int | None) -> None:
    sink = FileSink(str(log_path), max_bytes=max_bytes)
    write(sink, rec(0))
    sink.close()
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o640
    if max_bytes is not None:
        assert stat.S_IMODE(Path(f"{log_path}.lock").stat().st_mode) == 0o640


def test_a_symlink_at_the_path_is_refused_at_create(log_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"precious\n")
    log_path.symlink_to(target)
    with pytest.raises(OSError):
        FileSink(str(log_path))
    with pytest.raises(ValueError, match="path: cannot open"):
        loggers.create("sync", path=log_path)
    assert target.read_bytes() == b"precious\n"


@pytest.mark.parametrize("max_bytes", [None, 1000])
def test_a_symlink_planted_later_is_counted_not_followed(
    log_path: Path, tmp_path: Path, max_bytes: int | None
) -> None:
    sink = FileSink(str(log_path), max_bytes=max_bytes)
    assert write(sink, rec(0)) == 1
    target = tmp_path / "target"
    target.write_bytes(b"precious\n")
    os.rename(log_path, f"{log_path}.moved")
    log_path.symlink_to(target)
    assert write(sink, rec(1)) == 0
    assert (sink.errors, sink.dropped, sink.written) == (1, 1, 1)
    assert target.read_bytes() == b"precious\n"
    log_path.unlink()
    assert write(sink, rec(2)) == 1  # the symlink is gone: logging resumes in a new file
    sink.close()
    assert read_lines(log_path) == [rec(2).rstrip(b"\n")]


@pytest.mark.parametrize("max_bytes", [None, 1000])
@pytest.mark.parametrize("one", [write, write_line], ids=["write_many", "write_line"])
def test_an_external_rename_is_noticed_and_reopened(
    log_path: Path, max_bytes: int | None, one: Callable[[FileSink, bytes], int]
) -> None:
    sink = FileSink(str(log_path), max_bytes=max_bytes)
    one(sink, rec(0))
    os.rename(log_path, f"{log_path}.logrotate")  # what logrotate (without copytruncate) does
    one(sink, rec(1))
    sink.close()
    assert read_lines(f"{log_path}.logrotate") == [rec(0).rstrip(b"\n")]
    assert read_lines(log_path) == [rec(1).rstrip(b"\n")]
    assert sink.errors == 0


@pytest.mark.parametrize("max_bytes", [None, 1000])
@pytest.mark.parametrize("one", [write, write_line], ids=["write_many", "write_line"])
def test_a_deleted_file_is_noticed_on_the_next_batch(
    log_path: Path, max_bytes: int | None, one: Callable[[FileSink, bytes], int]
) -> None:
    sink = FileSink(str(log_path), max_bytes=max_bytes)
    one(sink, rec(0))
    log_path.unlink()
    one(sink, rec(1))  # would vanish into the deleted inode without the check
    sink.close()
    assert read_lines(log_path) == [rec(1).rstrip(b"\n")] and sink.written == 2


@pytest.mark.parametrize("max_bytes", [None, 1000])
def test_a_removed_directory_is_recreated(log_path: Path, max_bytes: int | None) -> None:
    sink = FileSink(str(log_path), max_bytes=max_bytes)
    write(sink, rec(0))
    shutil.rmtree(log_path.parent)
    assert write(sink, rec(1)) == 1
    sink.close()
    assert read_lines(log_path) == [rec(1).rstrip(b"\n")]


def test_a_deleted_lock_file_is_replaced_so_old_and_new_sinks_share_one(log_path: Path) -> None:
    old = FileSink(str(log_path), max_bytes=1000)
    write(old, rec(0))
    shutil.rmtree(log_path.parent)
    log_path.parent.mkdir()
    new = FileSink(str(log_path), max_bytes=1000)  # creates a fresh .lock
    write(old, rec(1))
    write(new, rec(2))
    lock_inode = os.stat(f"{log_path}.lock").st_ino
    assert os.fstat(old._lock_fd).st_ino == os.fstat(new._lock_fd).st_ino == lock_inode
    old.close()
    new.close()
    assert [line[-5:] for line in read_lines(log_path)] == [rec(1)[-6:-1], rec(2)[-6:-1]]


def test_records_are_never_split_and_backups_never_empty(tmp_path: Path) -> None:
    path, max_bytes = tmp_path / "app.log", 100
    sink = FileSink(str(path), max_bytes=max_bytes, backup_count=50)
    sizes = [250, 40, 40, 40, 99, 100, 101, 35, 300, 300, 60, 41]  # oversize first, exact fits, oversize runs
    batches = [[0], [1, 2, 3], [4, 5, 6, 7, 8, 9], [10, 11]]
    for batch in batches:
        assert write(sink, *(rec(seq, sizes[seq]) for seq in batch)) == len(batch)
    sink.close()
    result = verify_log_files(tmp_path, "app.log", {"w": len(sizes)}, max_bytes=max_bytes, backup_count=50)
    assert result.ok, result.summary()
    per_file = [[len(line) + 1 for line in read_lines(tmp_path / name)] for name in result.files]
    assert per_file == [[250], [40, 40], [40], [99], [100], [101], [35], [300], [300], [60], [41]]
    assert sink.rotations == len(per_file) - 1 and (sink.written, sink.dropped, sink.errors) == (12, 0, 0)


def test_backup_count_zero_keeps_only_the_current_file(tmp_path: Path) -> None:
    sink = FileSink(str(tmp_path / "app.log"), max_bytes=100, backup_count=0)
    write(sink, *(rec(seq, 60) for seq in range(5)))
    sink.close()
    assert sorted(os.listdir(tmp_path)) == ["app.log", "app.log.lock"]
    assert read_lines(tmp_path / "app.log") == [rec(4, 60).rstrip(b"\n")]
    assert sink.rotations == 4


def test_a_torn_tail_left_by_a_killed_writer_is_ended_before_appending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(rec(0) + rec(1)[:17])  # a writer died mid-record
    sink = FileSink(str(path), max_bytes=1000)
    write(sink, rec(2))
    write(sink, rec(3))
    sink.close()
    result = verify_log_files(tmp_path, "app.log", {"w": 4}, max_bytes=1000, backup_count=5)
    assert (result.torn_lines, result.found) == (1, 3)  # the torn fragment, but record 2 is intact
    assert "torn tail" in capsys.readouterr().err


def _short_then(monkeypatch: pytest.MonkeyPatch, then: Callable[[Callable[[int, bytes], int], int, bytes], int]) -> None:
    """``os.write`` writes half of its first call's data; later calls are ``then(real_write, fd, data)``."""
    real = os.write
    calls: list[int] = []

    def fake(fd: int, data: bytes) -> int:
        calls.append(fd)
        if len(calls) == 1:
            return real(fd, bytes(data[: len(data) // 2]))
        return then(real, fd, data)

    monkeypatch.setattr(os, "write", fake)


def test_write_line_finishes_a_short_write(log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sink = FileSink(str(log_path))
    _short_then(monkeypatch, lambda real, fd, data: real(fd, data))
    assert write_line(sink, rec(0)) == 1
    monkeypatch.undo()
    sink.close()
    assert read_lines(log_path) == [rec(0).rstrip(b"\n")] and (sink.written, sink.dropped, sink.errors) == (1, 0, 0)


def test_write_line_cuts_a_short_write_that_fails(log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sink = FileSink(str(log_path))
    assert write_line(sink, rec(0)) == 1

    def full(real: object, fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    _short_then(monkeypatch, full)
    assert write_line(sink, rec(1)) == 0
    monkeypatch.undo()
    assert write_line(sink, rec(2)) == 1  # logging resumes when the disk has room again
    sink.close()
    assert read_lines(log_path) == [rec(0).rstrip(b"\n"), rec(2).rstrip(b"\n")], "the torn half was cut"
    assert (sink.written, sink.dropped, sink.errors) == (2, 1, 1)


@pytest.mark.parametrize("options", [{"max_bytes": 100}, {"fsync": True}, {}])
def test_write_line_counts_as_write_many_does(tmp_path: Path, options: dict[str, object]) -> None:
    sinks = [FileSink(str(tmp_path / f"{name}.log"), **options) for name in ("many", "line")]  # type: ignore[arg-type]
    for seq in range(7):
        write(sinks[0], rec(seq))
        write_line(sinks[1], rec(seq))
    sinks[0].close()
    sinks[1].close()
    write(sinks[0], rec(7))
    write_line(sinks[1], rec(7))
    assert [(s.written, s.dropped, s.errors, s.rotations) for s in sinks] == [(7, 1, 0, 3 if options.get("max_bytes") else 0)] * 2
    for name in ("many", "line"):
        assert sorted(p.name.replace(name, "x") for p in tmp_path.glob(f"{name}.log*")) == sorted(
            p.name.replace("many", "x") for p in tmp_path.glob("many.log*"))


def test_writes_after_close_are_dropped(log_path: Path) -> None:
    sink = FileSink(str(log_path), max_bytes=1000)
    sink.close()
    sink.close()
    assert write(sink, rec(0), rec(1)) == 0 and sink.dropped == 2 and sink.errors == 0
