"""Stdlib ``logging`` -> logbench: a Handler that hands records to a Logger."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._base import Logger

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class BridgeHandler(logging.Handler):
    """Forward each stdlib record to a logbench ``Logger`` (see ``Logger.handler``)."""

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
        ts_ns = int(record.created * 1_000_000_000)
        self._target._handoff_record(ts_ns, record.levelno, msg, fields)

    def createLock(self) -> None:  # noqa: N802 - stdlib's name
        """The target logger does its own locking; this handler needs none."""
        self.lock = None

    def acquire(self) -> None:
        pass

    def release(self) -> None:
        pass
