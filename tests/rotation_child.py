"""Child-process entry points for tests/test_rotation.py (spawned; not a test module).

``write_records`` runs in a ``multiprocessing`` "spawn" child; run as a script
(``python rotation_child.py kill-loop ...``) it logs until it is killed, printing
after each flushed batch how many records are durable so far.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import loggers  # noqa: E402

Factory = Callable[..., loggers.Logger]


def message(writer: str, seq: int) -> str:
    """A message whose length (and so record size) varies with the writer and seq."""
    return "m" * ((seq * 7 + len(writer) * 13) % 90) + "é" * (seq % 3)


def write_records(
    factory: Factory, path: str, options: dict[str, Any], name: str, threads: int, count: int,
    start: Any, stats_path: str,
) -> None:
    """Log ``count`` records from each of ``threads`` threads (writers ``name/t``), then close.

    Waits on ``start`` (a multiprocessing Event) so all processes begin together;
    writes the logger's ``stats()`` as JSON to ``stats_path``.
    """
    log = factory(path=path, **options)
    start.wait(30)

    def run(writer: str) -> None:
        for seq in range(count):
            log.info(message(writer, seq), writer=writer, seq=seq)

    workers = [threading.Thread(target=run, args=(f"{name}/{t}",)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    log.close()
    with open(stats_path, "w") as f:
        json.dump(log.stats(), f)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {"msg": record.getMessage(), "writer": record.__dict__["writer"], "seq": record.__dict__["seq"]},
            ensure_ascii=False,
        )


def stdlib_rotating_logger(path: str, name: str, max_bytes: int, backup_count: int) -> logging.Logger:
    """A stdlib logger with its own ``RotatingFileHandler`` on ``path`` (JSON lines, UTF-8)."""
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
    handler.setFormatter(_JsonFormatter())
    logger = logging.getLogger(f"logbench.rotation-test.{name}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def write_stdlib_records(path: str, name: str, count: int, max_bytes: int, backup_count: int, start: Any) -> None:
    """The stdlib counterpart of ``write_records`` (one thread)."""
    logger = stdlib_rotating_logger(path, name, max_bytes, backup_count)
    start.wait(30)
    for seq in range(count):
        logger.info(message(name, seq), extra={"writer": name, "seq": seq})
    for handler in logger.handlers:
        handler.close()


def kill_loop(backend: str, path: str, max_bytes: int, backup_count: int, writer: str) -> None:
    """Log batches of 5 records, flush, print the durable count; until killed (or 100k records)."""
    log = loggers.create(backend, path=path, max_bytes=max_bytes, backup_count=backup_count)
    seq = 0
    while seq < 100_000:
        for _ in range(5):
            log.info(message(writer, seq), writer=writer, seq=seq)
            seq += 1
        if not log.flush(timeout=10):
            raise SystemExit("flush timed out")
        sys.stdout.write(f"{seq}\n")
        sys.stdout.flush()
    log.close()


if __name__ == "__main__":
    if sys.argv[1] != "kill-loop":
        raise SystemExit(f"unknown command {sys.argv[1]!r}")
    kill_loop(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
