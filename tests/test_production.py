"""Drop-in for production, for every writing backend: dictConfig, streams, run-time level, sampling, pressure.

Parametrized over the registry (``backend`` fixture of conftest); nothing here names a backend.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, WRITING_BACKENDS, read_records

import loggers
from loggers._policies import pressure as _pressure
from scenarios._slow_sink import SlowFifoSink


def _queued(backend: str) -> bool:
    return "on_pressure" in loggers.backend_class(backend).accepts


QUEUED_BACKENDS = tuple(name for name in WRITING_BACKENDS if _queued(name))


def _run_child(code: str, *, shell_tail: str = "", timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run ``code`` in a fresh interpreter (``| shell_tail`` appended through bash when given)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = textwrap.dedent(code)
    if not shell_tail:
        return subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, timeout=timeout, check=False)
    command = f'set -o pipefail; "$0" -c "$1" | {shell_tail}'
    return subprocess.run(["bash", "-c", command, sys.executable, script], capture_output=True, env=env,
                          timeout=timeout, check=False)


# -- 1. dictConfig ---------------------------------------------------------------------------------------


def test_dictconfig_handler_owns_its_logger(backend: str, log_path: Path) -> None:
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"app": {"class": "loggers.Handler", "backend": backend, "path": str(log_path), "level": "INFO"}},
        "loggers": {f"prod.{backend}": {"handlers": ["app"], "level": "DEBUG", "propagate": False}},
    })
    std = logging.getLogger(f"prod.{backend}")
    (handler,) = std.handlers
    assert isinstance(handler, loggers.Handler) and handler.logger.level == logging.INFO
    std.debug("filtered by the handler's level")
    std.info("hello %s", "world", extra={"user": 7, "ok": True})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        std.exception("failed", stack_info=True)
    handler.setLevel("DEBUG")  # the owned logger follows
    std.debug("now kept")
    owned = handler.logger
    logging.shutdown([lambda: handler])  # what logging does at exit, for this handler
    assert owned.closed
    first, second, third = read_records(log_path)
    assert first["msg"] == "hello world" and first["user"] == 7 and first["ok"] is True
    assert first["logger"] == f"prod.{backend}" and first["level"] == "INFO"
    assert second["level"] == "ERROR" and "RuntimeError: boom" in str(second["exc"])
    assert "test_dictconfig_handler_owns_its_logger" in str(second["stack"])
    assert third["msg"] == "now kept" and third["level"] == "DEBUG"
    stats = owned.stats()
    assert stats["emitted"] == stats["written"] == 3


def test_dictconfig_program_in_a_fresh_interpreter(backend: str, log_path: Path) -> None:
    """A program configured only by dictConfig, ending without closing anything: logging.shutdown drains it."""
    result = _run_child(f"""
        import logging, logging.config
        logging.config.dictConfig({{
            "version": 1,
            "handlers": {{"app": {{"class": "loggers.Handler", "backend": {backend!r}, "path": {str(log_path)!r},
                                   "level": "INFO", "sample": {{"DEBUG": 0.5}}}}}},
            "root": {{"handlers": ["app"], "level": "DEBUG"}},
        }})
        log = logging.getLogger("app")
        for i in range(500):
            log.info("request", extra={{"i": i}})
    """)
    assert result.returncode == 0, result.stderr.decode()
    assert [r["i"] for r in read_records(log_path)] == list(range(500))


def test_dictconfig_bad_option_fails_at_configuration(backend: str, log_path: Path) -> None:
    config = {"version": 1, "handlers": {"h": {"class": "loggers.Handler", "backend": backend, "path": str(log_path),
                                                "no_such_option": 1}}}
    with pytest.raises(ValueError, match="Unable to configure handler 'h'") as failure:
        logging.config.dictConfig(config)
    assert isinstance(failure.value.__cause__, TypeError) and "no_such_option" in str(failure.value.__cause__)


# -- 2. streams ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_stream_output_from_every_process(backend: str, stream: str) -> None:
    result = _run_child(f"""
        import loggers, sys
        log = loggers.create({backend!r}, stream={stream!r})
        for i in range(200):
            log.info("to the stream", i=i)
        log.close()
        assert log.stats()["written"] == 200, log.stats()
    """)
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout if stream == "stdout" else result.stderr
    records = [json.loads(line) for line in out.splitlines() if line.startswith(b'{"ts"')]
    assert [r["i"] for r in records] == list(range(200))


def test_stream_options_are_checked(backend: str, log_path: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes.*stream|stream.*max_bytes|rotated"):
        loggers.create(backend, stream="stdout", max_bytes=1000)
    with pytest.raises(ValueError, match="not both"):
        loggers.create(backend, path=log_path, stream="stdout")
    with pytest.raises(ValueError, match="stream"):
        loggers.create(backend, stream="stdlog")
    with loggers.create(backend, stream=sys.__stderr__) as log:  # a stream object on fd 2 is taken
        assert log.options.stream == "stderr"


def test_reader_that_goes_away_never_hurts_the_application(backend: str) -> None:
    """``python app.py | head -1``: the app goes on, exits 0, and emitted == written + dropped."""
    result = _run_child(f"""
        import json, sys, time, loggers
        log = loggers.create({backend!r}, stream="stdout")
        for round in range(3):
            for i in range(20000):
                log.info("line", round=round, i=i, pad="x" * 40)
            log.flush(timeout=10)
            time.sleep(0.1)
        log.close()
        sys.stderr.write("STATS " + json.dumps(log.stats()) + "\\n")
    """, shell_tail="head -1")
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout)["i"] == 0
    stats = json.loads(result.stderr.split(b"STATS ")[1])
    assert stats["emitted"] == 60000
    assert stats["emitted"] == stats["written"] + stats["dropped"]
    assert stats["dropped"] > 0 and stats["errors"] >= 1


# -- 3. run-time level ---------------------------------------------------------------------------------------


def test_set_level_from_another_thread(backend: str, log_path: Path) -> None:
    with loggers.create(backend, path=log_path, level="INFO") as log:
        log.debug("filtered")
        changer = threading.Thread(target=log.set_level, args=("DEBUG",))
        changer.start()
        changer.join()
        assert log.level == loggers.DEBUG and log.is_enabled_for(loggers.DEBUG)
        log.debug("kept")
        log.set_level(loggers.ERROR)
        log.info("filtered again")
        log.log("WARNING", "filtered too")
        log.error("kept too")
        with pytest.raises(ValueError, match="level"):
            log.set_level("LOUD")
        emitted = log.stats()["emitted"]
    assert [r["msg"] for r in read_records(log_path)] == ["kept", "kept too"]
    assert emitted == 2


# -- 4. sampling -----------------------------------------------------------------------------------------------


def test_sampling_keeps_every_nth_and_never_warnings(backend: str, log_path: Path) -> None:
    std = logging.getLogger(f"sampled.{backend}")
    std.propagate = False
    std.setLevel(logging.DEBUG)
    sample = {"DEBUG": 0.01, "INFO": 0.1, "WARNING": 0.5, "ERROR": 0.01}
    with loggers.create(backend, path=log_path, level="DEBUG", sample=sample) as log:
        for i in range(1000):
            log.debug("d", i=i)
            log.warning("w", i=i)
            log.error("e", i=i)
        for i in range(500):
            log.info("i", i=i)
            log.log(loggers.INFO, "i", i=500 + i)  # the same level: the same counter
        handler = log.handler()
        std.addHandler(handler)
        try:
            for i in range(100):
                std.debug("bridged %d", i)  # the bridge samples too: DEBUG's counter went 1000 -> 1100
        finally:
            std.removeHandler(handler)
        log.set_level("INFO")
        for i in range(50):
            log.debug("filtered, not sampled", i=i)
    stats = log.stats()
    records = read_records(log_path)
    assert [r["i"] for r in records if r["msg"] == "d"] == list(range(0, 1000, 100))
    # info() and log(INFO) alternate on one counter: calls 0, 10, 20 ... are info(0), info(5), info(10) ...
    assert [r["i"] for r in records if r["msg"] == "i"] == list(range(0, 500, 5))
    assert [r["msg"] for r in records if r["msg"].startswith("bridged")] == ["bridged 0"]
    assert len([r for r in records if r["msg"] == "w"]) == 1000
    assert len([r for r in records if r["msg"] == "e"]) == 1000
    assert stats["sampled_out"] == (1100 - 11) + (1000 - 100)
    assert stats["emitted"] == stats["written"] == 11 + 100 + 2000


@pytest.mark.parametrize(
    ("sample", "error", "match"),
    [
        ({"DEBUG": 0}, ValueError, "sample"),
        ({"DEBUG": 1.5}, ValueError, "sample"),
        ({"LOUD": 0.5}, ValueError, "sample"),
        ({"DEBUG": "often"}, TypeError, "sample"),
        ([("DEBUG", 0.1)], TypeError, "sample"),
    ],
)
def test_bad_sample_is_a_clear_error(backend: str, log_path: Path, sample: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        loggers.create(backend, path=log_path, sample=sample)


# -- 5. pressure signals and queue stats -------------------------------------------------------------------


def test_pressure_signals_under_a_stalled_sink(backend: str, tmp_path: Path) -> None:
    if not _queued(backend):
        with pytest.raises(TypeError, match="on_pressure"):
            loggers.create(backend, path=tmp_path / "x.log", on_pressure=print)
        return
    path = str(tmp_path / "fifo.log")
    events: list[dict[str, Any]] = []
    seen_stats: list[dict[str, int]] = []
    threads: set[str] = set()
    log: loggers.Logger

    def on_pressure(event: dict[str, Any]) -> None:
        threads.add(threading.current_thread().name)
        seen_stats.append(log.stats())  # no lock of the logger is held here: this would deadlock otherwise
        events.append(event)

    with SlowFifoSink(path, stall_s=2.5) as sink:
        log = loggers.create(backend, path=path, queue_size=200, overflow="drop_new", on_pressure=on_pressure)
        for i in range(30000):
            log.info("burst", i=i, pad="y" * 60)
        during = log.stats()
        _wait_for(lambda: {"high", "drop"} <= {e["kind"] for e in events}, 2.0)
        kinds_in_stall = [e["kind"] for e in events]
        _wait_for(lambda: "drained" in {e["kind"] for e in events}, 20)
        log.close()
        sink.writers_done()
    stats = log.stats()
    assert "high" in kinds_in_stall and "drop" in kinds_in_stall, events
    kinds = [e["kind"] for e in events]
    assert kinds.count("drop") == 1  # every drop happened within one burst: one episode
    rises = [kind for kind in kinds if kind != "drop"]  # a ring that drained into the pipe may fill again
    assert rises[0] == "high" and all(a != b for a, b in zip(rises, rises[1:])), kinds  # high, drained, high ...
    assert "drained" in [e["kind"] for e in events]
    high = next(e for e in events if e["kind"] == "high")
    assert high["capacity"] == 200 and high["depth"] >= 160
    assert next(e for e in events if e["kind"] == "drop")["dropped"] > 0
    assert threading.current_thread().name not in threads
    assert during["queue_depth"] > 0 and during["oldest_queued_age_ns"] > 0
    assert stats["emitted"] == 30000 == stats["written"] + stats["dropped"] and stats["dropped"] > 0
    assert stats["errors"] == 0 and len(seen_stats) == len(events)


@pytest.mark.parametrize("backend", QUEUED_BACKENDS)
def test_raising_pressure_callback_is_counted_in_errors(backend: str, tmp_path: Path) -> None:
    calls: list[str] = []

    def broken(event: dict[str, Any]) -> None:
        calls.append(event["kind"])
        raise RuntimeError("alerting is down")

    path = str(tmp_path / "fifo.log")
    with SlowFifoSink(path, stall_s=1.0) as sink:
        log = loggers.create(backend, path=path, queue_size=100, overflow="drop_new", on_pressure=broken)
        for i in range(30000):
            log.info("burst", i=i, pad="z" * 60)
        _wait_for(lambda: len(calls) >= 2, 2.0)
        log.info("the application is unharmed")
        log.close()
        sink.writers_done()
    _wait_for(lambda: log.stats()["errors"] == len(calls), 2.0)  # the monitor counts right after the raise
    stats = log.stats()
    assert len(calls) >= 2 and stats["errors"] == len(calls)
    assert stats["emitted"] == stats["written"] + stats["dropped"]


def test_queue_stats_keys_on_every_backend(backend: str, log_path: Path) -> None:
    with loggers.create(backend, path=log_path) as log:
        log.info("x")
        stats = log.stats()
        assert stats["queue_depth"] >= 0 and stats["oldest_queued_age_ns"] >= 0 and stats["sampled_out"] == 0
        log.flush(timeout=10)
        assert log.stats()["queue_depth"] == 0 and log.stats()["oldest_queued_age_ns"] == 0


def test_pressure_rules_rate_limit_and_hysteresis() -> None:
    state = _pressure.PressureState(capacity=100)

    def kinds(depth: int, peak: int, dropped: int, now: float) -> list[str]:
        return [event["kind"] for event in state.update(depth, peak, dropped, now)]

    assert kinds(79, 79, 0, now=0.0) == []
    assert kinds(80, 80, 0, now=0.1) == ["high"]
    assert kinds(100, 100, 0, now=0.2) == []  # already above: once per rise
    assert kinds(50, 100, 0, now=0.25) == []  # not yet below 50%
    assert kinds(49, 100, 0, now=0.3) == ["drained"]
    assert kinds(95, 100, 0, now=0.4) == []  # "high" again within a second: held back ...
    assert kinds(95, 100, 0, now=1.2) == ["high"]  # ... and delivered once allowed, if still true
    assert kinds(60, 100, 3, now=1.3) == ["drop"]
    assert kinds(60, 100, 9, now=1.9) == []  # drops go on: no quiet period in between
    assert kinds(60, 100, 9, now=2.5) == []
    assert kinds(60, 100, 9, now=2.95) == []  # a look that finds a quiet second ...
    assert kinds(60, 100, 10, now=3.0) == ["drop"]  # ... makes the next drop a new episode
    assert kinds(60, 100, 11, now=3.5) == []
    assert kinds(60, 100, 12, now=6.0) == []  # no look in between (monitor kept waiting): same episode
    burst = _pressure.PressureState(capacity=100)
    assert [e["kind"] for e in burst.update(5, 100, 0, now=0.0)] == ["high"]  # filled and emptied between looks


def _wait_for(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
