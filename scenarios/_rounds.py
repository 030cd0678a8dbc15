"""Rounds: one cell's repetitions spread over several processes and over the run, then pooled.

Why: on this 2-core VM a figure moves between processes by more than its repetitions within one
process show. Sixteen fresh processes of ``thread-queue``'s quick latency cell, back to back
(2026-12-06): fifteen had a steady p50 of 381-491 ns, one 771 ns [501, 831] with its paced p50 and
rotating p99.9 up 2x alike; the rotating p99.9 of two fast ones was 30.1 us [29.1, 34.5] and 21.9 us
[19.9, 24.3]. A slow spell lasts about a cell, so one process's repetitions, however many, all fall
in it, their interval is tight, and two runs of one commit compare as a "regression". The remedy is
the one pyperf (worker processes) and asv (``rounds``) use: measure in several processes at different
times and let the interval see the spread between them.

How: a scenario that supports rounds takes ``rounds=K`` and does its :func:`share` (a K-th, rounded
up) of its repetitions, A/B pairs or runs in each call; the harness runs it in K processes, round by
round over the whole matrix (round 1 of every cell, then round 2, ...), so each cell's processes are
as far apart as the run allows; then :func:`pool` merges the K record lists into one, as one process
doing all the repetitions would have reported it:

* a record with ``samples`` (its per-repetition values): the median and distribution-free interval
  (:func:`scenarios._stats.median_interval`) of every round's samples together;
* a record without: its scenario's ``combine`` for that metric (e.g. ``max`` of a worst share), else
  the sum for a ``count`` (stall episodes over all repetitions) and the median of the rounds'
  values for anything else; if every round gave it an interval, the pooled interval is their hull;
* a record not ``ok`` in some round (failed, not supported): that round's record, as it is;
* a record some rounds lack: pooled over the rounds that have it.

Each pooled record's detail is its first round's plus how many rounds and samples it pools.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence

from ._results import ResultRecord
from ._stats import median, median_interval

__all__ = ["Combine", "pool", "share"]

#: how a metric without samples combines over rounds: the rounds' values (None dropped) -> one value
Combine = Callable[[list[float]], float]


def share(count: int, rounds: int, least: int = 1) -> int:
    """One round's part of ``count`` repetitions in ``rounds`` rounds: a ``rounds``-th, rounded up, and at
    least ``least``. Raises ValueError for ``rounds`` below 1."""
    if rounds < 1:
        raise ValueError(f"rounds: expected at least 1, got {rounds!r}")
    return max(math.ceil(count / rounds), least)


def pool(rounds: Sequence[Sequence[ResultRecord]],
         combine: Mapping[str, Combine] | None = None) -> list[ResultRecord]:
    """The records of one cell's ``rounds`` (each round's list, in round order) merged into one list,
    by the rules of the module docstring, in the order the records first appear."""
    keyed: dict[tuple[str, str, int | None], list[ResultRecord]] = {}
    for records in rounds:
        for record in records:
            keyed.setdefault((record.case, record.metric, record.trial), []).append(record)
    return [_pooled(group, len(rounds), combine or {}) for group in keyed.values()]


def _pooled(group: list[ResultRecord], rounds: int, combine: Mapping[str, Combine]) -> ResultRecord:
    """One figure's records from the rounds that have it, merged."""
    first = group[0]
    not_ok = [record for record in group if record.status != "ok"]
    if not_ok:
        return not_ok[0]
    if len(group) == 1 and rounds == 1:
        return first
    if all(record.samples for record in group):
        samples = [x for record in group for x in record.samples or ()]
        est = median_interval(samples)
        return dataclasses.replace(first, value=est.value, low=est.low, high=est.high, samples=est.samples,
                                   detail=_pooled_detail(first.detail, len(group), f"{est.n} samples, interval "
                                                                                    f"coverage {est.coverage:.3f}"))
    values = [record.value for record in group if record.value is not None]
    if not values:
        return first
    how = combine.get(first.metric) or (sum if first.unit == "count" else median)
    lows, highs = [r.low for r in group if r.low is not None], [r.high for r in group if r.high is not None]
    hull = len(lows) == len(highs) == len(group)  # every round's interval: the pooled one covers them all
    return dataclasses.replace(first, value=how(values), low=min(lows) if hull else None,
                               high=max(highs) if hull else None, samples=None,
                               detail=_pooled_detail(first.detail, len(group), f"{_name(how)} of their values"
                                                     + (", interval the hull of theirs" if hull else "")))


def _pooled_detail(detail: str, rounds: int, what: str) -> str:
    return f"{detail}; pooled over {rounds} rounds (processes): {what}" if detail else \
        f"pooled over {rounds} rounds (processes): {what}"


def _name(how: Combine) -> str:
    return getattr(how, "__name__", "combination")
