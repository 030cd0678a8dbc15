"""The fault catalogue: each case does one bad thing to a logger and judges the outcome.

A case is ``case(make, workdir) -> Outcome``; ``make(path, **options)`` builds
a fresh logger of the backend under test. Cases run in their own child process
(see ``scenarios.faults``), so they may set rlimits, signal handlers or fork.

Required outcomes (issue "faults"): no exception from ``log()``; failures
counted in ``stats()`` (``errors``/``dropped``); nothing lost that the fault
did not make impossible; every line one valid JSON record.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Make = Callable[..., Any]
RecordView = Callable[[dict[str, Any]], dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a case observed. ``ok`` is the verdict against the required outcomes.

    ``metrics``: further figures of the case as ``(name, value)`` pairs (one result record each).
    """

    ok: bool
    detail: str
    written: int = 0
    dropped: int = 0
    errors: int = 0
    applicable: bool = True
    metrics: tuple[tuple[str, float], ...] = ()


def record_view(log: Any) -> RecordView:
    """How to read ``log``'s lines as flat records (its class's ``record_view`` hook, or as they are)."""
    view: RecordView | None = getattr(type(log), "record_view", None)
    return view if view is not None else _as_is


def _as_is(document: dict[str, Any]) -> dict[str, Any]:
    return document


def read_log(path: Path, view: RecordView = _as_is) -> tuple[list[dict[str, Any]], int]:
    """Records of ``path`` and its rotated siblings (oldest first) as flat dicts, and the count of bad lines.

    ``view`` turns each parsed JSON object into a flat record (see ``record_view``).
    """
    files = sorted(path.parent.glob(path.name + ".*[0-9]"), key=lambda p: -int(p.suffix[1:]))
    records, bad = [], 0
    for file in [*files, path]:
        if not file.exists():
            continue
        data = file.read_bytes()
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        else:
            bad += 1 if data else 0
        for line in lines:
            try:
                document = json.loads(line)
                if not isinstance(document, dict):
                    raise ValueError
                records.append(view(document))
            except (ValueError, KeyError, TypeError):
                bad += 1
    return records, bad


def finish(log: Any, path: Path, check: Callable[[list[dict[str, Any]]], tuple[bool, str]]) -> Outcome:
    """Close ``log``, read ``path`` back and judge it with ``check`` plus the common rules."""
    log.close()
    stats = log.stats()
    records, bad = read_log(path, record_view(log))
    ok, detail = check(records)
    problems = [] if ok else [detail]
    if bad:
        problems.append(f"{bad} torn or invalid lines")
    if stats["emitted"] != stats["written"] + stats["dropped"]:
        problems.append(f"uncounted records: emitted {stats['emitted']} != written {stats['written']} + dropped {stats['dropped']}")
    text = "; ".join(problems) if problems else detail
    return Outcome(not problems, text, stats["written"], stats["dropped"], stats["errors"])


# -- bad input at log time ------------------------------------------------------


def huge_message(make: Make, workdir: Path) -> Outcome:
    path = workdir / "app.log"
    log = make(path)
    log.info("x" * 10_000_000, seq=0)
    log.info("after", seq=1)

    def check(records: list[dict[str, Any]]) -> tuple[bool, str]:
        sizes = [len(r["msg"]) for r in records]
        return sizes == [10_000_000, 5], f"10 MB message written whole, next record intact (msg sizes {sizes[:2]})"

    return finish(log, path, check)


def many_fields(make: Make, workdir: Path) -> Outcome:
    path = workdir / "app.log"
    log = make(path)
    log.info("wide", **{f"f{i}": i for i in range(10_000)})

    def check(records: list[dict[str, Any]]) -> tuple[bool, str]:
        ok = len(records) == 1 and all(records[0].get(f"f{i}") == i for i in range(10_000))
        return ok, "10,000 fields written in one record" if ok else f"wide record damaged ({len(records)} records)"

    return finish(log, path, check)


CONTROL_TEXT = "line1\nFORGED {\"level\":\"CRITICAL\"}\r\n\x1b[2J\x1b]0;title\x07\x00end"


