"""The message of a stdlib-style call: ``msg % args``, as ``logging.LogRecord.getMessage()`` makes it.

One home for the rule the bridge, the accelerated front end and the encoder (on
the writer's side) share, so the text is the same wherever it is formatted.
"""

from __future__ import annotations

__all__ = ["LATE_FORMAT_TYPES", "format_message"]

#: Argument types whose ``%`` formatting gives the same text whenever it runs (exact types: no
#: subclass ``__str__``/``__format__``); only records whose args are all of these may be formatted later.
LATE_FORMAT_TYPES = frozenset({str, int, float, bool, type(None)})


def format_message(msg: object, args: object) -> str:
    """``str(msg) % args`` if ``args`` (stdlib's ``LogRecord.getMessage()``, byte for byte); never raises.

    A message that cannot be formatted (wrong argument count, a ``__str__`` that
    raises) becomes ``"<repr(msg)> % <repr(args)> (formatting failed)"``, as the
    stdlib bridge has always written it; if even ``repr`` raises, a marker.
    """
    try:
        text = str(msg)
        if args:
            text = text % args
        return text
    except Exception:
        try:
            return f"{msg!r} % {args!r} (formatting failed)"
        except Exception:
            return f"<unformattable message of {type(msg).__qualname__}> (formatting failed)"
