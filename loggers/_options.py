"""Every option of every backend, documented and validated in one place; the log levels.

``loggers.create(name, **options)`` builds one :class:`Options`; each backend
declares which optional settings it takes (``Logger.accepts``) and ``create``
refuses the others by name, so a typo never silently becomes a default.

Options (all keyword-only):

``path`` (str | os.PathLike, required by every writing backend unless ``stream`` is given)
    The log file. Missing parent directories are created; the file is opened at
    ``create()`` time, so an unwritable location fails there, not at log time.
``stream`` (``"stdout"`` | ``"stderr"``, instead of ``path``; default None)
    Write to the process's file descriptor 1 or 2 (``sys.stdout``/``sys.stderr``
    objects are taken too). No rotation: ``max_bytes`` with a stream is a
    ``ValueError``. A reader that goes away (EPIPE) never raises into the
    application: the rest is counted as dropped (``loggers._sink.stream``).
``level`` (str | int, default ``"INFO"``)
    Records below it are discarded before any work is done.
``max_bytes`` (int > 0 | None, default None)
    Rotate before a write would make the file exceed this many *bytes* of
    encoded records. None never rotates.
``backup_count`` (int >= 0, default 5)
    Rotated files kept as ``path.1`` (newest) ... ``path.N``; older ones are deleted.
``queue_size`` (int > 0, queued backends, default 65536)
    Records the hand-off holds at most; see ``overflow``.
``overflow`` (``"block"`` | ``"drop_new"`` | ``"drop_old"``, queued backends, default ``"block"``)
    What a full queue does: the caller waits, the new record is dropped, or the
    oldest queued record is dropped. Every drop is counted in ``stats()["dropped"]``.
``batch_size`` (int > 0, queued backends, default 512)
    Records the writer takes and writes per system call at most; reaching it
    also wakes the writer early.
``flush_interval`` (float > 0 seconds, queued backends, default 0.05)
    Longest time a record waits in the queue before the writer wakes for it.
``fsync`` (bool, default False, backends that support it)
    Call ``fsync`` after each batch: survives power loss, costs a disk round trip.
``sample`` (mapping of level -> fraction in (0, 1], default None)
    Keep that fraction of the records of each named level, deterministically:
    every n-th call with ``n = round(1 / fraction)``, the first one kept.
    WARNING and above are never sampled (their entries are ignored). Sampled-out
    calls count in ``stats()["sampled_out"]`` (``loggers._policies.sampling``).
``on_pressure`` (callable(dict) -> None, queued backends, default None)
    Told when the queue first passes 80% of ``queue_size``, at the first drop
    after a quiet second and when it drains below 50% (``loggers._policies.pressure``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import Any

# -- levels: the five standard names and their stdlib-compatible numbers --------------------

DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40
CRITICAL = 50

LEVEL_NUMBERS: dict[str, int] = {
    "DEBUG": DEBUG,
    "INFO": INFO,
    "WARNING": WARNING,
    "WARN": WARNING,
    "ERROR": ERROR,
    "CRITICAL": CRITICAL,
    "FATAL": CRITICAL,
}
LEVEL_NAMES: dict[int, str] = {
    DEBUG: "DEBUG",
    INFO: "INFO",
    WARNING: "WARNING",
    ERROR: "ERROR",
    CRITICAL: "CRITICAL",
}


def level_name(level: int) -> str:
    """The name written in a record: a standard name, or ``LEVEL<n>`` for others."""
    name = LEVEL_NAMES.get(level)
    return name if name is not None else f"LEVEL{level}"


def parse_level(value: object, option: str = "level") -> int:
    """Turn a level name (any case) or a non-negative int into its number.

    Raises:
        TypeError: ``value`` is neither ``str`` nor ``int`` (``bool`` is refused).
        ValueError: an unknown name or a negative number; the message names ``option``.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"{option}: expected a level name or int, got {type(value).__name__}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{option}: level must be >= 0, got {value}")
        return value
    number = LEVEL_NUMBERS.get(value.upper())
    if number is None:
        known = ", ".join(sorted(LEVEL_NAMES.values()))
        raise ValueError(f"{option}: unknown level name {value!r} (known: {known})")
    return number


# -- options ------------------------------------------------------------------------------

OVERFLOW_POLICIES = ("block", "drop_new", "drop_old")

# Options every writing backend takes; the rest are opt-in per backend.
COMMON_OPTIONS = frozenset({"path", "level", "max_bytes", "backup_count"})
# Every reference writing backend takes these too (peers in harness/ take COMMON_OPTIONS only).
PRODUCTION_OPTIONS = frozenset({"stream", "sample"})
QUEUE_OPTIONS = frozenset({"queue_size", "overflow", "batch_size", "flush_interval", "on_pressure"})
STREAMS = ("stdout", "stderr")
_STREAM_FDS = {1: "stdout", 2: "stderr"}


