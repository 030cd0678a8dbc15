"""Opt-in graceful stop: on a signal, drain every live logger, then let the signal do what it did before.

``docker stop``, Kubernetes, systemd and ``Pool.terminate()`` send SIGTERM.
Left at its default action it ends the process without running Python code,
so whatever a queued backend still holds is lost. An application (never a
library) adds one line at start-up::

    loggers.drain_on_signals(signal.SIGTERM)

On the signal the handler flushes every tracked logger (``_lifecycle``; the
backends with a writer) within ``timeout`` seconds in all, then hands the
signal on: to the Python handler that was installed before (called with the
same ``signum, frame``), to nothing if it was ``SIG_IGN``, or, if it was the
default action, by restoring ``SIG_DFL`` and raising the signal again, so the
process still ends *by that signal* (exit status -15 for SIGTERM) as its
sender expects. The flush runs in the main thread between two bytecodes; the
queues' locks are re-entrant and their waits release them, so a signal that
lands inside a logging call cannot deadlock, and the deadline bounds the wait.

Installing twice keeps one handler (the second call only changes the
timeout). A forked child does not inherit it: it gets back the disposition
that was there before (so ``Pool.terminate()`` still ends fork-started workers
at once). Install it in each process that should drain; not in pool workers
that are terminated: an idle worker enters a lock wait right as
``terminate()`` signals it, and a signal landing just before that wait is
handled only once the main thread runs Python code again (``join()`` then
hangs; any Python-level SIGTERM handler in a worker has this race). End pools
with ``close(); join()``, which drains every worker (``_lifecycle``).
A handler installed later replaces this one; if it chains to the handler it
replaced (``signal.signal`` returned it), the drain runs first.
``sync`` needs no drain (records are written before the call returns), nor
does ``mmap`` (its writer process drains the journal when the application dies).

The kernel hands a process-directed signal to any thread that does not block
it, and Python runs the handler only when the main thread next runs bytecode:
a signal taken by a logger's writer thread, while the main thread sleeps in a
lock (a pool worker waiting for its task queue), would never be handled. So
every thread a backend starts blocks ``QUIET_SIGNALS`` (:func:`start_quiet`)
and those signals reach the application's own threads; an application thread
of its own that takes one while the main thread is blocked still delays it.

Asyncio: :func:`drain_on_loop_signals` does the same through
``loop.add_signal_handler``: the loop wakes, the flush runs in a worker thread
(the loop keeps running meanwhile), then the signal is handed on.
"""

from __future__ import annotations

import os
import signal
import threading
import weakref
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, Union

from .. import _lifecycle

if TYPE_CHECKING:
    import asyncio

DEFAULT_TIMEOUT = 5.0
#: Blocked in every thread a backend starts: what ``kill``, a terminal, ``docker stop``, ``Pool.terminate`` send.
QUIET_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT})
_Handler = Union[Callable[[int, "FrameType | None"], Any], int, signal.Handlers, None]


def drain_on_signals(*signums: int, timeout: float | None = None) -> None:
    """Drain every live logger when one of ``signums`` arrives, then hand the signal on (module docstring).

    Args:
        signums: signal numbers, e.g. ``signal.SIGTERM, signal.SIGINT``.
        timeout: seconds the drain may take in all before the signal is handed on anyway
            (None: ``DEFAULT_TIMEOUT``).

    Raises:
        RuntimeError: not called from the main thread (Python runs signal handlers there only); nothing installed.
        ValueError: no signal, an unknown one, one that cannot be caught (SIGKILL, SIGSTOP), or ``timeout <= 0``.
        TypeError: a signal or timeout that is not a number.
    """
    numbers, timeout = _validate("drain_on_signals", signums, timeout)
    for signum in numbers:
        current = signal.getsignal(signum)
        if isinstance(current, _DrainHandler):
            current.timeout = timeout
        else:
            signal.signal(signum, _DrainHandler(signum, current, timeout))
        _forget_in_forked_children(signum)


def drain_on_loop_signals(
    *signums: int, loop: asyncio.AbstractEventLoop | None = None, timeout: float | None = None
) -> None:
    """:func:`drain_on_signals` for an asyncio program, through ``loop.add_signal_handler``.

    ``loop``: default the running loop (call it from a coroutine, e.g. at the start of ``main()``).
    Raises as :func:`drain_on_signals`; RuntimeError also without a running loop when ``loop`` is None.
    """
    import asyncio

    numbers, timeout = _validate("drain_on_loop_signals", signums, timeout)
    if loop is None:
        loop = asyncio.get_running_loop()
    installed = _LOOP_DRAINS.setdefault(loop, {})
    for signum in numbers:
        if signum in installed:
            installed[signum].timeout = timeout
            continue
        drain = _LoopDrain(loop, signum, signal.getsignal(signum), timeout)
        loop.add_signal_handler(signum, drain.on_signal)
        installed[signum] = drain


