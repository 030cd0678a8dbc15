"""The accelerated stdlib front end: ``logging.getLogger(__name__).warning(...)`` without a ``LogRecord``.

    import loggers
    loggers.accelerate()            # every logging.Logger; or loggers.accelerate(logging.getLogger("app"))

After :func:`accelerate`, a stdlib call (``debug`` ... ``critical``, ``fatal``,
``log``; ``exception``, ``warn`` and ``LoggerAdapter`` go through them) whose
records all end in logbench handlers (:class:`loggers._stdlib.bridge.BridgeHandler`:
``log.handler()``, ``loggers.Handler``) goes from stdlib's own level check
(``isEnabledFor``: levels, ``disabled``, ``logging.disable``) straight to the
backend's hand-off: no ``LogRecord``, no ``findCaller``, no handler lock, and
``msg % args`` formatted by the backend's writer when the arguments are
immutable scalars (``_bridge.late_formattable``; others are formatted in the
caller, as ``QueueHandler`` does, so a list changed after the call is written
as it was). What arrives is what the bridge makes of stdlib's record: the same
message text (``format_message`` = ``getMessage()``, or its failure text), level,
``logger``, ``extra`` fields in order, ``exc`` and ``stack`` text, to the same
handlers in the same order; a bad ``extra`` key raises the same ``KeyError``.
``tests/test_accelerate.py`` holds the two paths to that, field by field (hypothesis).

The standard path (the original method, so stdlib decides everything) is
taken per call when the fast one cannot be exact: ``stack_info``, an unknown
keyword, a ``stacklevel`` that is not an int; and per logger when its *plan*
says so: a filter on the logger or on a handler on the path, a handler that is
not a logbench one (``NullHandler`` is allowed: it does nothing), no handler
at all (``lastResort``), a ``Logger`` subclass overriding ``_log``/``makeRecord``/
``handle``/``callHandlers``/``filter``, or a custom record factory
(``setLogRecordFactory``: it may add fields).

The plan (the handlers a record reaches, or "standard") is cached per logger in
its ``_cache``, so stdlib's own invalidation drops it (``setLevel`` anywhere,
``logging.disable``, ``dictConfig``), and each call checks it is still current,
cheaply: the origin's ``filters``, and for each logger on the path its
``handlers`` (compared with the plan's copy, element identity), ``propagate``
and ``parent``; each handler's ``filters`` and ``level``; the record factory.
So ``addHandler``/``removeHandler``/``addFilter``, assignments to ``propagate``,
``handlers`` or ``level`` and new intermediate loggers are followed on the next call.
Not followed: replacing methods of ``logging.Logger`` or of a handler class after
the plan was made.

Thread-safety: as stdlib's; two threads may build the same plan at once (the
last one stored wins, both are equal). :func:`accelerate` itself is for
start-up: call it once, before threads log.
"""

from __future__ import annotations

import logging
import sys
import time
import types
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .bridge import _STANDARD_ATTRS, BridgeHandler, exception_text, late_formattable, plain_entry
from .message import LATE_FORMAT_TYPES as _LATE
from .message import format_message

if TYPE_CHECKING:
    from .._base import Logger as Target

__all__ = ["accelerate"]

_time_ns = time.time_ns
_Logger = logging.Logger
_LogRecord = logging.LogRecord
_logging = logging
_PLAN = "logbench.plan"  # the key in a Logger's ``_cache`` (its other keys are level numbers)
_KEYWORDS = frozenset({"exc_info", "extra", "stack_info", "stacklevel"})
#: Logger methods the fast path stands in for: a subclass overriding one gets the standard path.
_STANDARD_MACHINERY = ("_log", "makeRecord", "handle", "callHandlers", "filter")
_ORIGINAL = {name: getattr(_Logger, name) for name in _STANDARD_MACHINERY}
#: The entries :func:`accelerate` replaces, with stdlib's own functions (the standard path).
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR, "critical": logging.CRITICAL, "fatal": logging.CRITICAL}
_STDLIB = {name: vars(_Logger)[name] for name in (*_LEVELS, "log")}


