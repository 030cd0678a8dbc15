"""Peers: the loggers people already run (stdlib ``logging``, loguru, structlog, picologging,
OpenTelemetry's SDK) behind the logbench :class:`loggers.Logger` interface, so every scenario
measures them side by side with the reference backends.

    from harness import peers
    log = peers.create_peer("stdlib-file", path="app.log")
    factory = peers.peer_factory("loguru-enqueue")   # picklable, like functools.partial(loggers.create, ...)

Third-party imports live only in this package (``loggers/`` stays stdlib-only) and
only in the module of the peer being created. Install them with ``pip install logbench[peers]``.

``PEERS``
    name -> ``"module:factory"`` of every peer usable on this interpreter; the factory
    is called as ``factory(path=..., **options)`` (like ``functools.partial(loggers.create, name)``).
``UNAVAILABLE``
    name -> reason (e.g. "picologging is not installed") for the others.
``KNOWN_DEFECTS``
    name -> a library defect the scenarios hit (e.g. picologging's multi-thread deadlock).
``PEER_LINE_PARSERS``
    name -> ``parse_line(bytes) -> (writer, seq) | None`` for every peer name (available or not);
    the crash and rotation verifiers use it to count a peer's records.
``log_files(name, path)``
    Every file a peer wrote for ``path`` (rotated ones included), oldest first.

Each adapter class also carries both as the :class:`loggers.Logger` verifier hooks
(``line_parser``, ``log_files(path)``), which is what the crash and rotation
scenarios read from the logger they create.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

from loggers import Logger
from loggers import build_options

from ._common import Key, PeerLogger, loguru_log_files, parse_flat_line, parse_loguru_line

__all__ = [
    "ALL_PEERS",
    "KNOWN_DEFECTS",
    "PEERS",
    "PEER_LINE_PARSERS",
    "UNAVAILABLE",
    "create_peer",
    "log_files",
    "parse_line",
    "peer_class",
    "peer_factory",
]

# name -> ("module:AdapterClass", the package it needs or None for stdlib only)
_CATALOGUE: dict[str, tuple[str, str | None]] = {
    "stdlib-file": ("harness.peers._stdlib:StdlibFileLogger", None),
    "stdlib-rotating": ("harness.peers._stdlib:StdlibRotatingLogger", None),
    "stdlib-queue": ("harness.peers._stdlib:StdlibQueueLogger", None),
    "loguru-file": ("harness.peers._loguru:LoguruFileLogger", "loguru"),
    "loguru-enqueue": ("harness.peers._loguru:LoguruEnqueueLogger", "loguru"),
    "structlog-json": ("harness.peers._structlog:StructlogJsonLogger", "structlog"),
    "picologging-file": ("harness.peers._picologging:PicologgingFileLogger", "picologging"),
    "picologging-queue": ("harness.peers._picologging:PicologgingQueueLogger", "picologging"),
    "otel-batch": ("harness.peers._otel:OtelBatchLogger", "opentelemetry.sdk"),
}

ALL_PEERS: tuple[str, ...] = tuple(_CATALOGUE)


#: Why picologging is missing on 3.13+, from the attempt ``nox -s tests`` makes there (``pip install picologging``).
PICOLOGGING_ON_313 = (
    "picologging is not installed: 0.9.3 (the newest release, 2026-12) has no wheel for CPython 3.13 and its "
    "source build fails (\u2018_PyTime_t\u2019 does not name a type: a private C API removed in 3.13)"
)


def _unavailable_reason(package: str | None) -> str | None:
    """None if ``package`` can be used here, else why not (checked once, at import)."""
    if package is None:
        return None
    try:
        spec = importlib.util.find_spec(package)
    except ModuleNotFoundError:  # a dotted name whose parent package is missing
        spec = None
    if spec is None:
        if package == "picologging" and sys.version_info >= (3, 13):
            return PICOLOGGING_ON_313
        return f"{package} is not installed (pip install 'logbench[peers]')"
    if package == "picologging":  # a C extension: installed is not the same as importable
        try:
            importlib.import_module(package)
        except Exception as exc:  # ImportError, or a broken build on this Python
            return f"picologging does not import on this Python: {type(exc).__name__}: {exc}"
    return None


UNAVAILABLE: dict[str, str] = {}
PEERS: dict[str, str] = {}
for _name, (_target, _package) in _CATALOGUE.items():
    _reason = _unavailable_reason(_package)
    if _reason is None:
        PEERS[_name] = "harness.peers._factories:" + _name.replace("-", "_")
    else:
        UNAVAILABLE[_name] = _reason

_PICOLOGGING_DEADLOCK = (
    "deadlocks as soon as two threads log at once (microsoft/picologging#207, open; reproduced with "
    "picologging 0.9.3 on CPython 3.11): only single-threaded cells can finish"
)
#: Defects of a peer's library that scenarios will run into: reported as data, never hidden.
KNOWN_DEFECTS: dict[str, str] = {
    "picologging-file": _PICOLOGGING_DEADLOCK,
    "picologging-queue": _PICOLOGGING_DEADLOCK,
    "otel-batch": (
        "a record logged from a signal handler that interrupted another log call deadlocks: LoggingHandler.emit "
        "calls LoggerProvider.get_logger on every record, which takes a non-reentrant threading.Lock "
        "(_active_loggers_lock; reproduced with opentelemetry-sdk 1.45.2 on CPython 3.11)"
    ),
}

PEER_LINE_PARSERS: dict[str, Callable[[bytes], Key | None]] = {
    name: (parse_loguru_line if name.startswith("loguru-") else parse_flat_line) for name in ALL_PEERS
}


def peer_class(name: str) -> type[PeerLogger]:
    """The adapter class of ``name``. ValueError for an unknown or unavailable peer (with the reason)."""
    if name not in PEERS:
        if name in UNAVAILABLE:
            raise ValueError(f"peer {name!r} is not available: {UNAVAILABLE[name]}")
        raise ValueError(f"unknown peer {name!r} (available: {', '.join(PEERS)})")
    module_name, class_name = _CATALOGUE[name][0].split(":")
    cls: type[PeerLogger] = getattr(importlib.import_module(module_name), class_name)
    return cls


def create_peer(name: str, /, **options: Any) -> Logger:
    """Create peer ``name`` with logbench options (see ``loggers._options``).

    Raises:
        ValueError: unknown/unavailable peer, a value out of range or one the library cannot
            honour (e.g. ``overflow="block"`` for ``stdlib-queue``), an unusable path.
        TypeError: an option this peer does not take (e.g. "'queue_size' not supported by
            stdlib-file"), or a value of the wrong type.
    """
    cls = peer_class(name)
    unsupported = sorted(set(options) - cls.accepts)
    if unsupported:
        raise TypeError(
            f"{', '.join(map(repr, unsupported))} not supported by {name} (it takes: {', '.join(sorted(cls.accepts))})"
        )
    opts = build_options(name, cls.accepts, options)
    cls.check_options(options)
    try:
        return cls.from_options(opts, options)
    except OSError as exc:
        raise ValueError(f"path: cannot open {opts.path!r}: {exc.strerror or exc}") from exc


def peer_factory(name: str) -> Callable[..., Logger]:
    """A picklable ``factory(path=..., **options) -> Logger`` for scenarios and child processes."""
    peer_class(name)  # fail early, in the parent, for an unknown or unavailable peer
    return functools.partial(create_peer, name)


def parse_line(name: str, line: bytes) -> Key | None:
    """``(writer, seq)`` of one line peer ``name`` wrote, or None (not a record / torn)."""
    return PEER_LINE_PARSERS[name](line)


def log_files(name: str, path: str | os.PathLike[str]) -> list[str]:
    """Every existing file peer ``name`` wrote for ``path``, oldest first, ``path`` itself last.

    stdlib rotation: ``path.N`` ... ``path.1`` (:meth:`loggers.Logger.log_files`); loguru:
    ``<root>.<timestamp>[.n]<ext>`` (ordered by modification time, then name). The same as
    the adapter class's ``log_files`` hook, usable for a peer not installed here.
    """
    if name.startswith("loguru-"):
        return loguru_log_files(path)
    return Logger.log_files(path)
