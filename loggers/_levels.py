"""Log levels: the five standard names and their stdlib-compatible numbers."""

from __future__ import annotations

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
