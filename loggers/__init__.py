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
(``"class": "loggers.Handler"``; ``loggers._stdlib.bridge``); ``loggers.accelerate()``
makes stdlib ``Logger`` calls skip the ``LogRecord`` on their way to it (``loggers._stdlib.accelerate``).
Loggers drain at interpreter exit and at a ``multiprocessing`` worker's exit
(``loggers._lifecycle``); ``drain_on_signals(signal.SIGTERM)`` is the opt-in
graceful stop for SIGTERM (``loggers._lifecycle.signals``; ``drain_on_loop_signals`` in
asyncio programs).
Building blocks for adapters (the harness measures third-party loggers through
them, so every contender writes the same lines through the same sink): the
encoder ``JsonLinesEncoder``, the sink ``FileSink``, ``ErrorReporter`` (rate-limited
stderr reports), ``CallCounter``, ``build_options`` and ``COMMON_OPTIONS``.
Standard library only: nothing here imports a third-party package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._base import STAT_KEYS, CallCounter, ErrorReporter, Logger
from ._options import COMMON_OPTIONS, CRITICAL, DEBUG, ERROR, INFO, WARNING
from ._options import OVERFLOW_POLICIES, Options, build_options

if TYPE_CHECKING:
    from ._sink import FileSink as FileSink
    from ._sink.encoder import JsonLinesEncoder as JsonLinesEncoder
    from ._stdlib.accelerate import accelerate as accelerate
    from ._stdlib.bridge import Handler as Handler
    import asyncio

__all__ = [
    "BACKENDS",
    "COMMON_OPTIONS",
    "CRITICAL",
    "CallCounter",
    "ErrorReporter",
    "FileSink",
    "JsonLinesEncoder",
    "build_options",
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


#: public names imported on first use (``import logging`` and the sink are not needed to create a logger)
_LAZY: dict[str, tuple[str, str]] = {
    "Handler": ("loggers._stdlib.bridge", "Handler"),
    "accelerate": ("loggers._stdlib.accelerate", "accelerate"),
    "FileSink": ("loggers._sink", "FileSink"),
    "JsonLinesEncoder": ("loggers._sink.encoder", "JsonLinesEncoder"),
}


def __getattr__(name: str) -> Any:
    """``loggers.Handler`` (``loggers._stdlib.bridge``), ``loggers.accelerate`` (``loggers._stdlib.accelerate``:
    stdlib ``logging`` calls into logbench handlers without a ``LogRecord``) and the sink's building
    blocks, imported on first use."""
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'loggers' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module_name), attribute)


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
