"""The accelerated stdlib front end (``loggers._stdlib.accelerate``) against stdlib's own path.

The core is a hypothesis suite: one generated sequence of stdlib operations (calls at every
level with ``%``-arguments of many types, ``extra``, exceptions, ``stack_info``, filters,
propagation, levels, handlers added and removed mid-run) runs once through the standard path
and once accelerated (for every logger, and per logger), each on a fresh hierarchy of its own
``logging.Manager``; what reaches the handlers (and what the calls raise) must be equal, field
by field.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loggers
from loggers._stdlib import accelerate as _accelerate
from loggers._base import Logger
from loggers._stdlib.bridge import BridgeHandler
from loggers._stdlib.message import format_message
from loggers._options import build_options


class Capture(Logger):
    """A logbench logger keeping ``(name, level, message text, fields)`` in one shared list.

    The fields are kept as their ``(key, value)`` pairs: their order is part of what arrives."""

    writes_file = False

    def __init__(self, name: str, out: list[Any]) -> None:
        super().__init__(build_options("capture", frozenset({"path", "level"}), {"level": 0}, requires_path=False))
        self._name, self._out = name, out

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        self._out.append((self._name, level, msg if type(msg) is str else format_message(msg, ()), list(fields.items())))

    def _handoff_args(self, ts_ns: int, level: int, msg: str, fields: Mapping[str, object], args: Any) -> None:
        self._out.append((self._name, level, format_message(msg, args), list(fields.items()), "late"))

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        self._closed = True

    def _counter_values(self) -> dict[str, int]:
        return {}


class Foreign(logging.Handler):
    """A non-logbench handler: records what the bridge would make of each record it gets."""

    def __init__(self, name: str, out: list[Any]) -> None:
        super().__init__()
        self._bridge = BridgeHandler(Capture(name, out))

    def emit(self, record: logging.LogRecord) -> None:
        self._bridge.emit(record)


@pytest.fixture(autouse=True)
def _restore_logger_class() -> Iterator[None]:
    yield
    loggers.accelerate(None, enable=False)


# -- the generated programs ----------------------------------------------------------------------


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        return "BadStr()"


class BadBoth(BadStr):
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class Counter:
    """``__str__`` changes every time: formatting it twice, or late, would show."""

    def __init__(self) -> None:
        self.n = 0

    def __str__(self) -> str:
        self.n += 1
        return f"counter{self.n}"

    def __repr__(self) -> str:  # no address: the two runs' texts must be comparable
        return f"Counter({self.n})"


class Text(str):
    def __str__(self) -> str:
        return "subclass-str"


ARG_MAKERS = {
    "int": lambda: 42, "neg": lambda: -7, "big": lambda: 10**30, "float": lambda: 1.5, "nan": lambda: float("nan"),
    "str": lambda: "hello", "uni": lambda: "h\u00e9\u2028\n\x00", "none": lambda: None, "true": lambda: True,
    "bytes": lambda: b"raw", "list": lambda: [1, "a"], "dict": lambda: {"a": 1}, "tuple": lambda: (1, 2),
    "badstr": BadStr, "badboth": BadBoth, "counter": Counter, "strsub": lambda: Text("x"), "set": lambda: {3},
}
MESSAGES = ["plain", "%s", "%s %s", "%d", "%r and %s", "%(a)s", "100%", "%5.1f", "%c", "{}", Counter, BadStr, 7]
EXTRA_KEYS = ["user", "request_id", "logger", "exc", "ts", "msg", "level", "message", "name", "args", "taskName", "x"]
PLAIN_KEYS = ["user", "request_id", "x"]  # not reserved: drawn more often, so several keys' order is tested
LEVELS = [logging.DEBUG, logging.INFO, 25, logging.WARNING, logging.ERROR, logging.CRITICAL, 5, 0, 60]
NAMES = ["a", "a.b", "a.b.c", "z"]

call = st.fixed_dictionaries({
    "op": st.just("call"),
    "logger": st.sampled_from(NAMES),
    "method": st.sampled_from(["debug", "info", "warning", "error", "critical", "fatal", "exception", "log", "warn"]),
    "level": st.sampled_from(LEVELS),
    "msg": st.sampled_from(range(len(MESSAGES))),
    "args": st.lists(st.sampled_from(["int", "str", "float", "none", "true"] * 3 + sorted(ARG_MAKERS)), max_size=3),
    "mapping": st.sampled_from([False] * 6 + [True]),
    "extra": st.sampled_from([None] * 4) | st.lists(st.sampled_from(EXTRA_KEYS + PLAIN_KEYS * 3), max_size=3),
    "exc": st.sampled_from([None] * 10 + ["true", "instance", "tuple", "false", "outside"]),
    "stack_info": st.sampled_from([False] * 8 + [True]),
    "stacklevel": st.sampled_from([None] * 6 + [1, 2, 5]),  # mostly absent: ``extra=`` alone has a fast path
})
config = st.one_of(
    st.fixed_dictionaries({"op": st.just("set_level"), "logger": st.sampled_from(["", *NAMES]),
                           "level": st.sampled_from(LEVELS)}),
    st.fixed_dictionaries({"op": st.sampled_from(["add_bridge", "add_foreign", "add_null", "add_owned"]),
                           "logger": st.sampled_from(["", *NAMES]), "level": st.sampled_from(LEVELS)}),
    st.fixed_dictionaries({"op": st.just("remove_handler"), "index": st.integers(0, 5)}),
    st.fixed_dictionaries({"op": st.sampled_from(["propagate", "disabled"]), "logger": st.sampled_from(NAMES),
                           "value": st.booleans()}),
    st.fixed_dictionaries({"op": st.sampled_from(["filter_logger", "filter_handler", "unfilter"]),
                           "logger": st.sampled_from(["", *NAMES]), "index": st.integers(0, 5),
                           "kind": st.sampled_from(["drop_errors", "tag", "replace"])}),
    st.fixed_dictionaries({"op": st.just("disable"), "level": st.sampled_from([0, logging.INFO, logging.ERROR])}),
    st.fixed_dictionaries({"op": st.just("handler_level"), "index": st.integers(0, 5),
                           "level": st.sampled_from(LEVELS)}),
)
#: Handlers first (mostly logbench ones, low levels), so most calls reach some; then calls and changes mixed.
setup = st.lists(st.fixed_dictionaries({
    "op": st.sampled_from(["add_bridge", "add_bridge", "add_owned", "add_null", "add_foreign"]),
    "logger": st.sampled_from(["", *NAMES]), "level": st.sampled_from([0, 0, logging.DEBUG, logging.INFO, 25]),
}), min_size=1, max_size=4)
levels = st.lists(st.fixed_dictionaries({"op": st.just("set_level"), "logger": st.sampled_from(["", *NAMES]),
                                         "level": st.sampled_from([0, logging.DEBUG, logging.INFO, 25])}), max_size=3)
programs = st.builds(lambda a, b, c: a + b + c, setup, levels, st.lists(st.one_of(call, call, call, config),
                                                                        min_size=3, max_size=30))


def _filter(kind: str) -> Any:
    if kind == "drop_errors":
        return lambda record: record.levelno != logging.ERROR

    if kind == "tag":
        def tag(record: logging.LogRecord) -> bool:
            record.tagged = "yes"
            return True

        return tag

    def replace(record: logging.LogRecord) -> Any:
        new = logging.makeLogRecord(record.__dict__)
        new.replaced = True
        return new

    return replace


def _raise() -> None:
    raise ValueError("boom")


def _run(program: list[dict[str, Any]], mode: str | None) -> list[Any]:
    """Run ``program`` on a fresh hierarchy; ``mode``: None (stdlib), "class" or "instance"."""
    out: list[Any] = []
    manager = logging.Manager(logging.RootLogger(logging.WARNING))
    manager.root.manager = manager  # as logging.Logger.manager is for the global root

    def get(name: str) -> logging.Logger:
        return manager.root if name == "" else manager.getLogger(name)

    for name in NAMES:
        get(name).manager = manager
    handlers: list[tuple[logging.Logger, logging.Handler]] = []
    filters: list[tuple[logging.Filterer, Any]] = []
    if mode == "class":
        loggers.accelerate()
    if mode == "instance":
        for name in ["", *NAMES]:
            loggers.accelerate(get(name))
    for step, op in enumerate(program):
        kind = op["op"]
        if kind == "call":
            out.append(_call(get(op["logger"]), op))
        elif kind == "set_level":
            get(op["logger"]).setLevel(op["level"])
        elif kind.startswith("add_"):
            name = f"h{step}"
            handler: logging.Handler
            if kind == "add_bridge":
                handler = Capture(name, out).handler(op["level"])
            elif kind == "add_owned":
                handler = loggers.Handler("null", level=op["level"])
                handler._target = Capture(name, out)
            elif kind == "add_foreign":
                handler = Foreign(name, out)
                handler.setLevel(op["level"])
            else:
                handler = logging.NullHandler()
            get(op["logger"]).addHandler(handler)
            handlers.append((get(op["logger"]), handler))
        elif kind == "remove_handler" and handlers:
            owner, handler = handlers.pop(op["index"] % len(handlers))
            owner.removeHandler(handler)
        elif kind == "handler_level" and handlers:
            handlers[op["index"] % len(handlers)][1].setLevel(op["level"])
        elif kind == "propagate":
            get(op["logger"]).propagate = op["value"]
        elif kind == "disabled":
            get(op["logger"]).disabled = op["value"]
        elif kind == "disable":
            manager.disable = op["level"]
            manager._clear_cache()
        elif kind == "filter_logger":
            target: logging.Filterer = get(op["logger"])
            target.addFilter(f := _filter(op["kind"]))
            filters.append((target, f))
        elif kind == "filter_handler" and handlers:
            target = handlers[op["index"] % len(handlers)][1]
            target.addFilter(f := _filter(op["kind"]))
            filters.append((target, f))
        elif kind == "unfilter" and filters:
            target, f = filters.pop(op["index"] % len(filters))
            target.removeFilter(f)
    return out


def _call(logger: logging.Logger, op: dict[str, Any]) -> Any:
    """Make one call as ``op`` says; its outcome: None or the exception it raised (type and text)."""
    maker = MESSAGES[op["msg"]]
    msg = maker() if callable(maker) else maker
    args: tuple[Any, ...] = tuple(ARG_MAKERS[name]() for name in op["args"])
    if op["mapping"]:
        args = ({"a": args[0] if args else 1},)
    kwargs: dict[str, Any] = {}
    if op["extra"] is not None:
        kwargs["extra"] = {key: ARG_MAKERS["int"]() for key in op["extra"]}
    if op["stack_info"]:
        kwargs["stack_info"] = True
    if op["stacklevel"] is not None:
        kwargs["stacklevel"] = op["stacklevel"]
    exc = op["exc"]
    if exc == "false":
        kwargs["exc_info"] = False
    elif exc == "outside":
        kwargs["exc_info"] = True  # no exception being handled: (None, None, None)
    try:
        if exc in ("true", "instance", "tuple"):
            try:
                _raise()
            except ValueError as error:
                if op["method"] != "exception":
                    kwargs["exc_info"] = {"true": True, "instance": error, "tuple": (ValueError, error, error.__traceback__)}[exc]
                return _invoke(logger, op, msg, args, kwargs)
        return _invoke(logger, op, msg, args, kwargs)
    except Exception as error:  # what stdlib raises into the caller must be raised the same way
        return (type(error).__name__, str(error))


def _invoke(logger: logging.Logger, op: dict[str, Any], msg: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    method = op["method"]
    if method == "log":
        logger.log(op["level"], msg, *args, **kwargs)
    elif method == "warn":
        with pytest.warns(DeprecationWarning):
            logger.warn(msg, *args, **kwargs)
    else:
        getattr(logger, method)(msg, *args, **kwargs)


def _comparable(events: list[Any]) -> list[Any]:
    """Late-formatted records are marked; what they say must equal the caller-formatted ones."""
    return [event[:4] if isinstance(event, tuple) and len(event) == 5 else event for event in events]


@settings(deadline=None, max_examples=300)
@given(program=programs, mode=st.sampled_from(["class", "instance"]))
def test_accelerated_calls_deliver_what_stdlib_delivers(program: list[dict[str, Any]], mode: str) -> None:
    runs = []
    for run_mode in (None, mode):  # one call site: stack_info texts are comparable
        runs.append(_run(program, run_mode))
        loggers.accelerate(None, enable=False)
    assert _comparable(runs[1]) == _comparable(runs[0])


# -- the parts, one at a time ------------------------------------------------------------------------


def _hierarchy(name: str) -> tuple[logging.Logger, list[Any]]:
    out: list[Any] = []
    logger = logging.Logger(name, logging.INFO)
    logger.propagate = False
    logger.addHandler(Capture("h", out).handler())
    loggers.accelerate(logger)
    return logger, out


def test_common_calls_take_the_fast_path_and_format_late() -> None:
    logger, out = _hierarchy("fast")
    logger.warning("important: %s", "x")
    logger.info("plain")
    logger.debug("filtered %s", 1)
    assert out == [("h", 30, "important: x", [("logger", "fast")], "late"), ("h", 20, "plain", [("logger", "fast")])]
    assert _accelerate.accelerated(logger)


def test_extra_alone_takes_the_fast_path_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    logger, out = _hierarchy("extra")

    def no_record(*args: object, **kwargs: object) -> None:
        raise AssertionError("a LogRecord was built")

    monkeypatch.setattr(logging.LogRecord, "__init__", no_record)
    logger.info("m %s", "a", extra={"user": 1, "x": [2], "logger": "mine"})
    assert out == [("h", 20, "m a", [("logger", "mine"), ("user", 1), ("x", [2])], "late")]
    with pytest.raises(KeyError, match="Attempt to overwrite 'msg' in LogRecord"):
        logger.info("m", extra={"user": 1, "msg": 2})
    assert len(out) == 1


@pytest.mark.parametrize("accelerated", [False, True])
def test_a_record_below_the_targets_level_is_never_formatted(accelerated: bool) -> None:
    """The stdlib logger lets DEBUG through, the logbench logger behind the handler is at INFO: through the
    bridge and accelerated alike nothing arrives and the argument's ``__str__`` never runs (it would
    have, formatted in the caller, before the target's level dropped the record)."""
    calls: list[int] = []

    class Loud:
        def __str__(self) -> str:
            calls.append(1)
            return "loud"

    out: list[Any] = []
    target = Capture("h", out)
    target.set_level("INFO")
    logger = logging.Logger("below", logging.DEBUG)
    logger.propagate = False
    logger.addHandler(target.handler())
    if accelerated:
        loggers.accelerate(logger)
    logger.debug("value %s", Loud())
    logger.debug("value %s", Loud(), extra={"user": 1})
    assert out == [] and calls == []
    logger.info("value %s", Loud())
    assert out == [("h", 20, "value loud", [("logger", "below")])] and calls == [1]


