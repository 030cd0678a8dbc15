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
* A field named ``ts``, ``level`` or ``msg`` never overwrites the record's own:
  it is written with ``_`` prepended (``msg`` -> ``_msg``), repeated until the
  name is free. Other fields keep call order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from json.encoder import encode_basestring_ascii

from ._levels import LEVEL_NAMES, level_name

try:
    from json.encoder import c_make_encoder  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - interpreters without the C accelerator
    c_make_encoder = None

RESERVED = ("ts", "level", "msg")
_Record = tuple[int, int, object, Mapping[str, object]]


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

    def encode(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> bytes:
        """Return one record as a line of ASCII bytes ending in ``\\n``; never raises on content."""
        record: dict[str, object] = {
            "ts": self.format_ts(ts_ns),
            "level": LEVEL_NAMES.get(level) or level_name(level),
            "msg": msg if type(msg) is str else self._text(msg),
        }
        if fields:
            if "ts" in fields or "level" in fields or "msg" in fields:
                fields = rename_reserved(fields)
            record.update(fields)
        try:
            text = "".join(self._chunks(record, 0))
        except Exception:  # NaN, cycles, unencodable keys, hostile containers
            text = self._encode_field_by_field(record)
        return (text + "\n").encode("ascii")

    def encode_many(self, records: Iterable[_Record]) -> list[bytes]:
        """Encode ``(ts_ns, level, msg, fields)`` tuples, in order."""
        encode = self.encode
        return [encode(ts, level, msg, fields) for ts, level, msg, fields in records]

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
