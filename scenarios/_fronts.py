"""How an application reaches a backend: its own API, or stdlib ``logging`` in front of it.

``native``: ``log.info(msg, **fields)``, logbench's own API. ``bridge``: a
``logging.Logger`` whose one handler is ``log.handler()`` (stdlib builds a
``LogRecord``, finds the caller, takes the handler lock; the handler hands the
record to the backend). ``accelerated``: the same logger after
``loggers.accelerate(logger)`` (level check, then the backend's hand-off).

A scenario measuring a front other than ``native`` names it in its case:
``rate=1/unit,front=bridge`` (:func:`front_case`); :func:`split_case` reads it back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ._common import Factory

__all__ = ["FRONTS", "STDLIB_FRONTS", "StdlibFront", "front_case", "has_stdlib_front", "split_case", "stdlib_logger", "through"]

FRONTS = ("native", "bridge", "accelerated")
STDLIB_FRONTS = ("bridge", "accelerated")


def front_case(case: str, front: str) -> str:
    """``case`` as measured through ``front``: unchanged for ``native``, else ``case,front=<front>``."""
    return case if front == "native" else f"{case},front={front}"


def split_case(case: str) -> tuple[str, str]:
    """``(case without its front, front)``: ``"rate=1/unit,front=bridge"`` -> ``("rate=1/unit", "bridge")``."""
    head, sep, front = case.rpartition(",front=")
    return (head, front) if sep else (case, "native")


def stdlib_logger(log: Any, front: str, level: int = logging.INFO) -> logging.Logger:
    """A fresh ``logging.Logger`` (not registered with stdlib's manager) logging into ``log``.

    ``propagate=False``, ``level``, one handler: ``log.handler()``; ``accelerated`` also
    applies ``loggers.accelerate`` to this logger alone. Raises ValueError for another front.
    """
    if front not in STDLIB_FRONTS:
        raise ValueError(f"unknown stdlib front {front!r} (expected one of {', '.join(STDLIB_FRONTS)})")
    logger = logging.Logger("logbench", level)
    logger.propagate = False
    logger.addHandler(log.handler())
    if front == "accelerated":
        import loggers

        loggers.accelerate(logger)
    return logger


class StdlibFront:
    """``log`` seen through stdlib: ``info(msg, **fields)`` is ``self.logger.info(msg, extra=fields)``.

    (The overhead workload calls ``self.logger`` itself, as a stdlib program would.)

    What arrives is the record the native call would make (message, level, the fields
    in order), through stdlib's machinery. ``flush``, ``close`` and ``stats`` are the backend's.
    """

    def __init__(self, log: Any, front: str) -> None:
        self.log = log
        self.logger = stdlib_logger(log, front)

    def info(self, msg: object, **fields: object) -> None:
        self.logger.info(msg, extra=fields)

    def flush(self, timeout: float | None = None) -> bool:
        return bool(self.log.flush(timeout))

    def close(self) -> None:
        self.log.close()

    def stats(self) -> Mapping[str, int]:
        return self.log.stats()  # type: ignore[no-any-return]


def through(factory: Factory, front: str) -> Factory:
    """``factory`` whose loggers are reached through ``front`` (``native``: ``factory`` itself)."""
    if front == "native":
        return factory

    def fronted(**options: Any) -> StdlibFront:
        return StdlibFront(factory(**options), front)

    return fronted


def has_stdlib_front(log: Any) -> bool:
    """Whether ``log`` can stand behind stdlib ``logging`` (a logbench logger: it has ``handler()``)."""
    return callable(getattr(log, "handler", None)) and type(log).__module__.split(".")[0] == "loggers"