def test_mutable_arguments_are_formatted_in_the_caller() -> None:
    logger, out = _hierarchy("mutable")
    items = [1]
    logger.warning("items %s", items)
    items.append(2)
    assert out == [("h", 30, "items [1]", [("logger", "mutable")])]


def test_plan_follows_configuration_changes() -> None:
    logger, out = _hierarchy("cfg")
    logger.warning("one")
    seen: list[logging.LogRecord] = []

    class Other(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    other = Other()
    logger.addHandler(other)  # a foreign handler: the standard path, for both
    logger.warning("two")
    assert [r.getMessage() for r in seen] == ["two"] and out[-1][2] == "two"
    logger.removeHandler(other)
    logger.addFilter(lambda r: r.getMessage() != "three")
    logger.warning("three")
    logger.filters.clear()
    logger.warning("four")
    logger.handlers[0].setLevel(logging.ERROR)
    logger.warning("five")
    logger.propagate = True  # now the root's handlers count too (lastResort stays out: this one has one)
    assert [event[2] for event in out] == ["one", "two", "four"]


def test_a_new_intermediate_logger_is_followed() -> None:
    manager = logging.Manager(logging.RootLogger(logging.WARNING))
    out: list[Any] = []
    child = manager.getLogger("p.c")
    child.manager = manager
    loggers.accelerate(child)
    child.addHandler(Capture("child", out).handler())
    child.warning("before")
    parent = manager.getLogger("p")  # becomes child's parent
    parent.addHandler(Capture("parent", out).handler())
    child.warning("after")
    assert [(e[0], e[2]) for e in out] == [("child", "before"), ("child", "after"), ("parent", "after")]


def test_stack_info_and_caller_are_the_applications(tmp_path: Path) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.Logger("stack", logging.INFO)
    logger.addHandler(Keep())
    loggers.accelerate(logger)
    logger.warning("here", stack_info=True)
    assert records[0].pathname == __file__ and records[0].funcName == "test_stack_info_and_caller_are_the_applications"
    assert 'logger.warning("here", stack_info=True)' in (records[0].stack_info or "")


def test_enable_false_restores_stdlib() -> None:
    loggers.accelerate()
    assert logging.Logger.warning is _accelerate._FAST["warning"]
    loggers.accelerate(enable=False)
    assert logging.Logger.warning is _accelerate._STDLIB["warning"]
    with pytest.raises(TypeError):
        loggers.accelerate("app")  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["sync", "thread-queue", "subprocess", "mmap", "asyncio"])
