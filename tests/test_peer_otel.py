"""``otel-batch`` (``harness/peers/_otel.py``): what OpenTelemetry's batch processor does to the counts."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the peers extra is not installed (pip install -e '.[peers]')")

from conftest import ROOT

from harness import peers
from harness.peers._otel import SDK_BATCH_SIZE, batch_settings, stdlib_level
from loggers._options import Options


def seqs_in(path: Path) -> list[int]:
    return [json.loads(line)["seq"] for line in path.read_bytes().splitlines()]


def test_a_full_queue_evicts_the_oldest_and_every_loss_is_counted_after_close(tmp_path: Path) -> None:
    """A burst into an 8-record queue while the exporter is stuck: drops > 0, emitted == written + dropped."""
    path = tmp_path / "app.log"
    log = peers.create_peer("otel-batch", path=path, queue_size=8)
    sink = log._exporter.sink  # type: ignore[attr-defined]
    with sink.lock:  # the worker's first export waits here: the queue fills and overflows
        for seq in range(3000):
            log.info("burst", writer=0, seq=seq)
    during = log.stats()  # (not under sink.lock: stats() reads the sink's counters under it)
    log.close()
    stats = log.stats()
    written = seqs_in(path)
    assert stats["emitted"] == 3000 and stats["dropped"] > 0
    assert stats["emitted"] == stats["written"] + stats["dropped"]
    assert stats["written"] == len(written) < 3000
    assert written == sorted(set(written)) and written[-1] == 2999  # drop_old: the newest records survive
    assert during["emitted"] == 3000 and during["dropped"] == 0  # evictions are not visible before close (docstring)


def test_close_racing_threads_counts_every_record(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    log = peers.create_peer("otel-batch", path=path, queue_size=64)
    stop = threading.Event()

    def produce(writer: int) -> None:
        seq = 0
        while not stop.is_set():
            log.info("t", writer=writer, seq=seq)
            seq += 1

    threads = [threading.Thread(target=produce, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    threading.Event().wait(0.1)
    log.close()
    stop.set()
    for thread in threads:
        thread.join()
    stats = log.stats()
    assert stats["written"] == len(seqs_in(path)) > 0
    assert stats["emitted"] == stats["written"] + stats["dropped"]


def test_options_map_to_the_processor_or_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    assert batch_settings({}, Options()) == {}  # the SDK's own defaults (2048 / 512 / its schedule delay)
    assert batch_settings({"queue_size": 4}, Options(queue_size=4)) == {"max_queue_size": 4, "max_export_batch_size": 4}
    assert batch_settings({"queue_size": 4096}, Options(queue_size=4096)) == {"max_queue_size": 4096}
    assert batch_settings({"batch_size": 100, "flush_interval": 0.25}, Options(batch_size=100, flush_interval=0.25)) == {
        "max_export_batch_size": 100, "schedule_delay_millis": 250.0,
    }
    assert SDK_BATCH_SIZE == 512
    for overflow in ("block", "drop_new"):
        with pytest.raises(ValueError, match="overflow.*oldest"):
            peers.create_peer("otel-batch", path=path, overflow=overflow)
    with pytest.raises(ValueError, match="batch_size"):
        peers.create_peer("otel-batch", path=path, queue_size=10, batch_size=20)
    for option, value in (("max_bytes", 4096), ("backup_count", 2), ("fsync", True)):
        with pytest.raises(TypeError, match=f"'{option}' not supported by otel-batch"):
            peers.create_peer("otel-batch", path=path, **{option: value})
    peers.create_peer("otel-batch", path=path, queue_size=16, overflow="drop_old", batch_size=8, flush_interval=0.01).close()


@pytest.mark.filterwarnings("ignore:Log record attributes were dropped")  # the SDK's own warning, expected here
def test_truncated_attributes_are_counted_as_errors(tmp_path: Path) -> None:
    """The SDK keeps at most 128 attributes (code.* included) and drops the oldest: an error, not silence."""
    path = tmp_path / "app.log"
    with peers.create_peer("otel-batch", path=path) as log:
        log.info("wide", **{f"f{i}": i for i in range(200)})
        log.info("narrow", seq=1)
    (wide, narrow) = [json.loads(line) for line in path.read_bytes().splitlines()]
    assert 0 < len(wide) - 3 < 200 and "f199" in wide and "f0" not in wide
    assert narrow["seq"] == 1
    assert log.stats()["errors"] == 1 and log.stats()["written"] == 2


def test_levels_read_back_from_what_the_handler_kept() -> None:
    assert [stdlib_level(t, None) for t in ("DEBUG", "INFO", "WARN", "ERROR", "FATAL", "Level 45")] == [10, 20, 30, 40, 50, 45]


def test_peers_share_no_global_provider(tmp_path: Path) -> None:
    from opentelemetry import _logs
    from opentelemetry.sdk._logs import LoggerProvider

    first = peers.create_peer("otel-batch", path=tmp_path / "a.log")
    second = peers.create_peer("otel-batch", path=tmp_path / "b.log")
    first.info("a", seq=0)
    second.info("b", seq=1)
    first.close()
    second.close()
    assert seqs_in(tmp_path / "a.log") == [0] and seqs_in(tmp_path / "b.log") == [1]
    assert not isinstance(_logs.get_logger_provider(), LoggerProvider)


EXIT_CHILD = """
import sys
from harness import peers
log = peers.create_peer("otel-batch", path=sys.argv[1])
for seq in range(1500):
    log.info("exit", writer=0, seq=seq)
"""


def test_drained_at_interpreter_exit(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    subprocess.run([sys.executable, "-c", EXIT_CHILD, str(path)], cwd=ROOT, timeout=60, check=True)
    assert seqs_in(path) == list(range(1500))


@pytest.mark.slow
def test_slow_disk_fault_judges_drop_old_and_notes_the_refused_policies() -> None:
    """The SDK's queue can only evict the oldest: block/drop_new are refused at create, drop_old is judged."""
    from scenarios import faults

    outcome = faults._run_isolated("slow_disk", peers.peer_factory("otel-batch"))
    assert outcome.applicable and outcome.ok, outcome.detail
    assert "block: refused at create" in outcome.detail and "drop_new: refused at create" in outcome.detail
    assert "drop_old: " in outcome.detail and " 0 dropped" not in outcome.detail
