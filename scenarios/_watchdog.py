"""Run a multi-threaded measurement in a child process that is killed when it stops making progress.

A backend (or the library under it) can deadlock as soon as two threads log
at once. In-process, that hang would eat the harness's whole cell timeout and
lose every other case of the cell; here it costs ``stall_s`` seconds and
becomes data: :class:`Stalled`, which the scenario records as a failed case
with the reason ``"deadlock: no progress in <stall_s>s"``.

Protocol with the child: ``target(heartbeat, *args)`` runs in a fresh
``spawn`` process. ``heartbeat`` is a shared int64 array; the child bumps any
slot whenever it makes progress (e.g. every few dozen records per thread) and
may set the last slot, :data:`PHASE`, to :data:`WORKING` when the watched part
starts (before that, start-up gets ``start_s`` seconds) and to :data:`CLOSING`
while a final step that cannot bump (``close()``) runs, which gets
``close_s`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ._proc import SPAWN, ChildFailed, run_in_child

__all__ = ["CLOSING", "PHASE", "STARTING", "WORKING", "Stalled", "run_watched"]

PHASE = -1
STARTING, WORKING, CLOSING = 0, 1, 2
_POLL_S = 0.05


class Stalled(ChildFailed):
    """The child made no progress for too long and was killed; the message is the reason."""


def run_watched(
    target: Callable[..., Any],
    slots: int,
    *args: Any,
    stall_s: float,
    start_s: float = 60.0,
    close_s: float = 30.0,
) -> Any:
    """Run ``target(heartbeat, *args)`` in a spawned child and return its (picklable) result.

    ``heartbeat`` has ``slots`` progress slots plus the phase slot (index -1).

    Raises:
        Stalled: no heartbeat change for ``stall_s`` s while working, start-up over
            ``start_s`` s, or the closing phase over ``close_s`` s (child and its
            descendants are killed).
        ChildFailed: the child raised (message: its traceback) or died without a result.
    """
    heartbeat = SPAWN.Array("q", slots + 1, lock=False)

    def wait(receiver: Connection) -> str | None:
        return _watch(receiver, heartbeat, stall_s, start_s, close_s)

    return run_in_child(target, (heartbeat, *args), wait=wait, stuck=Stalled, name="logbench-watched")


def _watch(receiver: Connection, heartbeat: Any, stall_s: float, start_s: float, close_s: float) -> str | None:
    """None once the child answered; else why it is considered stuck."""
    last_beat, last_phase = list(heartbeat), heartbeat[PHASE]
    since = time.monotonic()
    while not receiver.poll(_POLL_S):
        now = time.monotonic()
        beat, phase = list(heartbeat), heartbeat[PHASE]
        if beat != last_beat or phase != last_phase:
            last_beat, last_phase, since = beat, phase, now
            continue
        waited = now - since
        if phase == STARTING and waited > start_s:
            return f"the measuring child did not start within {start_s:g}s"
        if phase == WORKING and waited > stall_s:
            return f"deadlock: no progress in {stall_s:g}s"
        if phase == CLOSING and waited > close_s:
            return f"deadlock: close() did not return in {close_s:g}s"
    return None