_INSTALLED: set[int] = set()  # signals a drain handler was installed for in this process (or its parent)


def _forget_in_forked_children(signum: int) -> None:
    if not _INSTALLED:
        os.register_at_fork(after_in_child=_restore_previous_in_child)
    _INSTALLED.add(signum)


def _restore_previous_in_child() -> None:
    """In a forked child: every drain handler gives way to the disposition it replaced."""
    for signum in _INSTALLED:
        current = signal.getsignal(signum)
        if isinstance(current, _DrainHandler):
            previous = current.previous
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)


def start_quiet(thread: threading.Thread) -> None:
    """Start ``thread`` with ``QUIET_SIGNALS`` blocked in it (a new thread inherits its creator's mask)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, QUIET_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _validate(caller: str, signums: tuple[int, ...], timeout: float | None) -> tuple[list[int], float]:
    """The signal numbers and the timeout, checked (see :func:`drain_on_signals` for the errors)."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(
            f"{caller}: call it from the main thread (Python runs signal handlers only there), "
            f"not from {threading.current_thread().name!r}; nothing was installed"
        )
    if not signums:
        raise ValueError(f"{caller}: name at least one signal, e.g. signal.SIGTERM")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout: a number of seconds, got {timeout!r}")
    if not timeout > 0:
        raise ValueError(f"timeout: seconds > 0, got {timeout!r}")
    numbers = []
    for signum in signums:
        if isinstance(signum, bool) or not isinstance(signum, int):
            raise TypeError(f"{caller}: a signal number such as signal.SIGTERM, got {signum!r}")
        if signum not in signal.valid_signals():
            raise ValueError(f"{caller}: {signum!r} is not a signal on this system")
        if signum in (signal.SIGKILL, signal.SIGSTOP):
            raise ValueError(f"{caller}: {signal.Signals(signum).name} cannot be caught, so it cannot drain")
        numbers.append(int(signum))
    return numbers, float(timeout)


def _hand_on(signum: int, previous: _Handler, frame: FrameType | None, reinstall: Callable[[], None]) -> None:
    """After the drain: what ``previous`` would have done with the signal."""
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_IGN:
        return
    else:  # SIG_DFL, or a handler not set from Python (None): the default action, for real
        signal.signal(signum, signal.SIG_DFL)
        try:
            signal.raise_signal(signum)  # ends the process, unless the default is to ignore the signal
        finally:
            reinstall()


class _DrainHandler:
    """The ``signal.signal`` handler: drain, then hand on to ``previous``."""

    def __init__(self, signum: int, previous: _Handler, timeout: float) -> None:
        self.signum = signum
        self.previous = previous
        self.timeout = timeout

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        _lifecycle.flush_all(self.timeout)
        _hand_on(signum, self.previous, frame, self._reinstall)

    def _reinstall(self) -> None:
        signal.signal(self.signum, self)

    def __repr__(self) -> str:
        return f"<loggers drain on {signal.Signals(self.signum).name}, then {self.previous!r}>"


class _LoopDrain:
    """A ``loop.add_signal_handler`` callback: drain in a worker thread, then hand on to ``previous``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, signum: int, previous: _Handler, timeout: float) -> None:
        self.loop = loop
        self.signum = signum
        self.previous = previous
        self.timeout = timeout
        self._draining: asyncio.Future[bool] | None = None

    def on_signal(self) -> None:
        if self._draining is not None:  # a second signal while draining: the first one's drain serves it
            return
        self._draining = self.loop.run_in_executor(None, _lifecycle.flush_all, self.timeout)
        self._draining.add_done_callback(self._drained)

    def _drained(self, _: object) -> None:
        self._draining = None
        if not callable(self.previous) and self.previous != signal.SIG_IGN:
            self.loop.remove_signal_handler(self.signum)  # the default action must reach the process
        _hand_on(self.signum, self.previous, None, self._reinstall)

    def _reinstall(self) -> None:
        self.loop.add_signal_handler(self.signum, self.on_signal)


_LOOP_DRAINS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, _LoopDrain]] = weakref.WeakKeyDictionary()
