"""The overhead floor: what the least a hand-off must do costs the application, in the overhead scenario.

    flock /tmp/logbench-heavy.lock python benchmarks/overhead_floor.py [--quick] [--rate rate=1/unit]
        [--floors null,marshal,commit,append,append+sender] [--backends mmap subprocess] [--json OUT]

Issue 13 asks for ``mmap`` (nothing whose call returned lost on SIGKILL) at a median of at most 3% and
``subprocess`` wholly below 5% at one line per ~20 us unit. A *floor* is a ``null`` logger whose hand-off does
one irreducible piece of such a backend's work and nothing else, measured exactly as a backend is
(:func:`scenarios.overhead.run_overhead`: interleaved A/B pairs against ``null``, the native front, the final
flush timed), so each row is what that piece alone costs the application, in the application's own cache and
branch-predictor state between its units of work (a timeit loop runs a piece hot and prices it about 2x lower):

``null``
    Nothing: ``null`` against itself, what the run can resolve.
``marshal``
    ``marshal.dumps((ts_ns, level, msg, fields), 2)``, discarded. A hand-off that loses nothing whose call
    returned must have the record's bytes in shared memory when the call returns, so it serialises in the
    caller; marshal version 2 is the cheapest serialiser the standard library has for this record
    (docs/hot-path.md, "The floor": pickle in fast mode, marshal 4, ``repr`` and ``json`` all cost more).
``commit``
    ``marshal``, then under a lock the copy into an anonymous shared ring of ``mmap``'s default size and the
    header word stored in two halves, tag last: ``Ring.handoff``'s common case (``loggers/mmap/ring.py``)
    without its room check, overflow policies, re-entrancy, or a reader. The least a thread-safe commit is.
``copy``
    ``commit`` without the lock: not thread-safe, so no backend could ship it; the bound below any commit.
``append``
    ``deque.append`` of the record tuple: the queued backends' caller.
``append+sender``
    ``append``, and a thread that every millisecond takes what is queued and marshals it as one list
    (version 4, as ``subprocess``'s sender does), without sending it: ``subprocess``'s work in the
    application's process, without its socket, its wake-ups or its writer process.

Then every backend named with ``--backends``, in the same run. ``--front accelerated`` (or ``bridge``) makes
the same calls through a stdlib ``logging.Logger`` in front of each logger (``scenarios._fronts``; A stays
``null``'s own API), so a row is what a program that logs through ``logging`` pays. Each row prints the wall overhead's median and
95% interval at the rate, its verdict against 5%, and what that is per record in ns (overhead x unit time /
lines per unit). ``--serialisers`` prints instead what each serialiser of the standard library costs for the
same record (timeit, hot): marshal version 2 is the cheapest; then the hot cost of the ``commit`` floor's
other pieces. ``--commit-ring BYTES`` gives the ``commit``
floor another ring size than ``mmap``'s default (8 MiB). Results: docs/hot-path.md. Not an asv benchmark
(it defines no ``time_``/``track_``).
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import marshal
import mmap
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if HERE not in sys.path:  # run as a script from anywhere: the tree this file lives in
    sys.path.insert(0, HERE)

_dumps = marshal.dumps
_HEADER = 4096  # the ring starts after a header page, as in the mmap journal
SENDER_PERIOD_S = 0.001


def marshal_only(ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
    """The ``marshal`` floor's hand-off: serialise as ``mmap``'s caller does, and keep nothing."""
    _dumps((ts_ns, level, msg, fields), 2)  # type: ignore[arg-type]


class CommitFloor:
    """The ``commit`` floor: marshal, then copy and commit into an anonymous shared ring under a lock.

    Records are laid out as in the mmap journal (``loggers/mmap/journal.py``): one header word
    ``tag << 32 | length << 2`` at an 8-byte boundary, then the payload padded to 8 bytes; the ring
    simply wraps by its mask (nothing reads it while the scenario runs, so there is no room check).
    """

    def __init__(self, ring_bytes: int, *, locked: bool = True) -> None:
        if ring_bytes & (ring_bytes - 1):
            raise ValueError(f"ring_bytes must be a power of two, not {ring_bytes}")
        self.mm = mmap.mmap(-1, _HEADER + ring_bytes + 65536)  # slack: a record at the ring's end does not wrap
        self.w = memoryview(self.mm).cast("I")
        self.mask = ring_bytes - 1
        self.head = 0
        self.lock = threading.Lock()
        if not locked:  # the ``copy`` floor: the same commit with no lock around it
            self.handoff = self.copy  # type: ignore[method-assign]

    def handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        data = _dumps((ts_ns, level, msg, fields), 2)  # type: ignore[arg-type]
        lock = self.lock
        lock.acquire()
        try:
            head = self.head
            length = len(data)
            start = _HEADER + (head & self.mask)
            self.mm[start + 8 : start + 8 + length] = data
            w, half = self.w, start >> 2
            w[half] = length << 2
            w[half + 1] = ((head >> 3) + 1) & 0xFFFFFFFF  # the tag, stored last: the commit
            self.head = head + ((length + 15) & -8)
        finally:
            lock.release()

    def copy(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        """``handoff`` without the lock (one thread only): what the copy and the commit cost alone.

        The body repeats ``handoff``'s on purpose: a floor is the inline code of ``Ring.handoff``, and a
        shared helper would add a call to each (docs/hot-path.md's figures are of these bodies)."""
        data = _dumps((ts_ns, level, msg, fields), 2)  # type: ignore[arg-type]
        head = self.head
        length = len(data)
        start = _HEADER + (head & self.mask)
        self.mm[start + 8 : start + 8 + length] = data
        w, half = self.w, start >> 2
        w[half] = length << 2
        w[half + 1] = ((head >> 3) + 1) & 0xFFFFFFFF
        self.head = head + ((length + 15) & -8)

    def records(self) -> Iterator[object]:
        """The records committed so far, oldest first, read back as the journal's reader does (tags checked).

        Raises ValueError once the ring has wrapped (older records are then overwritten).
        """
        if self.head > self.mask + 1:
            raise ValueError("the ring has wrapped: its first records are overwritten")
        pos = 0
        while pos < self.head:
            start = _HEADER + pos
            length, tag = self.w[start >> 2] >> 2, self.w[(start >> 2) + 1]
            if tag != ((pos >> 3) + 1) & 0xFFFFFFFF:
                raise ValueError(f"no committed record at {pos}")
            yield marshal.loads(self.mm[start + 8 : start + 8 + length])
            pos += (length + 15) & -8


class SenderFloor:
    """The ``append+sender`` floor: the caller appends; a thread marshals what is queued every millisecond."""

    def __init__(self) -> None:
        self.items: collections.deque[tuple[Any, ...]] = collections.deque()
        self.taken = self.marshalled = self.payload_bytes = 0
        self._lock = threading.Lock()  # the sender's take and flush's check; never the caller's
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="floor-sender", daemon=True)
        self._thread.start()

    def handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        self.items.append((ts_ns, level, msg, fields))

    def _run(self) -> None:
        while not self._stop.wait(SENDER_PERIOD_S):
            self._take()
        self._take()

    def _take(self) -> None:
        items = self.items
        with self._lock:
            batch = []
            while items:
                batch.append(items.popleft())
            self.taken += len(batch)
        if batch:
            self.payload_bytes += len(_dumps(batch, 4))
            self.marshalled += len(batch)

    def flush(self, timeout: float | None = None) -> bool:
        """True once every record appended before the call has been marshalled (False after ``timeout`` s)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if not self.items and self.marshalled == self.taken:
                    return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(SENDER_PERIOD_S / 2)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _on_null(handoff: Callable[..., None]) -> Any:
    """A ``null`` logger (the same call path as every backend: level check, ``time_ns``) with ``handoff``."""
    import loggers

    log = loggers.create("null")
    log._handoff = handoff  # type: ignore[method-assign]
    return log


def _sender_logger(path: str | None = None, **options: Any) -> Any:
    floor = SenderFloor()
    log = _on_null(floor.handoff)
    null_close = log.close

    def close() -> None:
        floor.close()
        null_close()

    log.flush, log.close, log.floor = floor.flush, close, floor
    return log


def _ring_bytes() -> int:
    from loggers.mmap.ring import ring_bytes_for

    return ring_bytes_for(65536)  # mmap's default queue_size


def floor_factory(name: str, ring_bytes: int | None = None) -> Callable[..., Any]:
    """``factory(path=None, **options) -> Logger`` of the floor ``name`` (see the module docstring);
    ``ring_bytes``: the ``commit`` floor's ring (default: ``mmap``'s for its default ``queue_size``)."""
    if name == "null":
        return lambda path=None, **options: _on_null(lambda ts_ns, level, msg, fields: None)
    if name == "marshal":
        return lambda path=None, **options: _on_null(marshal_only)
    if name in ("commit", "copy"):
        def commit(path: str | None = None, **options: Any) -> Any:
            floor = CommitFloor(ring_bytes or _ring_bytes(), locked=name == "commit")
            log = _on_null(floor.handoff)
            log.floor = floor
            return log
        return commit
    if name == "append":
        def append(path: str | None = None, **options: Any) -> Any:
            items: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=65536)
            put = items.append
            return _on_null(lambda ts_ns, level, msg, fields: put((ts_ns, level, msg, fields)))
        return append
    if name == "append+sender":
        return _sender_logger
    raise ValueError(f"unknown floor {name!r} (expected one of {', '.join(FLOORS)})")


FLOORS = ("null", "marshal", "copy", "commit", "append", "append+sender")


def serialiser_costs(number: int = 200_000, repeat: int = 5) -> dict[str, float]:
    """ns per call (best of ``repeat`` timeit runs) of the standard library's serialisers on the
    overhead scenario's six-field record: what a caller that must serialise could use instead of marshal."""
    import pickle
    import timeit

    fields = {"step": 0, "order": 1234, "user": 987, "total": 12.5, "bytes": 311, "path": "/api/orders"}
    rec = (time.time_ns(), 20, "request handled", fields)
    ring = mmap.mmap(-1, 1 << 16)
    fast = pickle.Pickler(ring, 5)  # type: ignore[arg-type]  # mmap has write()
    fast.fast = True  # no memo

    def pickle_fast_into_map() -> None:
        ring.seek(0)
        fast.dump(rec)

    cases: dict[str, Callable[[], object]] = {
        "marshal.dumps(rec, 2)": lambda: _dumps(rec, 2),  # type: ignore[arg-type]
        "marshal.dumps(rec) (version 4)": lambda: _dumps(rec),  # type: ignore[arg-type]
        "pickle.dumps(rec, 5)": lambda: pickle.dumps(rec, 5),
        "reused Pickler, fast=True, into the map": pickle_fast_into_map,
        "repr(rec)": lambda: repr(rec),
        "json.dumps(fields)": lambda: json.dumps(fields),
        "tuple(fields.values())": lambda: tuple(fields.values()),
    }
    return {name: min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e9
            for name, call in cases.items()}


