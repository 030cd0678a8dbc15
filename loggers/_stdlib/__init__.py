"""Everything between stdlib ``logging`` and a logbench backend, in one folder.

``bridge``
    :class:`~loggers._stdlib.bridge.BridgeHandler` (``Logger.handler()``) and
    ``loggers.Handler`` (for ``dictConfig``): stdlib records into a backend.
``accelerate``
    ``loggers.accelerate()``: stdlib ``Logger`` calls whose records all end in
    logbench handlers skip the ``LogRecord`` on their way to the backend.
``message``
    ``format_message``: stdlib's ``msg % args`` rule, byte-identical to
    ``LogRecord.getMessage()``, used wherever the message is formatted (caller or
    writer side). Importing it does not import ``logging``.

This ``__init__`` imports nothing, so the writer side can import ``message`` alone.
"""
