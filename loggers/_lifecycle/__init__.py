"""Process-level hooks for backends with a writer: drain at exit, repair after fork.

The one registry of ``loggers`` for ``atexit``, multiprocessing's exit and
``os.register_at_fork``.

A backend calls :func:`track` once it has started its writer. Every tracked,
still-open logger is closed, which drains it, on each way a process ends
normally:

* interpreter exit (the end of the program, ``sys.exit``, an unhandled
  exception), through ``atexit``;
* the exit of a ``multiprocessing`` worker (``Process``, ``Pool``,
  ``concurrent.futures.ProcessPoolExecutor``; ``fork``, ``spawn`` and
  ``forkserver``). Workers started by ``fork`` or ``forkserver`` end with
  ``os._exit``, which skips ``atexit`` (3.11, 3.12) or runs only the
  ``atexit`` entries multiprocessing put there (3.13); all of them run
  multiprocessing's own finalizers first (``multiprocessing.util
  ._exit_function``). A ``Finalize`` with ``MP_EXIT_PRIORITY`` closes the
  loggers there. Finalizers are cleared when a worker starts, so the hook
  re-registers itself from multiprocessing's after-fork callbacks, which run
  right after that clearing in every worker.

Not covered: SIGKILL, and a SIGTERM left at its default action (no Python
code runs; :func:`loggers.drain_on_signals` turns SIGTERM into a drain).
multiprocessing is never imported here: the hook is set only once something
else imported it (a logger tracked before that is hooked in the forked worker).
In a forked child each tracked logger's ``_after_fork_in_child()`` runs before
any child code. :func:`track_fork` is for objects repaired after fork but never
closed at exit (sinks: fresh locks); they are repaired first, so a logger
restarting its writer finds its sink whole.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
import weakref
from typing import Any, Protocol

#: After multiprocessing's own finalizers (a ``Queue``'s run at 10 and -5) and after the worker's
#: daemonic children were joined: records logged from those finalizers are still drained.
MP_EXIT_PRIORITY = -100


class _Repairable(Protocol):
    def _after_fork_in_child(self) -> None: ...


class _Tracked(_Repairable, Protocol):
    def flush(self, timeout: float | None = None) -> bool: ...

    def close(self) -> None: ...


_LIVE: weakref.WeakSet[_Tracked] = weakref.WeakSet()
_FORK_ONLY: weakref.WeakSet[_Repairable] = weakref.WeakSet()


def track(logger: _Tracked) -> None:
    """Close ``logger`` at interpreter and multiprocessing-worker exit; repair it after ``fork``."""
    _LIVE.add(logger)
    _MP_EXIT.hook()


def untrack(logger: _Tracked) -> None:
    _LIVE.discard(logger)


def track_fork(obj: _Repairable) -> None:
    """Repair ``obj`` after ``fork`` (before the tracked loggers); held weakly, never closed here."""
    _FORK_ONLY.add(obj)


def flush_all(timeout: float) -> bool:
    """Flush every tracked, open logger within ``timeout`` seconds in all; True if each finished in time."""
    deadline = time.monotonic() + timeout
    done = True
    for logger in list(_LIVE):
        try:
            done = logger.flush(max(0.0, deadline - time.monotonic())) and done
        except Exception:  # a stop must go on for the other loggers
            done = False
    return done


def close_all() -> None:
    """Close (drain) every tracked logger; one that fails does not stop the others."""
    for logger in list(_LIVE):
        try:
            logger.close()
        except Exception:  # exit must go on for the other loggers
            pass


class _MultiprocessingExit:
    """The hook into multiprocessing's exit path (see the module docstring). One per process."""

    def __init__(self) -> None:
        self._finalizer: Any = None
        self._after_fork_registered = False

    def hook(self) -> None:
        """If multiprocessing is in use, make sure this process's finalizers close the tracked loggers."""
        util = sys.modules.get("multiprocessing.util")
        if util is None or not _LIVE:
            return
        if not self._after_fork_registered:  # inherited by forked workers along with the registry
            util.register_after_fork(self, _MultiprocessingExit._rehook_in_worker)
            self._after_fork_registered = True
        if self._finalizer is None or not self._finalizer.still_active():
            self._finalizer = util.Finalize(None, close_all, exitpriority=MP_EXIT_PRIORITY)

    def _rehook_in_worker(self) -> None:
        """multiprocessing's after-fork callback: the worker just cleared the finalizers it inherited."""
        self._finalizer = None
        self.hook()


_MP_EXIT = _MultiprocessingExit()


def _repair_after_fork() -> None:
    for obj in list(_FORK_ONLY):
        obj._after_fork_in_child()
    for logger in list(_LIVE):
        logger._after_fork_in_child()
    _MP_EXIT.hook()  # multiprocessing may have been imported after the loggers were tracked


atexit.register(close_all)
os.register_at_fork(after_in_child=_repair_after_fork)