class _Plan:
    """Where one logger's records go, and what must still hold for that to be true.

    ``targets`` is ``None`` for "take the standard path", else the ``(handler, logbench logger)``
    pairs in ``callHandlers`` order. ``chain`` holds, per logger on the path, the logger, a copy
    of its handler list, its ``propagate`` and its ``parent``.
    """

    __slots__ = ("chain", "filters", "handlers", "plain", "targets")

    def __init__(self, logger: logging.Logger) -> None:
        chain: list[tuple[logging.Logger, list[logging.Handler], bool, Any]] = []
        handlers: list[logging.Handler] = []
        c: Any = logger
        while c:
            chain.append((c, list(c.handlers), bool(c.propagate), c.parent))
            handlers.extend(c.handlers)
            c = c.parent if c.propagate else None
        self.chain = tuple(chain)
        self.filters = list(logger.filters)
        self.handlers = tuple(handlers)
        self.targets = self._targets(logger, handlers)
        #: Every target takes records as ``Logger._handoff_record(_args)`` says (no ``sample=``, no override):
        #: the methods may inline those two entries.
        self.plain = self.targets is not None and all(plain_entry(target) for _, target in self.targets)

    @staticmethod
    def _targets(logger: logging.Logger, handlers: list[logging.Handler]) -> tuple[tuple[Any, Target], ...] | None:
        if logger.filters or not handlers or _logging._logRecordFactory is not _LogRecord:  # type: ignore[attr-defined]
            return None
        kind = type(logger)
        if any(getattr(kind, name) is not _ORIGINAL[name] for name in _STANDARD_MACHINERY):
            return None
        targets = []
        for handler in handlers:
            cls = type(handler)
            if cls is logging.NullHandler:
                continue  # counts as a handler (no lastResort), does nothing
            if not isinstance(handler, BridgeHandler) or handler.filters or handler._filter_overridden:
                return None
            if cls.emit is not BridgeHandler.emit or cls.handle is not BridgeHandler.handle:
                return None
            targets.append((handler, handler._target))
        return tuple(targets)

    def current(self, logger: logging.Logger) -> bool:
        """True while nothing the plan depends on changed (see the module docstring)."""
        if logger.filters != self.filters or _logging._logRecordFactory is not _LogRecord:  # type: ignore[attr-defined]
            return False
        for c, handlers, propagate, parent in self.chain:
            if c.handlers != handlers or bool(c.propagate) is not propagate or (propagate and c.parent is not parent):
                return False
        for handler in self.handlers:
            if handler.filters:
                return False
        return True


def _plan_for(logger: logging.Logger) -> _Plan:
    """The logger's current plan: the cached one if still current, else a new one (cached)."""
    plan = logger._cache.get(_PLAN)  # type: ignore[attr-defined]
    if plan is None or not plan.current(logger):
        plan = _Plan(logger)
        logger._cache[_PLAN] = plan  # type: ignore[attr-defined]
    return plan  # type: ignore[no-any-return]


def _emit(logger: logging.Logger, level: int, msg: object, args: tuple[object, ...], kwargs: dict[str, Any]) -> bool:
    """Send one enabled call to the logbench handlers; False: the standard path must take it (nothing sent).

    The general case (keywords, mappings, exceptions); the methods inline the common one.
    """
    targets = _plan_for(logger).targets
    if targets is None:
        return False
    exc_info = extra = None
    if kwargs:
        if not kwargs.keys() <= _KEYWORDS or kwargs.get("stack_info") or type(kwargs.get("stacklevel", 1)) is not int:
            return False
        exc_info, extra = kwargs.get("exc_info"), kwargs.get("extra")
    if exc_info:  # Logger._log's normalisation
        if isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        elif not isinstance(exc_info, tuple):
            exc_info = sys.exc_info()
    if args and len(args) == 1 and type(args[0]) not in _SCALARS and isinstance(args[0], Mapping) and args[0]:
        args = args[0]  # type: ignore[assignment]  # LogRecord.__init__: one mapping argument is the mapping
    fields: dict[str, object] = {"logger": logger.name}
    if extra is not None:  # Logger.makeRecord's rules
        for key in extra:
            if key in _STANDARD_ATTRS:
                raise KeyError("Attempt to overwrite %r in LogRecord" % key)
            fields[key] = extra[key]
    # the handler's level, then the target's, as the bridge's emit checks it: before any formatting
    accepting = [target for handler, target in targets if level >= handler.level and level >= target._min_level]
    if not accepting:
        return True
    ts_ns = _time_ns()
    late = bool(args) and late_formattable(msg, args)
    for target in accepting:  # like each bridge handler's emit: user __str__ code runs once per handler
        if exc_info and exc_info[0] is not None:
            fields = dict(fields)
            fields["exc"] = exception_text(exc_info)
        if late:
            target._handoff_record_args(ts_ns, level, msg, fields, args)  # type: ignore[arg-type]
        else:
            target._handoff_record(ts_ns, level, msg if type(msg) is str and not args else format_message(msg, args), fields)
    return True