@dataclasses.dataclass(frozen=True)
class Options:
    """Validated settings of one logger. See the module docstring for each field."""

    path: str | None = None
    level: int = INFO
    max_bytes: int | None = None
    backup_count: int = 5
    queue_size: int = 65536
    overflow: str = "block"
    batch_size: int = 512
    flush_interval: float = 0.05
    fsync: bool = False
    stream: str | None = None
    #: ``(level, every_n)`` pairs, levels below WARNING only (see ``sample`` above); built by ``build_options``.
    sample: tuple[tuple[int, int], ...] = ()
    on_pressure: Callable[[dict[str, Any]], object] | None = None

    @property
    def target(self) -> str:
        """What the records go to, for names and messages: the path, or ``<stdout>``/``<stderr>``."""
        return f"<{self.stream}>" if self.stream is not None else str(self.path)

    def __post_init__(self) -> None:
        _check_int("backup_count", self.backup_count, minimum=0)
        if self.max_bytes is not None:
            _check_int("max_bytes", self.max_bytes, minimum=1)
        _check_int("queue_size", self.queue_size, minimum=1)
        _check_int("batch_size", self.batch_size, minimum=1)
        if self.overflow not in OVERFLOW_POLICIES:
            raise ValueError(
                f"overflow: expected one of {', '.join(OVERFLOW_POLICIES)}, got {self.overflow!r}"
            )
        if isinstance(self.flush_interval, bool) or not isinstance(self.flush_interval, (int, float)):
            raise TypeError(f"flush_interval: expected seconds as a number, got {type(self.flush_interval).__name__}")
        if not self.flush_interval > 0 or self.flush_interval == float("inf"):
            raise ValueError(f"flush_interval: must be a positive finite number of seconds, got {self.flush_interval!r}")
        if not isinstance(self.fsync, bool):
            raise TypeError(f"fsync: expected a bool, got {type(self.fsync).__name__}")
        if self.stream is not None:
            if self.stream not in STREAMS:
                raise ValueError(f"stream: expected one of {', '.join(STREAMS)}, got {self.stream!r}")
            if self.path is not None:
                raise ValueError("stream: give either path=... or stream=..., not both")
            if self.max_bytes is not None:
                raise ValueError("max_bytes: a stream cannot be rotated; max_bytes needs path=...")
        if self.on_pressure is not None and not callable(self.on_pressure):
            raise TypeError(f"on_pressure: expected a callable, got {type(self.on_pressure).__name__}")


def build_options(
    backend: str, accepts: frozenset[str], raw: dict[str, Any], *, requires_path: bool = True
) -> Options:
    """Validate ``raw`` keyword options for ``backend`` into :class:`Options`.

    Raises:
        TypeError: an option this backend does not take, or a value of the wrong type.
        ValueError: a value out of range, a bad level name, or an unusable ``path``.
    """
    unknown = sorted(set(raw) - accepts)
    if unknown:
        raise TypeError(
            f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"for backend {backend!r} (it takes: {', '.join(sorted(accepts))})"
        )
    values = dict(raw)
    if "level" in values:
        values["level"] = parse_level(values["level"])
    if values.get("stream") is not None:
        values["stream"] = _check_stream(values["stream"])
        if values.get("path") is not None:
            raise ValueError("stream: give either path=... or stream=..., not both")
    elif requires_path or values.get("path") is not None:
        values["path"] = _check_path(values.get("path"))
    if values.get("sample") is not None:
        values["sample"] = parse_sample(values["sample"])
    else:
        values.pop("sample", None)
    return Options(**values)


def parse_sample(sample: object) -> tuple[tuple[int, int], ...]:
    """``{"DEBUG": 0.01, "INFO": 0.1}`` -> ``((10, 100), (20, 10))``: (level, keep every n-th), sorted.

    Levels of WARNING and above are left out (never sampled); a fraction of 1 keeps everything.

    Raises:
        TypeError: not a mapping, or a fraction that is not a number.
        ValueError: a bad level name, or a fraction outside (0, 1].
    """
    if not isinstance(sample, Mapping):
        raise TypeError(f"sample: expected a mapping of level -> fraction, got {type(sample).__name__}")
    every: dict[int, int] = {}
    for key, fraction in sample.items():
        level = parse_level(key, "sample")
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
            raise TypeError(f"sample: fraction for {key!r} must be a number, got {type(fraction).__name__}")
        if not 0 < fraction <= 1:
            raise ValueError(f"sample: fraction for {key!r} must be in (0, 1], got {fraction!r}")
        n = max(1, round(1 / fraction))
        if level < WARNING and n > 1:
            every[level] = n
    return tuple(sorted(every.items()))


def _check_stream(stream: object) -> str:
    """``"stdout"``/``"stderr"`` (any case), or a file object on descriptor 1 or 2, as the stream's name."""
    if isinstance(stream, str):
        if stream.lower() in STREAMS:
            return stream.lower()
        raise ValueError(f"stream: expected one of {', '.join(STREAMS)}, got {stream!r}")
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
    except Exception:
        raise TypeError(f"stream: expected 'stdout' or 'stderr', got {type(stream).__name__}") from None
    if fd not in _STREAM_FDS:
        raise ValueError(f"stream: only descriptors 1 (stdout) and 2 (stderr) are supported, got {fd}")
    return _STREAM_FDS[fd]


def _check_int(option: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{option}: expected an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{option}: must be >= {minimum}, got {value}")


def _check_path(path: object) -> str:
    """Return ``path`` as a str after making sure its directory exists and is writable."""
    if path is None:
        raise TypeError("path: this backend writes a file and needs path=... (or stream='stdout')")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected str or os.PathLike, got {type(path).__name__}")
    text = os.fsdecode(os.fspath(path))
    if not text or text.endswith(os.sep):
        raise ValueError(f"path: must name a file, got {text!r}")
    directory = os.path.dirname(os.path.abspath(text))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"path: cannot create directory {directory!r}: {exc.strerror or exc}") from exc
    if os.path.isdir(text):
        raise ValueError(f"path: {text!r} is a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ValueError(f"path: directory {directory!r} is not writable")
    return text
