"""``sync``: encode and write each record before the call returns — the baseline.

Blocking: the caller encodes and calls ``os.write`` under the sink lock, so it
waits for the disk's page cache and for other threads' writes. No user-space
buffer: a record whose call has returned is in the kernel and survives a
SIGKILL of the process (not a power loss, unless ``fsync=True``).
Thread-safe; ``flush`` has nothing to do; after ``close`` calls are counted as
dropped. After ``fork`` the child keeps writing to the same file.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._base import Counters, Logger, combined_stats
from ._encoder import JsonLinesEncoder
from ._options import COMMON_OPTIONS, Options
from ._sink import FileSink


class SyncBackend(Logger):
    name = "sync"
    accepts = COMMON_OPTIONS | {"fsync"}
    crash_durability = "returned"

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        assert options.path is not None
        self._sink = FileSink(
            options.path, max_bytes=options.max_bytes, backup_count=options.backup_count, fsync=options.fsync
        )
        self._encoder = JsonLinesEncoder()
        self._counters = Counters()

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        with self._sink.lock:
            self._counters.emitted += 1
            if self._closed:
                self._counters.dropped += 1
                return
            line = self._encoder.encode(ts_ns, level, msg, fields)
            self._sink.write_many((line,))

    def _count_bad_call(self) -> None:
        with self._sink.lock:
            self._counters.errors += 1

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        with self._sink.lock:
            self._closed = True
            self._sink.close()

    def _counter_values(self) -> dict[str, int]:
        with self._sink.lock:
            return combined_stats(self._counters, self._encoder, self._sink)