_SCALARS = frozenset({str, int, float, bool, type(None), bytes})


def _level_method(name: str, level: int) -> Callable[..., None]:
    """stdlib's ``Logger.<name>``, accelerated: the common call (a ``str`` message, scalar arguments,
    no keyword or only ``extra=`` a ``dict`` without reserved keys) inline; everything else through
    :func:`_emit` or the standard path."""
    standard = _STDLIB[name]
    reserved = _STANDARD_ATTRS

    def method(self: logging.Logger, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        plan = self._cache.get(_PLAN)  # type: ignore[attr-defined]
        if plan is None or not plan.current(self):
            plan = _plan_for(self)
        targets = plan.targets
        if targets is not None and plan.plain and type(msg) is str:
            if not kwargs:
                fields: dict[str, object] | None = {"logger": self.name}
            elif len(kwargs) == 1 and type(extra := kwargs.get("extra")) is dict and reserved.isdisjoint(extra):
                fields = {"logger": self.name, **extra}  # Logger.makeRecord's rules: no reserved key
            else:
                fields = None
            for arg in args:
                if type(arg) not in _LATE:
                    fields = None
                    break
            if fields is not None:
                ts_ns = _time_ns()
                for handler, target in targets:
                    # _handoff_record(_args) inlined: the target's level, then its hand-off (plain targets only)
                    if level >= handler.level and level >= target._min_level:
                        if args:
                            target._handoff_args(ts_ns, level, msg, fields, args)
                        else:
                            target._handoff(ts_ns, level, msg, fields)
                return
        if not _emit(self, level, msg, args, kwargs):
            standard(self, msg, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"stdlib's ``Logger.{name}``, accelerated (``loggers._stdlib.accelerate``)."
    return method


def _log_method() -> Callable[..., None]:
    standard = _STDLIB["log"]

    def log(self: logging.Logger, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if type(level) is int and self.isEnabledFor(level) and _emit(self, level, msg, args, kwargs):
            return
        if type(level) is not int or self.isEnabledFor(level):  # not an int: stdlib raises or ignores it
            standard(self, level, msg, *args, **kwargs)

    log.__doc__ = "stdlib's ``Logger.log``, accelerated (``loggers._stdlib.accelerate``)."
    return log


def _as_logging_frame(function: Callable[..., None]) -> Callable[..., None]:
    """``function`` with its code's file name set to logging's own, so ``findCaller`` skips its frame.

    The accelerated methods call stdlib's when they take the standard path; ``findCaller``
    (``stack_info``, ``stacklevel``, the record's ``pathname``/``lineno``/``funcName``) skips frames
    of ``logging/__init__.py`` (``logging._srcfile``) on every supported Python, so with this the
    caller it finds is the application's, as without acceleration. (A traceback through these
    frames names logging's file, with this module's line numbers.)
    """
    function.__code__ = function.__code__.replace(co_filename=logging.addLevelName.__code__.co_filename)
    return function


_FAST: dict[str, Callable[..., None]] = {
    name: _as_logging_frame(_level_method(name, level)) for name, level in _LEVELS.items()
}
_FAST["log"] = _as_logging_frame(_log_method())


def accelerate(logger: logging.Logger | None = None, *, enable: bool = True) -> None:
    """Route stdlib calls to logbench handlers without a ``LogRecord`` (see the module docstring).

    Args:
        logger: one ``logging.Logger`` (its own calls only: a child logger is not included), or
            None for every ``logging.Logger`` and subclass that does not define these methods itself
            (the methods of the class are replaced).
        enable: False undoes an earlier call for the same ``logger`` (or for the class).

    Raises:
        TypeError: ``logger`` is neither None nor a ``logging.Logger``.
    """
    if logger is not None and not isinstance(logger, _Logger):
        raise TypeError(f"accelerate() takes a logging.Logger or None, not {type(logger).__name__}")
    for name, fast in _FAST.items():
        if logger is None:
            setattr(_Logger, name, fast if enable else _STDLIB[name])
        elif enable:
            setattr(logger, name, types.MethodType(fast, logger))
        else:
            logger.__dict__.pop(name, None)


def accelerated(logger: logging.Logger) -> bool:
    """True if ``logger``'s ``warning`` is the accelerated one (for tests and diagnostics)."""
    return getattr(getattr(logger, "warning", None), "__func__", None) is _FAST["warning"]
