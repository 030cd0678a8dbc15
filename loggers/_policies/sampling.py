"""Sampling by level: keep every n-th record of a sampled level, deterministically.

``sample={"DEBUG": 0.01, "INFO": 0.1}`` (validated by ``_options.parse_sample``
into ``(level, n)`` pairs) keeps the 1st, (n+1)-th, (2n+1)-th ... call of each
sampled level that passes the level filter; WARNING and above never get here.

Cost: nothing changes for a logger without ``sample``. With it, the logger's
methods of the sampled levels (``debug``, ``info``) and its generic entries
(``log``, the bridge's ``_handoff_record`` and ``_handoff_record_args``) are replaced on the instance by
closures that do the usual level check, then one ``next()`` of an
``itertools.count`` (atomic in CPython, no lock) and a modulo. A sampled-out
call costs a filtered call plus that counter; the unsampled levels keep the
class's methods untouched. ``set_level`` keeps working: every closure reads the
logger's current ``_min_level``.

Counts: ``sampled_out = seen - ceil(seen / n)`` per level, where ``seen`` is
read from the counter without advancing it. Sampled-out calls are not in
``emitted`` (which stays ``written + dropped``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._options import DEBUG, INFO, parse_level

if TYPE_CHECKING:
    from .._base import Logger

_time_ns = time.time_ns
_METHODS = {DEBUG: "debug", INFO: "info"}


class Sampling:
    """The per-level counters of one logger; :meth:`install` puts the sampling entries on it."""

    def __init__(self, every: tuple[tuple[int, int], ...]) -> None:
        self._counters: dict[int, tuple[itertools.count[int], int]] = {
            level: (itertools.count(), n) for level, n in every
        }

    def install(self, logger: Logger) -> None:
        """Replace ``logger``'s entries for the sampled levels (instance attributes; see the module docstring)."""
        for level, (counter, n) in self._counters.items():
            name = _METHODS.get(level)
            if name is not None:
                setattr(logger, name, _level_method(logger, level, counter.__next__, n))
        table = {level: (counter.__next__, n) for level, (counter, n) in self._counters.items()}
        logger.log = _log_method(logger, table)  # type: ignore[method-assign]
        logger._handoff_record = _record_method(logger, table)  # type: ignore[method-assign]
        logger._handoff_record_args = _record_args_method(logger, table)  # type: ignore[method-assign]

    def sampled_out(self) -> int:
        """Calls of sampled levels that passed the level filter and were not kept."""
        total = 0
        for counter, n in self._counters.values():
            seen = _peek(counter)
            total += seen - (seen + n - 1) // n
        return total


def _peek(counter: itertools.count[int]) -> int:
    """The next value of ``counter`` without advancing it (``count(5)`` -> 5)."""
    return int(repr(counter)[6:-1])


def _level_method(logger: Logger, level: int, tick: Callable[[], int], n: int) -> Callable[..., None]:
    def sampled(msg: object, /, **fields: Any) -> None:
        if logger._min_level <= level and tick() % n == 0:
            logger._handoff(_time_ns(), level, msg, fields)

    return sampled


def _log_method(logger: Logger, table: Mapping[int, tuple[Callable[[], int], int]]) -> Callable[..., None]:
    def log(level: int | str, msg: object, /, **fields: Any) -> None:
        """Log at ``level`` (a number or a name), sampled; a bad level counts an error, never raises."""
        if type(level) is not int:
            try:
                level = parse_level(level)
            except (TypeError, ValueError):
                logger._count_bad_call()
                return
        if level >= logger._min_level:
            entry = table.get(level)
            if entry is None or entry[0]() % entry[1] == 0:
                logger._handoff(_time_ns(), level, msg, fields)

    return log


def _record_method(logger: Logger, table: Mapping[int, tuple[Callable[[], int], int]]) -> Callable[..., None]:
    def handoff_record(ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        if level >= logger._min_level:
            entry = table.get(level)
            if entry is None or entry[0]() % entry[1] == 0:
                logger._handoff(ts_ns, level, msg, fields)

    return handoff_record


def _record_args_method(logger: Logger, table: Mapping[int, tuple[Callable[[], int], int]]) -> Callable[..., None]:
    def handoff_record_args(
        ts_ns: int, level: int, msg: str, fields: Mapping[str, object], args: tuple[object, ...]
    ) -> None:
        if level >= logger._min_level:
            entry = table.get(level)
            if entry is None or entry[0]() % entry[1] == 0:
                logger._handoff_args(ts_ns, level, msg, fields, args)

    return handoff_record_args
