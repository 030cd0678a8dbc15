"""The one encoder: a record becomes exactly one line of JSON, whatever it holds.

Format: ``{"ts": "2026-11-24T11:05:31.123456Z", "level": "INFO", "msg": "...", <fields>}\\n``.

Rules (the contract every backend inherits):

* Output is pure ASCII (``ensure_ascii``): newlines, CR, NUL, ANSI escapes,
  U+2028/U+2029, lone surrogates and every other non-ASCII character are
  written as JSON escapes, so no content can split a line, forge a record or
  reach a terminal as a control sequence. ``json.loads`` gives the text back.
* A ``msg`` that is not a ``str`` is written as ``str(msg)``.
* Field values JSON cannot represent are written as ``repr(value)``; NaN and
  infinities too (as ``"nan"``, ``"inf"``); a value whose ``repr`` raises (or
  recurses) becomes ``"<unrepresentable TypeName>"`` and counts one error.
* A record may carry ``args`` (the stdlib front ends': ``log.warning("a %s", x)``):
  its message is then ``format_message(msg, args)``, stdlib's
  ``LogRecord.getMessage()`` text, formatted here (where the encoder runs).
* A field named ``ts``, ``level`` or ``msg`` never overwrites the record's own:
  it is written with ``_`` prepended (``msg`` -> ``_msg``), repeated until the
  name is free. Other fields keep call order.

Two paths, one output: a record whose field values are all plain ``str``,
``int``, finite ``float``, ``bool`` or ``None`` (the common case) is joined
from pieces in Python (``_encode_plain``, ~2.2 µs for six fields here); any
other record goes through the C JSON encoder with the fallbacks above (~3 µs).
A hypothesis test holds the two to byte-identical output.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from json.encoder import encode_basestring_ascii

from .._stdlib.message import format_message
from .._options import LEVEL_NAMES, level_name

try:
    from json.encoder import c_make_encoder  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - interpreters without the C accelerator
    c_make_encoder = None

RESERVED = ("ts", "level", "msg")
_MAX_CACHED_NAMES = 1024  # field names whose JSON form is kept; a caller inventing names cannot grow it
_escape = encode_basestring_ascii
_int_repr, _float_repr, _isfinite = int.__repr__, float.__repr__, math.isfinite
_CONSTANTS = {True: "true", False: "false", None: "null"}


def _level_part(level: int) -> str:
    """The JSON between the timestamp and the message for ``level``."""
    return '","level":' + _escape(level_name(level)) + ',"msg":'


_LEVEL_PARTS = {level: _level_part(level) for level in LEVEL_NAMES}
#: ``(ts_ns, level, msg, fields)``, or with ``args`` as a fifth item (see :func:`format_message`).
_Record = tuple[object, ...]
class JsonLinesEncoder:
    """Encode records to JSON Lines bytes.

    Not thread-safe: one instance is used by one thread at a time (the backend's
    writer, or a caller holding the sink lock). ``errors`` counts values that
    could not be represented at all.
    """

    def __init__(self) -> None:
        self.errors = 0
        self._cached_second = -1
        self._cached_prefix = ""
        self._chunks = _make_chunk_encoder(self._fallback)
        self._names: dict[str, str] = {}  # field name -> ',"name":' (bounded, see _MAX_CACHED_NAMES)

    def encode(
        self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object], args: object = None
    ) -> bytes:
        """Return one record as a line of ASCII bytes ending in ``\\n``; never raises on content.

        ``args`` (not None): the message is ``format_message(msg, args)``.
        """
        if args is not None:
            msg = format_message(msg, args)
        if fields and ("ts" in fields or "level" in fields or "msg" in fields):
            fields = rename_reserved(fields)
        text = msg if type(msg) is str else self._text(msg)
        try:
            line = self._encode_plain(ts_ns, level, text, fields)
        except Exception:  # e.g. an int too long for str() (ValueError): the general path decides
            line = None
        return line if line is not None else self._encode_general(ts_ns, level, text, fields)

    def _encode_plain(self, ts_ns: int, level: int, msg: str, fields: Mapping[str, object]) -> bytes | None:
        """The line, if every field is a plain scalar (see the module docstring); else None."""
        parts = ['{"ts":"', self.format_ts(ts_ns), _LEVEL_PARTS.get(level) or _level_part(level), _escape(msg)]
        append, names = parts.append, self._names
        for key, value in fields.items():
            kind = type(value)
            if kind is str:
                text = _escape(value)  # type: ignore[arg-type]  # exact type checked; isinstance would admit subclasses
            elif kind is int:
                text = _int_repr(value)
            elif kind is float and _isfinite(value):  # type: ignore[arg-type]
                text = _float_repr(value)
            elif value is True or value is False or value is None:
                text = _CONSTANTS[value]
            else:
                return None
            name = names.get(key)
            if name is None:
                if type(key) is not str:
                    return None
                if len(names) >= _MAX_CACHED_NAMES:
                    names.clear()
                name = names[key] = "," + _escape(key) + ":"
            append(name)
            append(text)
        append("}\n")
        return "".join(parts).encode("ascii")

    def _encode_general(self, ts_ns: int, level: int, msg: str, fields: Mapping[str, object]) -> bytes:
        """Any record, through the C encoder: repr/marker fallbacks for what JSON refuses."""
        record: dict[str, object] = {"ts": self.format_ts(ts_ns), "level": level_name(level), "msg": msg}
        record.update(fields)
        try:
            text = "".join(self._chunks(record, 0))
        except Exception:  # NaN, cycles, unencodable keys, hostile containers
            text = self._encode_field_by_field(record)
        return (text + "\n").encode("ascii")

    def encode_many(self, records: Iterable[_Record]) -> list[bytes]:
        """Encode ``(ts_ns, level, msg, fields[, args])`` tuples, in order."""
        encode = self.encode
        return [encode(*record) for record in records]  # type: ignore[arg-type]

    def format_ts(self, ts_ns: int) -> str:
        """ISO-8601 UTC with microseconds; the date part is cached per second."""
        second, nanos = divmod(ts_ns, 1_000_000_000)
        if second != self._cached_second:
            self._cached_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._cached_second = second
        return f"{self._cached_prefix}.{nanos // 1000:06d}Z"

    def _json(self, value: object) -> str:
        return "".join(self._chunks(value, 0))

    def _fallback(self, value: object) -> str:
        """``default=`` hook of the JSON encoder: the value's repr, or a marker."""
        try:
            return repr(value)
        except Exception:
            self.errors += 1
            return f"<unrepresentable {_type_name(value)}>"

    def _text(self, msg: object) -> str:
        try:
            return str(msg)
        except Exception:
            return self._fallback(msg)

    def _encode_field_by_field(self, record: dict[str, object]) -> str:
        """Slow path: encode each value alone, replacing the ones JSON refuses."""
        safe = {}
        for key, value in record.items():
            try:
                self._json(value)
            except Exception:
                value = self._fallback(value)
            safe[key] = value
        return self._json(safe)