def measure(label: str, factory: Callable[..., Any], rate: str, quick: bool, front: str = "native",
            pairs: int | None = None) -> dict[str, Any]:
    """One row: the overhead scenario at ``rate`` for ``factory``, its calls made through ``front``
    (``native``: the logger's own API; ``bridge``/``accelerated``: a stdlib ``logging.Logger``,
    :mod:`scenarios._fronts`); ``pairs``: exactly that many A/B pairs instead of the scenario's budget."""
    from scenarios.overhead import RATES, run_overhead

    exact = {} if pairs is None else {"min_pairs": pairs, "max_pairs": pairs, "budget_s": 0.0}
    records = run_overhead(factory, backend=label, quick=quick, rates=(rate,), fronts=(front,), front_rates=(rate,),
                           **exact)  # type: ignore[arg-type]
    wall = next(r for r in records if r.metric == "wall_overhead_pct")
    unit_us = next(r for r in records if r.metric == "unit_us").value
    every, per_unit = RATES[rate]
    per_record = lambda pct: pct / 100 * unit_us * 1000 * every / per_unit  # noqa: E731 - ns per record
    return {"row": label, "rate": rate, "front": front, "median_pct": wall.value, "low_pct": wall.low, "high_pct": wall.high,
            "verdict": wall.verdict, "unit_us": unit_us, "ns_per_record": per_record(wall.value),
            "ns_low": per_record(wall.low), "ns_high": per_record(wall.high), "detail": wall.detail}


