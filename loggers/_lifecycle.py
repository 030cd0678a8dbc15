"""Process-level hooks for backends with a writer: drain at exit, repair after fork.

The one registry of ``loggers`` for ``atexit`` and ``os.register_at_fork``.

A backend calls :func:`track` once it has started its writer. At interpreter
exit (normal end, ``sys.exit``, an unhandled exception; not SIGKILL, and not a
SIGTERM left at its default action) every tracked, still-open logger is closed,
which drains it. In a forked child each tracked logger's
``_after_fork_in_child()`` runs before any child code. :func:`track_fork` is
for objects repaired after fork but never closed at exit (sinks: fresh locks);
they are repaired first, so a logger restarting its writer finds its sink whole.
"""

from __future__ import annotations

import atexit
import os
import weakref
from typing import Protocol


class _Repairable(Protocol):
    def _after_fork_in_child(self) -> None: ...


class _Tracked(_Repairable, Protocol):
    def close(self) -> None: ...


_LIVE: weakref.WeakSet[_Tracked] = weakref.WeakSet()
_FORK_ONLY: weakref.WeakSet[_Repairable] = weakref.WeakSet()


def track(logger: _Tracked) -> None:
    """Close ``logger`` at interpreter exit and repair it after ``fork``."""
    _LIVE.add(logger)


def untrack(logger: _Tracked) -> None:
    _LIVE.discard(logger)


def track_fork(obj: _Repairable) -> None:
    """Repair ``obj`` after ``fork`` (before the tracked loggers); held weakly, never closed here."""
    _FORK_ONLY.add(obj)


def _close_all_at_exit() -> None:
    for logger in list(_LIVE):
        try:
            logger.close()
        except Exception:  # exit must go on for the other loggers
            pass


def _repair_after_fork() -> None:
    for obj in list(_FORK_ONLY):
        obj._after_fork_in_child()
    for logger in list(_LIVE):
        logger._after_fork_in_child()


atexit.register(_close_all_at_exit)
os.register_at_fork(after_in_child=_repair_after_fork)