def test_every_backend_writes_the_same_lines_accelerated(backend: str, tmp_path: Path) -> None:
    import json

    texts = []
    for accelerated in (False, True):
        path = tmp_path / f"{accelerated}.log"
        log = loggers.create(backend, path=str(path))
        logger = logging.Logger(f"same.{backend}", logging.INFO)
        logger.propagate = False
        logger.addHandler(log.handler())
        if accelerated:
            loggers.accelerate(logger)
        logger.warning("important: %s", "x")
        logger.warning("n=%d f=%s none=%s %s", 3, 1.5, None, True)
        logger.warning("%s %s", "too few")
        logger.info("ctx", extra={"user": 7})
        logger.error("list %s", [1, 2])
        log.close()
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        texts.append([{k: v for k, v in line.items() if k != "ts"} for line in lines])
    assert texts[1] == texts[0] and len(texts[0]) == 5
    assert texts[0][2]["msg"] == "'%s %s' % ('too few',) (formatting failed)"


def test_silent_call_builds_no_plan() -> None:
    logger, _ = _hierarchy("silent")
    logger.debug("x")
    assert _accelerate._PLAN not in logger._cache  # type: ignore[attr-defined]


def test_subprocess_frames_with_args_reach_the_writer(tmp_path: Path) -> None:
    log = loggers.create("subprocess", path=str(tmp_path / "s.log"))
    log._handoff_args(1, 30, "a %s", {}, ("b",))
    log.close()
    assert '"msg":"a b"' in (tmp_path / "s.log").read_text()
    assert os.path.exists(tmp_path / "s.log")


def test_sampling_applies_to_accelerated_calls(tmp_path: Path) -> None:
    log = loggers.create("sync", path=str(tmp_path / "s.log"), level="DEBUG", sample={"DEBUG": 0.1})
    logger = logging.Logger("sampled", logging.DEBUG)
    logger.propagate = False
    logger.addHandler(log.handler())
    loggers.accelerate(logger)
    for i in range(20):
        logger.debug("n %d", i)
    log.close()
    import json

    assert [json.loads(line)["msg"] for line in (tmp_path / "s.log").read_text().splitlines()] == ["n 0", "n 10"]
