"""``null``: accepts every call and does nothing — the baseline for overhead.

Writes nothing, counts nothing (``stats()`` stays all zero), takes no ``path``.
A call still pays the level check and the timestamp read that every backend
pays, so ``backend / null - 1`` is the cost of the backend's own work.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._base import Logger
from ._options import Options


class NullBackend(Logger):
    name = "null"
    accepts = frozenset({"path", "level"})
    writes_file = False

    def __init__(self, options: Options) -> None:
        super().__init__(options)

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        pass

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        self._closed = True

    def _counter_values(self) -> dict[str, int]:
        return {}
