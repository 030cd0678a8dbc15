"""Process-level hooks for backends with a writer: drain at exit, repair after fork.

A backend calls :func:`track` once it has started its writer. At interpreter
exit (normal end, ``sys.exit``, an unhandled exception; not SIGKILL, and not a
SIGTERM left at its default action) every tracked, still-open logger is closed,
which drains it. In a forked child each tracked logger's
``_after_fork_in_child()`` runs before any child code.
"""

from __future__ import annotations

import atexit
import os
import weakref
from typing import Protocol


class _Tracked(Protocol):
    def close(self) -> None: ...

    def _after_fork_in_child(self) -> None: ...


_LIVE: weakref.WeakSet[_Tracked] = weakref.WeakSet()


def track(logger: _Tracked) -> None:
    """Close ``logger`` at interpreter exit and repair it after ``fork``."""
    _LIVE.add(logger)


def untrack(logger: _Tracked) -> None:
    _LIVE.discard(logger)


def _close_all_at_exit() -> None:
    for logger in list(_LIVE):
        try:
            logger.close()
        except Exception:  # exit must go on for the other loggers
            pass


def _repair_after_fork() -> None:
    for logger in list(_LIVE):
        logger._after_fork_in_child()


atexit.register(_close_all_at_exit)
os.register_at_fork(after_in_child=_repair_after_fork)
