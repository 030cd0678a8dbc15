"""Queue-pressure signals: tell the application when its logger's queue fills, drops or drains.

``on_pressure=callable`` (queued backends) starts one :class:`PressureMonitor`:
a daemon thread that looks at the logger's queue every ``POLL_SECONDS`` and
calls ``callable(event)`` with a small dict::

    {"kind": "high" | "drop" | "drained", "depth": int, "capacity": int, "dropped": int}

``high``
    the queue first passes ``HIGH_FRACTION`` (80%) of ``queue_size``; armed
    again only after ``drained``.
``drained``
    after ``high``, the queue is back below ``LOW_FRACTION`` (50%).
``drop``
    the first dropped record (``dropped`` in ``stats()``: overflow, after
    close, I/O failure) after a quiet stretch: a look that found no new drop
    at least ``QUIET_SECONDS`` after the last look that found one. Drops seen
    after a gap with no look at all (the monitor kept waiting, e.g. behind a
    ``close`` that drains a stalled sink) belong to the episode before it.

At most one call per kind per ``MIN_INTERVAL_SECONDS``: a transition that
comes too soon is delivered at the first look after the interval, if it still
holds. ``depth`` is what the queue holds when looked at; the backend's
``max_queue_depth`` rising in between also counts, so a burst that filled the
queue between two looks is not missed.

Where the callback runs: on this monitor thread, with no lock of the logger
held, never on a thread that logs. Not on the writer thread itself: a writer
stuck in ``write`` (a stalled disk, a full pipe) is exactly when the queue
fills, and it could not tell. A callback that raises is counted in the
logger's ``errors`` (and reported once on stderr), never propagated; one that
blocks delays only later signals. It may call ``stats()`` and log (through a
full ``overflow="block"`` queue it would wait like any caller).

Lifetime: the thread ends once its logger is closed (after a last look) or
garbage-collected; it holds the logger weakly. After ``fork`` the child's
monitors start again once the loggers are repaired (this module's fork hook
runs after ``_lifecycle``'s).
"""

from __future__ import annotations

import math
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._base import ErrorReporter

if TYPE_CHECKING:
    from .._base import Logger

POLL_SECONDS = 0.01
HIGH_FRACTION = 0.8
LOW_FRACTION = 0.5
MIN_INTERVAL_SECONDS = 1.0
QUIET_SECONDS = 1.0
KINDS = ("high", "drop", "drained")

#: ``() -> (depth, max_queue_depth, dropped)`` of one logger.
Probe = Callable[[], "tuple[int, int, int]"]


class PressureState:
    """The signal rules as a pure state machine (no thread, no clock of its own)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.high_mark = max(1, math.ceil(capacity * HIGH_FRACTION))
        self.low_mark = capacity * LOW_FRACTION
        self._above = False
        self._peak_seen = 0
        self._dropped_seen = 0
        self._drops_quiet = True  # a look has seen QUIET_SECONDS without a new drop
        self._last_drop_look = -math.inf
        self._last_call: dict[str, float] = {}

    def update(self, depth: int, peak: int, dropped: int, now: float) -> list[dict[str, Any]]:
        """The events due after looking at the queue at time ``now`` (``time.monotonic()`` seconds)."""
        events = []
        level = max(depth, peak) if peak > self._peak_seen else depth
        self._peak_seen = max(self._peak_seen, peak)
        if not self._above and level >= self.high_mark and self._allowed("high", now):
            self._above = True
            events.append(self._event("high", level, dropped))
        elif self._above and depth < self.low_mark and self._allowed("drained", now):
            self._above = False
            events.append(self._event("drained", depth, dropped))
        if dropped > self._dropped_seen:
            if self._drops_quiet and self._allowed("drop", now):
                events.append(self._event("drop", depth, dropped))
            self._drops_quiet = False
            self._dropped_seen, self._last_drop_look = dropped, now
        elif now - self._last_drop_look >= QUIET_SECONDS:
            self._drops_quiet = True
        return events

    def _allowed(self, kind: str, now: float) -> bool:
        if now - self._last_call.get(kind, -math.inf) < MIN_INTERVAL_SECONDS:
            return False
        self._last_call[kind] = now
        return True

    def _event(self, kind: str, depth: int, dropped: int) -> dict[str, Any]:
        return {"kind": kind, "depth": depth, "capacity": self.capacity, "dropped": dropped}


class PressureMonitor:
    """The thread that watches one logger and calls its ``on_pressure``; see the module docstring."""

    def __init__(self, logger: Logger, callback: Callable[[dict[str, Any]], object], capacity: int) -> None:
        self.errors = 0  # raising callbacks; written by the monitor thread only
        self._logger = weakref.ref(logger)
        self._callback = callback
        self._state = PressureState(capacity)
        self._reporter = ErrorReporter(f"on_pressure of {logger.options.target}")
        self._name = f"logbench-pressure:{logger.options.target}"
        self._thread = self._start()
        _MONITORS.add(self)

    def _start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        while True:
            time.sleep(POLL_SECONDS)
            logger = self._logger()
            if logger is None:
                return
            closed = logger.closed
            self.check(logger)
            if closed:
                return
            del logger

    def check(self, logger: Logger) -> None:
        """Look at ``logger``'s queue once and deliver the events due (on the calling thread)."""
        try:
            depth, peak, dropped = logger._pressure_probe()
        except Exception:  # noqa: BLE001 - a logger torn down under us: nothing to tell
            return
        for event in self._state.update(depth, peak, dropped, time.monotonic()):
            self._deliver(event)

    def _deliver(self, event: dict[str, Any]) -> None:
        try:
            self._callback(event)
        except Exception as exc:  # noqa: BLE001 - a callback's failure is counted, never propagated
            self.errors += 1
            self._reporter.report("callback", f"{type(exc).__name__}: {exc} (counted in errors)")

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (it ends after its logger's close)."""
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _after_fork_in_child(self) -> None:
        logger = self._logger()
        if logger is not None and not logger.closed:
            self._thread = self._start()


_MONITORS: weakref.WeakSet[PressureMonitor] = weakref.WeakSet()


def _restart_after_fork() -> None:
    for monitor in list(_MONITORS):
        monitor._after_fork_in_child()


os.register_at_fork(after_in_child=_restart_after_fork)  # after _lifecycle's hook: imported after it