def control_characters(make: Make, workdir: Path) -> Outcome:
    path = workdir / "app.log"
    log = make(path)
    for seq in range(3):
        log.info(CONTROL_TEXT, seq=seq, value=CONTROL_TEXT)
    raw = None

    def check(records: list[dict[str, Any]]) -> tuple[bool, str]:
        nonlocal raw
        raw = path.read_bytes()
        clean = b"\x1b" not in raw and b"\r" not in raw and b"\x00" not in raw and b"\x07" not in raw
        same = [r["msg"] for r in records] == [CONTROL_TEXT] * 3 and all(r["value"] == CONTROL_TEXT for r in records)
        ok = len(records) == 3 and clean and same
        return ok, "3 records, 3 lines, no raw ESC/CR/NUL/BEL bytes, text round-trips" if ok else f"{len(records)} records; escapes clean={clean}; round trip={same}"

    return finish(log, path, check)


def invalid_text(make: Make, workdir: Path) -> Outcome:
    path = workdir / "app.log"
    log = make(path)
    samples = ["lone \udc80 surrogate", "\ud800", "bad utf-8 decoded: " + b"\xff\xfe".decode("utf-8", "surrogateescape"), "\u2028\u2029 separators"]
    for seq, text in enumerate(samples):
        log.info(text, seq=seq, raw=text.encode("utf-8", "surrogatepass"), text=text)

    def check(records: list[dict[str, Any]]) -> tuple[bool, str]:
        ok = [r["msg"] for r in records] == samples and all(r["text"] == r["msg"] for r in records)
        return ok, "lone surrogates, undecodable bytes and U+2028/9 kept, one line each" if ok else "text not preserved"

    return finish(log, path, check)


class _Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("repr refuses")

    __str__ = __repr__


class _Recursive:
    def __repr__(self) -> str:
        return repr(self)


class _NotAString:
    def __repr__(self) -> Any:
        return 42


def non_str_message(make: Make, workdir: Path) -> Outcome:
    path = workdir / "app.log"
    log = make(path)
    messages: list[object] = [42, None, 3.5, b"bytes", ValueError("boom"), ["a", 1], _Unprintable()]
    for seq, msg in enumerate(messages):
        log.info(msg, seq=seq)

    def check(records: list[dict[str, Any]]) -> tuple[bool, str]:
        texts = [r.get("msg") for r in records]
        ok = len(records) == len(messages) and all(isinstance(t, str) and t for t in texts)
        return ok, f"{len(records)}/{len(messages)} non-str messages written as text" if ok else f"messages {texts!r}"

    return finish(log, path, check)


def hostile_values(make: Make, workdir: Path) -> Outcome:
    path = workdir / "app.log"
    log = make(path)
    cycle: list[object] = []
    cycle.append(cycle)
    values: list[object] = [_Unprintable(), _Recursive(), _NotAString(), 10**5000, cycle, float("nan"), {(1, 2): "tuple key"}]
    for seq, value in enumerate(values):
        log.info("hostile", seq=seq, value=value, fine="ok")

    def check(records: list[dict[str, Any]]) -> tuple[bool, str]:
        ok = len(records) == len(values) and all(r["fine"] == "ok" and isinstance(r["value"], str) for r in records)
        return ok, f"{len(records)}/{len(values)} records written, unencodable values as repr or marker" if ok else "hostile value broke a record"

    outcome = finish(log, path, check)
    if outcome.ok and outcome.errors < 3:
        return dataclasses.replace(outcome, ok=False, detail=f"{outcome.detail}; only {outcome.errors} errors counted for 3 unrepresentable values")
    return outcome


ODD_NAMES = ["", " ", "a b", "ключ", "new\nline", "ts", "level", "msg", "_msg", "1st", "a.b"]


def odd_field_names(make: Make, workdir: Path) -> Outcome:
    path = workdir / "app.log"
    log = make(path)
    log.info("names", **{name: index for index, name in enumerate(ODD_NAMES)})

    def check(records: list[dict[str, Any]]) -> tuple[bool, str]:
        if len(records) != 1:
            return False, f"{len(records)} records"
        record = records[0]
        own = record["msg"] == "names" and record["level"] == "INFO"
        kept = sorted(v for k, v in record.items() if k not in ("ts", "level", "msg"))
        ok = own and kept == list(range(len(ODD_NAMES)))
        return ok, "non-identifier names kept; ts/level/msg renamed, record's own not overwritten" if ok else f"fields {record!r}"

    return finish(log, path, check)