def commit_piece_costs(number: int = 200_000, repeat: int = 5) -> dict[str, float]:
    """ns per call (best of ``repeat`` timeit runs, hot) of what the ``commit`` floor does after marshal:
    the lock, the copy of the scenario's record into a map, the header word's two 4-byte stores."""
    import timeit

    fields = {"step": 0, "order": 1234, "user": 987, "total": 12.5, "bytes": 311, "path": "/api/orders"}
    data = _dumps((time.time_ns(), 20, "request handled", fields), 2)
    ring = mmap.mmap(-1, 1 << 16)
    words = memoryview(ring).cast("I")
    lock = threading.Lock()
    start, length = _HEADER, len(data)

    def lock_pair() -> None:
        lock.acquire()
        lock.release()

    def copy() -> None:
        ring[start + 8 : start + 8 + length] = data

    def header() -> None:
        words[start >> 2] = length << 2
        words[(start >> 2) + 1] = 1

    cases: dict[str, Callable[[], object]] = {"lock acquire + release": lock_pair,
                                             "copy of the record into the map": copy,
                                             "header word, two 4-byte stores": header}
    return {name: min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e9
            for name, call in cases.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--floors", default=",".join(FLOORS), help="comma-separated floors (default: all)")
    parser.add_argument("--backends", nargs="*", default=["mmap", "subprocess"], help="real backends to add")
    parser.add_argument("--rate", default="rate=1/unit")
    parser.add_argument("--quick", action="store_true", help="the quick suite's pairs and blocks")
    parser.add_argument("--pairs", type=int, default=None, help="exactly this many A/B pairs a row (a smoke run)")
    parser.add_argument("--front", default="native", choices=("native", "bridge", "accelerated"),
                        help="how the calls are made: the logger's API, or a stdlib logging.Logger in front of it")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--commit-ring", type=int, default=None, help="the (commit, copy) floors' ring in bytes")
    parser.add_argument("--serialisers", action="store_true",
                        help="instead: timeit of the standard library's serialisers on the scenario's record")
    args = parser.parse_args(argv)
    if args.serialisers:
        for name, ns in {**serialiser_costs(), **commit_piece_costs()}.items():
            print(f"{name:42s} {ns:6.0f} ns")
        return 0
    import loggers

    rows = []
    print(f"overhead floor at {args.rate}, front={args.front} ({'quick' if args.quick else 'full'}), null as A; "
          "median [95% interval], verdict vs 5%, ns per record", flush=True)
    todo = [(name, floor_factory(name, args.commit_ring)) for name in args.floors.split(",") if name]
    todo += [(name, functools.partial(loggers.create, name)) for name in args.backends]
    for label, factory in todo:
        row = measure(label, factory, args.rate, args.quick, args.front, args.pairs)
        rows.append(row)
        print(f"{label:15s} {row['median_pct']:+6.2f}% [{row['low_pct']:+6.2f}, {row['high_pct']:+6.2f}] "
              f"{row['verdict']:12s} {row['ns_per_record']:6.0f} ns [{row['ns_low']:.0f}, {row['ns_high']:.0f}]"
              f"   unit {row['unit_us']:.1f} us", flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"python": sys.version.split()[0], "rate": args.rate, "front": args.front, "quick": args.quick,
                       "rows": rows},
                      out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
