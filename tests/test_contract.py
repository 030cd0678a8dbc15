"""The contract every writing backend in ``loggers.BACKENDS`` meets (``null``: accepts calls).

A new backend is tested by registering its name; nothing here names one.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import sys
import threading
from typing import Any
from pathlib import Path

import pytest
from conftest import WRITING_BACKENDS, read_lines, read_records

import loggers

TS_PATTERN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_registry_lists_reference_backends() -> None:
    assert {"null", "sync"} <= set(loggers.BACKENDS)
    assert WRITING_BACKENDS and "null" not in WRITING_BACKENDS


def test_round_trip_keeps_messages_fields_and_order(backend: str, log_path: Path) -> None:
    calls = [
        ("info", "user login", {"user_id": 42, "ok": True}),
        ("warning", "disk", {"free": 1.5, "mount": "/var", "tags": ["a", "b"], "none": None}),
        ("error", "nested", {"payload": {"k": [1, {"x": "y"}]}, "z": 0, "a": -1}),
        ("critical", "no fields", {}),
    ]
    with loggers.create(backend, path=log_path, level="DEBUG") as log:
        for method, msg, fields in calls:
            getattr(log, method)(msg, **fields)
        log.debug("last", n=7)
    records = read_records(log_path)
    assert [r["msg"] for r in records] == [c[1] for c in calls] + ["last"]
    assert [r["level"] for r in records] == ["INFO", "WARNING", "ERROR", "CRITICAL", "DEBUG"]
    for record, (_, msg, fields) in zip(records, calls):
        assert list(record) == ["ts", "level", "msg", *fields]
        assert {k: record[k] for k in fields} == fields
        assert TS_PATTERN.match(str(record["ts"]))


def test_reserved_field_names_never_overwrite(backend: str, log_path: Path) -> None:
    with loggers.create(backend, path=log_path) as log:
        log.info("x", msg=1, level=2, ts=3)
    (record,) = read_records(log_path)
    assert record["msg"] == "x" and record["level"] == "INFO" and TS_PATTERN.match(str(record["ts"]))
    assert (record["_msg"], record["_level"], record["_ts"]) == (1, 2, 3)


def test_hostile_text_stays_one_valid_line(backend: str, log_path: Path) -> None:
    nasty = "a\nb\r\nc\x00d\x1b[31mred\u2028e\u2029f\udc80g\ud800"
    with loggers.create(backend, path=log_path) as log:
        log.info(nasty, value=nasty, **{"key\nwith newline": nasty})
        log.info(12345, obj=object(), nan=float("nan"))
    lines = read_lines(log_path)
    assert len(lines) == 2
    assert all(line.isascii() and b"\x1b" not in line and b"\r" not in line for line in lines)
    first, second = read_records(log_path)
    assert first["msg"] == nasty and first["value"] == nasty and first["key\nwith newline"] == nasty
    assert second["msg"] == "12345" and second["nan"] == "nan" and str(second["obj"]).startswith("<object")


def test_level_filtering(backend: str, log_path: Path) -> None:
    with loggers.create(backend, path=log_path, level="warning") as log:
        log.debug("d")
        log.info("i")
        log.log(25, "between")
        log.log("INFO", "by name")
        log.warning("w")
        log.log("error", "e")
        log.log(45, "custom")
        log.critical("c")
        emitted = log.stats()["emitted"]
    assert [r["msg"] for r in read_records(log_path)] == ["w", "e", "custom", "c"]
    assert [r["level"] for r in read_records(log_path)] == ["WARNING", "ERROR", "LEVEL45", "CRITICAL"]
    assert emitted == 4


def test_flush_makes_earlier_records_readable(backend: str, log_path: Path) -> None:
    with loggers.create(backend, path=log_path) as log:
        for i in range(100):
            log.info("r", i=i)
        assert log.flush(timeout=10) is True
        assert [r["i"] for r in read_records(log_path)] == list(range(100))


def test_close_is_idempotent_and_later_calls_are_counted_drops(backend: str, log_path: Path) -> None:
    log = loggers.create(backend, path=log_path)
    log.info("before")
    log.close()
    log.close()
    assert log.closed
    log.info("after")
    log.error("after", x=1)
    log.log("INFO", "after")
    assert log.flush(timeout=1) in (True, False)
    stats = log.stats()
    assert [r["msg"] for r in read_records(log_path)] == ["before"]
    assert stats["emitted"] == 4 and stats["written"] == 1 and stats["dropped"] == 3


def test_context_manager_closes(backend: str, log_path: Path) -> None:
    with loggers.create(backend, path=log_path) as log:
        log.info("inside")
    assert log.closed
    assert len(read_records(log_path)) == 1


def test_stats_counters(backend: str, log_path: Path) -> None:
    log = loggers.create(backend, path=log_path, level="INFO")
    for _ in range(10):
        log.info("x")
    log.debug("filtered")
    log.log("NOT-A-LEVEL", "bad level is an error, not an exception")
    log.close()
    stats = log.stats()
    assert set(loggers.STAT_KEYS) <= set(stats)
    assert stats["emitted"] == 10 and stats["written"] == 10 and stats["dropped"] == 0
    assert stats["errors"] == 1 and stats["rotations"] == 0
    assert stats["emitted"] == stats["written"] + stats["dropped"]


def test_stdlib_bridge(backend: str, log_path: Path) -> None:
    std = logging.getLogger(f"bridge.{backend}")
    std.propagate = False
    std.setLevel(logging.DEBUG)
    with loggers.create(backend, path=log_path, level="INFO") as log:
        handler = log.handler()
        std.addHandler(handler)
        try:
            std.debug("filtered by the logbench level")
            std.info("hello %s", "world", extra={"user": 7})
            try:
                raise RuntimeError("boom")
            except RuntimeError:
                std.exception("failed")
        finally:
            std.removeHandler(handler)
    first, second = read_records(log_path)
    assert first["msg"] == "hello world" and first["user"] == 7 and first["logger"] == f"bridge.{backend}"
    assert second["level"] == "ERROR" and "RuntimeError: boom" in str(second["exc"])


@pytest.mark.parametrize("sample", [None, {"DEBUG": 0.5}])
def test_bridge_applies_the_loggers_level_before_any_work(backend: str, log_path: Path, sample: Any) -> None:
    """A record below the logbench logger's level costs no formatting (its ``__str__`` never runs), with
    the bridge's entries inlined (a plain logger) or not (``sample=`` replaces them); the level is read
    per record, so ``set_level`` later lets it through."""
    calls = []

    class Loud:
        def __str__(self) -> str:
            calls.append(1)
            return "loud"

    options = {"sample": sample} if sample else {}
    with loggers.create(backend, path=log_path, level="INFO", **options) as log:
        handler = log.handler()
        record = logging.LogRecord("levels", logging.DEBUG, __file__, 1, "value %s", (Loud(),), None)
        handler.handle(record)
        assert calls == []
        log.set_level("DEBUG")
        handler.handle(record)
        handler.handle(record)  # a sampled DEBUG keeps every second call: at least one of two
    messages = [r["msg"] for r in read_records(log_path)]
    assert messages == (["value loud"] if sample else ["value loud", "value loud"])
    assert len(calls) == len(messages) if sample is None else len(calls) >= 1


def test_bridge_handler_lock_works_where_stdlib_takes_it(backend: str, log_path: Path) -> None:
    """stdlib takes ``handler.lock`` with ``with`` (3.13's ``Handler.handle``, ``setFormatter``) and
    ``acquire``/``release`` (``logging.shutdown``): a ``None`` lock raised there on 3.13."""
    with loggers.create(backend, path=log_path, level="INFO") as log:
        handler = log.handler()
        record = logging.LogRecord("locks", logging.INFO, __file__, 1, "via %s", ("base handle",), None)
        with handler.lock:  # what 3.13's Handler.handle does around emit
            handler.emit(record)
        logging.Handler.handle(handler, record)  # the base class's own path, lock included
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.acquire()
        handler.release()
        handler.flush()
        handler.close()
    assert [r["msg"] for r in read_records(log_path)] == ["via base handle", "via base handle"]


def test_bridge_runs_handler_filters_and_takes_a_replaced_record(backend: str, log_path: Path) -> None:
    def redact(record: logging.LogRecord) -> logging.LogRecord | bool:
        if record.getMessage() == "drop me":
            return False
        copy = logging.makeLogRecord(vars(record))
        copy.msg, copy.args = "redacted", ()
        return copy

    class Capture(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.messages: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.messages.append(record.getMessage())

    std = logging.getLogger(f"bridge-filter.{backend}")
    std.propagate = False
    stdlib_handler = Capture()  # what this interpreter's own Handler.handle does with the same filter
    stdlib_handler.addFilter(redact)
    with loggers.create(backend, path=log_path, level="INFO") as log:
        handler = log.handler()
        handler.addFilter(redact)
        std.addHandler(handler)
        std.addHandler(stdlib_handler)
        try:
            std.warning("drop me")
            std.warning("secret %s", "token")
        finally:
            std.removeHandler(handler)
            std.removeHandler(stdlib_handler)
    expected = ["redacted"] if sys.version_info >= (3, 12) else ["secret token"]  # 3.12: filters may return a record
    assert stdlib_handler.messages == expected
    assert [r["msg"] for r in read_records(log_path)] == expected


def test_concurrent_threads_lose_tear_and_duplicate_nothing(backend: str, log_path: Path) -> None:
    threads_n, per_thread = 8, 2000
    log = loggers.create(backend, path=log_path)
    start = threading.Barrier(threads_n)

    def produce(writer: int) -> None:
        start.wait()
        for seq in range(per_thread):
            log.info("c", writer=writer, seq=seq, pad="x" * (seq % 50))

    workers = [threading.Thread(target=produce, args=(w,)) for w in range(threads_n)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    log.close()
    records = read_records(log_path)
    for writer in range(threads_n):
        assert [r["seq"] for r in records if r["writer"] == writer] == list(range(per_thread))
    stats = log.stats()
    assert stats["emitted"] == stats["written"] == threads_n * per_thread


def test_a_repr_that_logs_is_written_after_its_record_without_deadlock(backend: str, log_path: Path) -> None:
    """Re-entrancy: a value's ``__repr__`` (called while encoding, in the caller or the writer) logs."""
    log = loggers.create(backend, path=log_path)

    class Chatty:
        def __repr__(self) -> str:
            log.info("from repr", seq=1)
            return "chatty"

    log.info("outer", seq=0, value=Chatty())
    assert log.flush(timeout=10)  # a queued backend encodes (and so logs "from repr") by then: not after close
    log.close()
    records = read_records(log_path)
    assert [(r["msg"], r["seq"]) for r in records] == [("outer", 0), ("from repr", 1)]
    assert records[0]["value"] == "chatty"
    stats = log.stats()
    assert stats["emitted"] == stats["written"] == 2


def test_file_mode_respects_0o640_and_umask(backend: str, log_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with loggers.create(backend, path=log_path) as log:
            log.info("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(log_path).st_mode) == 0o640


def test_creates_missing_directories(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "app.log"
    with loggers.create(backend, path=str(path)) as log:
        log.info("hi", a=1)
    assert read_records(path)[0]["a"] == 1


@pytest.mark.parametrize(
    ("options", "error", "names"),
    [
        ({"level": "LOUD"}, ValueError, "level"),
        ({"level": -1}, ValueError, "level"),
        ({"level": 1.5}, TypeError, "level"),
        ({"max_bytes": -5}, ValueError, "max_bytes"),
        ({"max_bytes": 0}, ValueError, "max_bytes"),
        ({"backup_count": -1}, ValueError, "backup_count"),
        ({"backup_count": "3"}, TypeError, "backup_count"),
        ({"no_such_option": 1}, TypeError, "no_such_option"),
    ],
)
def test_bad_options_name_the_option(backend: str, log_path: Path, options: dict[str, object], error: type, names: str) -> None:
    with pytest.raises(error, match=names):
        loggers.create(backend, path=log_path, **options)


def test_bad_paths_are_clear_errors(backend: str, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ValueError, match="path"):
        loggers.create(backend, path=blocker / "app.log")
    with pytest.raises(ValueError, match="path"):
        loggers.create(backend, path=tmp_path)
    with pytest.raises(TypeError, match="path"):
        loggers.create(backend)
    with pytest.raises(TypeError, match="path"):
        loggers.create(backend, path=42)


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown backend 'nope'.*sync"):
        loggers.create("nope", path="x.log")


def test_null_accepts_every_call(tmp_path: Path) -> None:
    with loggers.create("null") as log:
        log.debug("d", a=1)
        log.info("i", msg=1, level=2)
        log.warning("w")
        log.error("e")
        log.critical("c")
        log.log("INFO", "l")
        log.log(99, object())
        log.log("bogus", "x")
        logging.getLogger("null-bridge").addHandler(log.handler())
        assert log.flush() is True
    log.info("after close")
    assert set(loggers.STAT_KEYS) <= set(log.stats())
    assert list(tmp_path.iterdir()) == []
