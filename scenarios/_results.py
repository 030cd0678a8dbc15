"""What every scenario returns: a list of :class:`ResultRecord`, one per measured value.

Tidy (long) form: one row per (scenario, backend, case, metric). The harness
adds run metadata and stores them; reports read them back. Scenarios never
import the harness, so this type lives here.
"""

from __future__ import annotations

import dataclasses
import math

STATUSES = ("ok", "failed", "not supported")
VERDICTS = ("pass", "fail", "inconclusive", "ok", "defect", None)


@dataclasses.dataclass(frozen=True)
class ResultRecord:
    """One measured value.

    Attributes:
        scenario: scenario name, e.g. ``"overhead"``.
        backend: backend name as given to ``loggers.create`` (peers included).
        case: the scenario's parameters as a short stable key, e.g. ``"rate=1/unit"``.
        metric: what was measured, e.g. ``"wall_overhead_pct"``, ``"p99_9_ns"``.
        value: the figure (median where repeated); None when not measured.
        unit: ``"%"``, ``"ns"``, ``"records/s"``, ``"bytes"``, ``"count"``, ``"ms"``...
        low, high: 95% interval bounds when the value is an estimate.
        verdict: ``pass``/``fail``/``inconclusive`` (targets), ``ok``/``defect``
            (correctness), or None.
        status: ``ok``; ``failed`` (the cell crashed: see ``detail``); ``not supported``.
        detail: free text: stderr of a failed cell, the reason for not supported, notes.
        trial: index of a repeated trial when every trial is kept (e.g. records lost
            per SIGKILL trial); None for a summary value.
        samples: the per-repetition values (one per repetition or A/B pair) that ``value``,
            ``low`` and ``high`` summarise as a median and its interval, or None; kept so the
            harness can pool the repetitions of one cell run in several processes
            (:mod:`scenarios._rounds`). In results.json, not in the CSV.
    """

    scenario: str
    backend: str
    case: str
    metric: str
    value: float | None
    unit: str
    low: float | None = None
    high: float | None = None
    verdict: str | None = None
    status: str = "ok"
    detail: str = ""
    trial: int | None = None
    samples: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("scenario", "backend", "case", "metric", "unit"):
            if not isinstance(getattr(self, name), str) or (name != "case" and not getattr(self, name)):
                raise ValueError(f"ResultRecord.{name}: expected a non-empty str, got {getattr(self, name)!r}")
        if self.status not in STATUSES:
            raise ValueError(f"ResultRecord.status: expected one of {STATUSES}, got {self.status!r}")
        if self.verdict not in VERDICTS:
            raise ValueError(f"ResultRecord.verdict: expected one of {VERDICTS}, got {self.verdict!r}")
        for name in ("value", "low", "high"):
            number = getattr(self, name)
            if number is not None:
                if isinstance(number, bool) or not isinstance(number, (int, float)) or math.isnan(number):
                    raise ValueError(f"ResultRecord.{name}: expected a number or None, got {number!r}")
                object.__setattr__(self, name, float(number))
        if self.samples is not None:
            values = tuple(self.samples)
            if not values or any(isinstance(x, bool) or not isinstance(x, (int, float)) or math.isnan(x)
                                 for x in values):
                raise ValueError(f"ResultRecord.samples: expected numbers (at least one) or None, got {self.samples!r}")
            object.__setattr__(self, "samples", tuple(float(x) for x in values))

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)