def _make_chunk_encoder(default: Callable[[object], str]) -> Callable[[object, int], Sequence[str]]:
    """A reusable ASCII, compact, NaN-refusing JSON encoder returning string chunks.

    ``json.JSONEncoder.encode`` builds a new C encoder on every call, which
    doubles the cost of a small record; building it once avoids that. No
    circular-reference markers: a cycle raises RecursionError, which
    ``encode`` turns into the field-by-field fallback.
    """
    if c_make_encoder is not None:
        return c_make_encoder(None, default, encode_basestring_ascii, None, ":", ",", False, False, False)  # type: ignore[no-any-return]
    encoder = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"), default=default)
    return lambda value, _indent: (encoder.encode(value),)


def rename_reserved(fields: Mapping[str, object]) -> dict[str, object]:
    """Return ``fields`` with ``ts``/``level``/``msg`` renamed by prefixing ``_`` until free."""
    renamed: dict[str, object] = {}
    for key, value in fields.items():
        if key in RESERVED:
            new_key = "_" + key
            while new_key in fields or new_key in renamed:
                new_key = "_" + new_key
            key = new_key
        renamed[key] = value
    return renamed


def _type_name(value: object) -> str:
    try:
        return type(value).__qualname__
    except Exception:  # pragma: no cover - a metaclass that refuses even this
        return "object"
