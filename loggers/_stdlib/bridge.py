"""Stdlib ``logging`` -> logbench: a Handler that hands records to a Logger, and one that owns it.

``BridgeHandler`` (``Logger.handler()``) forwards records to an existing logger.
:class:`Handler` (``loggers.Handler``) owns its logger, for ``dictConfig``:


::

    logging.config.dictConfig({
        "version": 1,
        "handlers": {"app": {"class": "loggers.Handler", "backend": "mmap",
                             "path": "logs/app.log", "level": "INFO"}},
        "root": {"handlers": ["app"], "level": "DEBUG"},
    })

Every key besides ``class``/``level``/``formatter``/``filters`` is an option
of ``loggers.create`` (``path`` or ``stream``, ``queue_size``, ``sample``,
``on_pressure`` as ``"ext://module.function"`` ...), validated there: a bad
one fails ``dictConfig`` with the same clear error.

Records go through as with ``Logger.handler()`` (``loggers._stdlib.bridge``: the
message, level, time; ``logger``, ``extra=`` fields, ``exc`` and ``stack``
text). A message whose arguments are immutable scalars is formatted by the
backend's writer (``late_formattable``), others in the caller; a message that
cannot be formatted is written as ``"'fmt' % (args,) (formatting failed)"``
(``format_message``), never raised. ``loggers.accelerate()`` (``loggers._stdlib.accelerate``)
makes stdlib ``Logger`` calls reach these handlers without building a ``LogRecord``. The handler's level is its logger's level: ``setLevel`` (which
``dictConfig`` calls) is ``Logger.set_level`` too, so a record is filtered
once and the logger's run-time level follows the handler's. ``flush()``
flushes the logger; ``close()`` (and ``logging.shutdown()`` at exit) closes it,
which drains it. A formatter is ignored: the record's fields are the format.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from .message import LATE_FORMAT_TYPES, format_message

if TYPE_CHECKING:
    from .._base import Logger

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS = vars(logging.LogRecord("", 0, "", 0, "", (), None))
_STANDARD_ATTRS = frozenset(_RECORD_ATTRS) | {"message", "asctime"}
#: A record with exactly this many attributes has no ``extra`` ones (a formatter adds ``message``/``asctime``).
_PLAIN_RECORD_LEN = len(_RECORD_ATTRS)
_LATE = LATE_FORMAT_TYPES
#: What ``Handler.handle`` returns for a record that passed no filters: True on 3.11, the record since 3.12.
_HANDLE_RETURNS_RECORD = sys.version_info >= (3, 12)
_FORMATTER = logging.Formatter()  # formatException only: stateless
_plain_filter = logging.Filterer.filter


def exception_text(exc_info: Any) -> str:
    """The ``exc`` field: the traceback text stdlib's default ``Formatter`` writes for ``exc_info``."""
    return _FORMATTER.formatException(exc_info)


def late_formattable(msg: object, args: object) -> bool:
    """True if ``msg % args`` may be formatted later, on the writer's side, with the same text.

    ``msg`` an exact ``str`` and ``args`` a tuple of exact ``str``/``int``/``float``/``bool``/``None``
    (``LATE_FORMAT_TYPES``): immutable values whose ``%`` formatting runs no user code. Anything else
    (a list, a dict, an object with ``__str__``) is formatted in the caller, as stdlib's
    ``QueueHandler.prepare`` does, so a value changed after the call is written as it was.
    """
    if type(msg) is not str or type(args) is not tuple:
        return False
    for arg in args:
        if type(arg) not in _LATE:
            return False
    return True


def plain_entry(target: Logger) -> bool:
    """True if ``target``'s bridge entries (``_handoff_record``/``_handoff_record_args``) are the base
    class's: its level filter, then ``_handoff``/``_handoff_args``, so a caller may inline them. False
    when ``sample=`` (or a subclass) replaced them. Fixed once the logger is constructed."""
    from .._base import Logger

    cls, own = type(target), vars(target)
    return (cls._handoff_record is Logger._handoff_record and cls._handoff_record_args is Logger._handoff_record_args
            and "_handoff_record" not in own and "_handoff_record_args" not in own)


class _NoLock:
    """A lock that is never held: ``with``, ``acquire`` and ``release`` do nothing.

    stdlib takes ``handler.lock`` in ``Handler.handle`` (with a ``with`` statement
    since 3.13), ``setFormatter`` and ``logging.shutdown``; a ``None`` there raises.
    The target logger does its own locking, so this one only has to be usable.
    """

    __slots__ = ()

    def __enter__(self) -> bool:
        return True

    def __exit__(self, *exc_info: object) -> None:
        return None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return True

    def release(self) -> None:
        return None

    def _at_fork_reinit(self) -> None:
        return None


