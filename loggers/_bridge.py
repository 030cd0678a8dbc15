"""Stdlib ``logging`` -> logbench: a Handler that hands records to a Logger."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._base import Logger

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


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

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
        except Exception:
            msg = f"{record.msg!r} % {record.args!r} (formatting failed)"
        fields: dict[str, object] = {"logger": record.name}
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS:
                fields[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            fields["exc"] = logging.Formatter().formatException(record.exc_info)
        if record.stack_info:
            fields["stack"] = record.stack_info
        ts_ns = int(record.created * 1_000_000_000)
        self._target._handoff_record(ts_ns, record.levelno, msg, fields)

    def handle(self, record: logging.LogRecord) -> Any:  # bool on 3.11; the record or False since 3.12
        """stdlib's ``Handler.handle`` without the lock: filter (a filter may return a new record), then emit."""
        rv = self.filter(record)
        if isinstance(rv, logging.LogRecord):
            record = rv
        if rv:
            self.emit(record)
        return rv

    def createLock(self) -> None:  # noqa: N802 - stdlib's name
        """The target logger does its own locking; this handler's lock is a no-op (never ``None``)."""
        self.lock = NO_LOCK  # type: ignore[assignment]

    def acquire(self) -> None:
        pass

    def release(self) -> None:
        pass
