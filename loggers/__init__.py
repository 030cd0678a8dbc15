"""logbench reference loggers: one interface, several hand-off strategies.

    import loggers
    log = loggers.create("sync", path="logs/app.log", level="INFO")
    log.info("user login", user_id=42, ok=True)
    log.close()

``BACKENDS`` names the reference backends; ``create`` validates options
(see ``loggers._options`` for every option: ``stream="stdout"`` instead of
``path``, ``sample``, ``on_pressure``) and returns a :class:`Logger`;
``log.set_level(level)`` changes its level at run time. ``loggers.Handler``
is a ``logging.Handler`` owning its logger, for ``logging.config.dictConfig``
(``"class": "loggers.Handler"``; ``loggers._bridge``); ``loggers.accelerate()``
makes stdlib ``Logger`` calls skip the ``LogRecord`` on their way to it (``loggers._accelerate``).
Loggers drain at interpreter exit and at a ``multiprocessing`` worker's exit
(``loggers._lifecycle``); ``drain_on_signals(signal.SIGTERM)`` is the opt-in
graceful stop for SIGTERM (``loggers._lifecycle.signals``; ``drain_on_loop_signals`` in
asyncio programs).
Standard library only: nothing here imports a third-party package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._base import STAT_KEYS, Logger
from ._options import CRITICAL, DEBUG, ERROR, INFO, WARNING
from ._options import OVERFLOW_POLICIES, Options

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "BACKENDS",
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "INFO",
    "Handler",
    "OVERFLOW_POLICIES",
    "STAT_KEYS",
    "WARNING",
    "Logger",
    "accelerate",
    "Options",
    "backend_class",
    "create",
    "drain_on_loop_signals",
    "drain_on_signals",
]

# name -> (module, class). Modules are imported on first use, keeping ``import loggers`` cheap.
_REGISTRY: dict[str, tuple[str, str]] = {
    "null": ("loggers.null", "NullBackend"),
    "sync": ("loggers.sync", "SyncBackend"),
    "mmap": ("loggers.mmap.backend", "MmapBackend"),
    "thread-queue": ("loggers.thread_queue", "ThreadQueueBackend"),
    "subprocess": ("loggers.subprocess.backend", "SubprocessBackend"),
    "asyncio": ("loggers.asyncio", "AsyncioBackend"),
}

BACKENDS: tuple[str, ...] = tuple(_REGISTRY)


def __getattr__(name: str) -> Any:
    """``loggers.Handler`` (``loggers._bridge``) and ``loggers.accelerate`` (``loggers._accelerate``: stdlib
    ``logging`` calls into logbench handlers without a ``LogRecord``), imported on first use: ``import logging``
    is not cheap."""
    if name == "Handler":
        from ._bridge import Handler

        return Handler
    if name == "accelerate":
        from ._accelerate import accelerate

        return accelerate
    raise AttributeError(f"module 'loggers' has no attribute {name!r}")


def backend_class(name: str) -> type[Logger]:
    """The class registered as ``name``. Raises ValueError for an unknown name."""
    try:
        module_name, class_name = _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown backend {name!r} (available: {', '.join(BACKENDS)})") from None
    cls: type[Logger] = getattr(importlib.import_module(module_name), class_name)
    return cls


def create(backend: str, /, path: Any = None, **options: Any) -> Logger:
    """Create a logger of ``backend`` writing to ``path`` with validated ``options``.

    ``path`` may be given by position, so ``functools.partial(create, "sync")``
    is a backend factory ``factory(path, **options)``.

    Raises:
        ValueError: unknown backend, out-of-range value, bad level name, unusable path.
        TypeError: an option the backend does not take, or a value of the wrong type.
    """
    from ._options import build_options

    cls = backend_class(backend)
    if path is not None:
        options["path"] = path
    opts = build_options(backend, cls.accepts, options, requires_path=cls.writes_file)
    try:
        return cls(opts)
    except OSError as exc:
        raise ValueError(f"path: cannot open {opts.path!r}: {exc.strerror or exc}") from exc


def drain_on_signals(*signums: int, timeout: float | None = None) -> None:
    """On any of ``signums``: flush every live logger (``timeout`` seconds in all, default 5), then hand the signal on.

    To the handler installed before, or to the default action (the process
    still dies by the signal). For applications, never libraries:
    ``loggers.drain_on_signals(signal.SIGTERM)``. Contract and errors:
    :func:`loggers._lifecycle.signals.drain_on_signals` (imported on first call:
    ``import loggers`` stays free of ``signal``).
    """
    from ._lifecycle.signals import drain_on_signals as install

    install(*signums, timeout=timeout)


def drain_on_loop_signals(
    *signums: int, loop: asyncio.AbstractEventLoop | None = None, timeout: float | None = None
) -> None:
    """:func:`drain_on_signals` for asyncio programs, through ``loop.add_signal_handler`` (default: the running loop).

    Contract and errors: :func:`loggers._signals.drain_on_loop_signals`.
    """
    from ._lifecycle.signals import drain_on_loop_signals as install

    install(*signums, loop=loop, timeout=timeout)