NO_LOCK = _NoLock()


class BridgeHandler(logging.Handler):
    """Forward each stdlib record to a logbench ``Logger`` (see ``Logger.handler``).

    Thread-safe without a handler lock: ``handle`` runs the handler's filters
    and then ``emit`` directly (the target logger serializes its own hand-off);
    ``lock`` is a :data:`NO_LOCK` so stdlib code that takes it still works on
    every supported Python.
    """

    def __init__(self, target: Logger, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._target = target
        self._plain = plain_entry(target)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._filter_overridden = cls.filter is not _plain_filter

    _filter_overridden = False

    def emit(self, record: logging.LogRecord) -> None:
        """The record as ``(ts, level, message, fields)`` to the target logger; its level filter applies
        first (a record below it is not formatted, so no argument's ``__str__`` runs).

        Fields: ``logger``, then ``extra=`` attributes (only looked for when the record has more
        attributes than a plain one), ``exc`` and ``stack``. The message is ``format_message(msg, args)``
        (``getMessage()``); formatted by the target's writer when ``late_formattable``.
        """
        target, level = self._target, record.levelno
        if level < target._min_level:
            return  # the target's level filter (every entry starts with it), before any work
        plain = self._plain
        attrs = record.__dict__
        fields: dict[str, object] = {"logger": record.name}
        if len(attrs) != _PLAIN_RECORD_LEN:
            for key, value in attrs.items():
                if key not in _STANDARD_ATTRS:
                    fields[key] = value
        exc_info = record.exc_info
        if exc_info and exc_info[0] is not None:
            fields["exc"] = exception_text(exc_info)
        if record.stack_info:
            fields["stack"] = record.stack_info
        ts_ns = int(record.created * 1_000_000_000)
        msg, args = record.msg, record.args
        if args and late_formattable(msg, args):
            if plain:  # _handoff_record_args inlined: the level was checked above
                target._handoff_args(ts_ns, level, msg, fields, args)  # type: ignore[arg-type]
            else:
                target._handoff_record_args(ts_ns, level, msg, fields, args)  # type: ignore[arg-type]
            return
        text = msg if not args and type(msg) is str else format_message(msg, args)
        if plain:  # _handoff_record inlined
            target._handoff(ts_ns, level, text, fields)
        else:
            target._handoff_record(ts_ns, level, text, fields)

    def handle(self, record: logging.LogRecord) -> Any:  # bool on 3.11; the record or False since 3.12
        """stdlib's ``Handler.handle`` without the lock: filter (a filter may return a new record), then emit.

        Without filters (and ``filter`` not overridden) the filter call is skipped: it would pass.
        """
        if self.filters or self._filter_overridden:
            rv = self.filter(record)
            if isinstance(rv, logging.LogRecord):
                record = rv
            if rv:
                self.emit(record)
            return rv
        self.emit(record)
        return record if _HANDLE_RETURNS_RECORD else True

    def createLock(self) -> None:  # noqa: N802 - stdlib's name
        """The target logger does its own locking; this handler's lock is a no-op (never ``None``)."""
        self.lock = NO_LOCK  # type: ignore[assignment]

    def acquire(self) -> None:
        pass

    def release(self) -> None:
        pass


class Handler(BridgeHandler):
    """A ``logging.Handler`` writing through its own ``loggers.create(backend, **options)`` logger.

    Raises (at construction, so at ``dictConfig`` time): what ``loggers.create`` raises
    (ValueError, TypeError for an unknown backend, option or value, an unusable path).
    """

    def __init__(self, backend: str, level: int | str = logging.NOTSET, **options: Any) -> None:
        from .. import create

        number = logging._checkLevel(level)  # type: ignore[attr-defined]  # stdlib's names, custom ones too
        logger = create(backend, level=number, **options)
        super().__init__(logger, number)

    @property
    def logger(self) -> Logger:
        """The logbench logger this handler owns (``stats()``, ``set_level``, ``flush``)."""
        return self._target

    def setLevel(self, level: int | str) -> None:  # noqa: N802 - stdlib's name
        super().setLevel(level)
        self._target.set_level(self.level)

    def flush(self) -> None:
        self._target.flush()

    def close(self) -> None:
        """Close (drain) the owned logger, then unregister the handler; idempotent."""
        try:
            self._target.close()
        finally:
            super().close()
