"""``loggers.Handler``: a stdlib ``logging.Handler`` that owns a logbench logger (for ``dictConfig``).

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

Records go through as with ``Logger.handler()`` (``loggers._bridge``: the
message, level, time; ``logger``, ``extra=`` fields, ``exc`` and ``stack``
text). The handler's level is its logger's level: ``setLevel`` (which
``dictConfig`` calls) is ``Logger.set_level`` too, so a record is filtered
once and the logger's run-time level follows the handler's. ``flush()``
flushes the logger; ``close()`` (and ``logging.shutdown()`` at exit) closes it,
which drains it. A formatter is ignored: the record's fields are the format.
"""

from __future__ import annotations

import logging
from typing import Any

from ._base import Logger
from ._bridge import BridgeHandler


class Handler(BridgeHandler):
    """A ``logging.Handler`` writing through its own ``loggers.create(backend, **options)`` logger.

    Raises (at construction, so at ``dictConfig`` time): what ``loggers.create`` raises
    (ValueError, TypeError for an unknown backend, option or value, an unusable path).
    """

    def __init__(self, backend: str, level: int | str = logging.NOTSET, **options: Any) -> None:
        from . import create

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
