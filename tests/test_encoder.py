"""The encoder: any text and any value give exactly one valid JSON line."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from loggers._sink.encoder import RESERVED, JsonLinesEncoder, rename_reserved

ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=40)  # surrogates included
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = ANY_TEXT.filter(lambda name: name not in ("ts", "level", "msg"))


@settings(deadline=None, max_examples=300)
@given(msg=ANY_TEXT, fields=st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=6), ts=st.integers(0, 2**62))
def test_any_text_and_json_values_round_trip_on_one_line(msg: str, fields: dict[str, object], ts: int) -> None:
    encoder = JsonLinesEncoder()
    line = encoder.encode(ts, 20, msg, fields)
    assert line.endswith(b"\n") and line.count(b"\n") == 1 and line.isascii()
    record = json.loads(line)
    assert record.pop("msg") == msg and record.pop("level") == "INFO"
    assert record.pop("ts").endswith("Z")
    assert record == fields and list(record) == list(fields)
    assert encoder.errors == 0


class _Hostile:
    def __repr__(self) -> str:
        raise RuntimeError("repr refuses")

    def __str__(self) -> str:
        raise RuntimeError("str refuses")


class _Recursive:
    def __repr__(self) -> str:
        return repr(self)


@settings(deadline=None, max_examples=100)
@given(value=st.sampled_from([float("nan"), float("inf"), object(), {1, 2}, b"\xff\x00", 10**5000, _Hostile(), _Recursive()]))
def test_unencodable_values_fall_back_without_raising(value: object) -> None:
    encoder = JsonLinesEncoder()
    record = json.loads(encoder.encode(0, 30, "m", {"v": value, "ok": 1}))
    assert record["ok"] == 1 and isinstance(record["v"], str)
    if isinstance(value, (_Hostile, _Recursive)) or value == 10**5000:
        assert record["v"].startswith("<unrepresentable ") and encoder.errors == 1
    elif isinstance(value, float):
        assert record["v"] == repr(value) and encoder.errors == 0


def test_cyclic_containers_and_hostile_messages() -> None:
    cycle: list[object] = [1]
    cycle.append(cycle)
    encoder = JsonLinesEncoder()
    record = json.loads(encoder.encode(0, 20, _Hostile(), {"cycle": cycle, "bad_keys": {(1, 2): 3}}))
    assert record["msg"] == "<unrepresentable _Hostile>"
    assert record["cycle"] == "[1, [...]]" and record["bad_keys"] == "{(1, 2): 3}"


def test_timestamp_is_utc_with_microseconds() -> None:
    encoder = JsonLinesEncoder()
    assert encoder.format_ts(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456Z"
    assert encoder.format_ts(1_700_000_001_000_000_000) == "2023-11-14T22:13:21.000000Z"
    assert not math.isnan(len(encoder.format_ts(0)))


def test_reserved_names_are_prefixed_until_free() -> None:
    assert rename_reserved({"msg": 1, "_msg": 2, "level": 3}) == {"__msg": 1, "_msg": 2, "_level": 3}


PLAIN_VALUES = st.one_of(
    ANY_TEXT, st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.lists(st.integers(), max_size=2),  # not plain: the whole record takes the general path
)


@settings(deadline=None, max_examples=500)
@given(msg=st.one_of(ANY_TEXT, st.integers()), fields=st.dictionaries(ANY_TEXT | st.sampled_from(RESERVED), PLAIN_VALUES, max_size=6),
       level=st.sampled_from([10, 20, 25, 30, 40, 50, 0]), ts=st.integers(0, 2**62))
def test_plain_path_writes_exactly_what_the_general_path_writes(msg: object, fields: dict[str, object], level: int, ts: int) -> None:
    """The Python fast path for plain scalars and the C encoder path give byte-identical lines."""
    fast, general = JsonLinesEncoder(), JsonLinesEncoder()
    line = fast.encode(ts, level, msg, fields)
    renamed = rename_reserved(fields) if any(k in fields for k in RESERVED) else fields
    text = msg if isinstance(msg, str) else str(msg)
    assert line == general._encode_general(ts, level, text, renamed)
    assert fast.errors == general.errors


def test_field_name_cache_stays_bounded() -> None:
    encoder = JsonLinesEncoder()
    for i in range(5000):
        encoder.encode(0, 20, "m", {f"name{i}": i})
    assert len(encoder._names) <= 1024
    assert json.loads(encoder.encode(0, 20, "m", {"name4999": 1}))["name4999"] == 1
