"""Statistics for repeated, paired measurements: a median and a distribution-free 95% interval.

The interval of a median is the classic order-statistic (binomial) interval:
with ``n`` independent samples, the number of samples below the true median
is Binomial(n, 1/2), so ``[x_(r), x_(n+1-r)]`` (1-based order statistics)
covers the median with probability ``sum_{i=r}^{n-r} C(n, i) / 2**n``. We take
the largest ``r`` whose coverage still reaches the requested confidence; no
assumption about the shape of the distribution is made. With fewer than six
samples even ``[min, max]`` covers less than 95%: the interval is then
``[min, max]`` and :attr:`Estimate.coverage` says how much it really covers.

A/B overhead: for paired timings ``(base_i, test_i)`` the per-pair ratio
``test_i / base_i - 1`` (in %) removes drift common to both halves of a pair;
its median and interval are the overhead estimate. :func:`verdict` compares
that interval with a target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["Estimate", "median", "median_interval", "paired_overhead_pct", "percentile", "verdict"]


class Estimate(NamedTuple):
    """A median with its interval; ``coverage`` is the interval's exact binomial coverage; ``samples``
    the values it summarises, sorted (a record keeps them so repetitions from several processes can be
    pooled: :mod:`scenarios._rounds`)."""

    value: float
    low: float
    high: float
    coverage: float
    n: int
    samples: tuple[float, ...] = ()


def median(values: Sequence[float]) -> float:
    """The sample median (mean of the two middle values for an even count). Raises ValueError if empty."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("median of no values")
    mid = n // 2
    return float(xs[mid]) if n % 2 else (xs[mid - 1] + xs[mid]) / 2.0


def _coverage(n: int, r: int) -> float:
    """P(x_(r) <= median <= x_(n+1-r)) for n samples: P(r <= Binomial(n, 1/2) <= n - r)."""
    return sum(math.comb(n, i) for i in range(r, n - r + 1)) / 2.0**n


def median_interval(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Median of ``values`` and a distribution-free ``confidence`` interval for the true median.

    Raises:
        ValueError: no values, a NaN, or ``confidence`` outside (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: expected a number in (0, 1), got {confidence!r}")
    xs = sorted(float(v) for v in values)
    if any(math.isnan(x) for x in xs):
        raise ValueError("median_interval: NaN in values")
    n = len(xs)
    if n == 0:
        raise ValueError("median_interval of no values")
    r = 1
    while r + 1 <= (n + 1) // 2 and _coverage(n, r + 1) >= confidence:
        r += 1
    return Estimate(median(xs), xs[r - 1], xs[n - r], _coverage(n, r), n, tuple(xs))


def paired_overhead_pct(base: Sequence[float], test: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Overhead of ``test`` over ``base`` in %, from pairs: median and interval of ``test_i/base_i - 1``.

    Raises:
        ValueError: different lengths, no pairs, or a base time that is not positive.
    """
    if len(base) != len(test):
        raise ValueError(f"paired_overhead_pct: {len(base)} base times but {len(test)} test times")
    if any(not b > 0 for b in base):
        raise ValueError("paired_overhead_pct: every base time must be positive")
    ratios = [(t / b - 1.0) * 100.0 for b, t in zip(base, test)]
    return median_interval(ratios, confidence)


def verdict(low: float, high: float, target: float = 5.0) -> str:
    """``pass`` if the whole interval is below ``target``, ``fail`` if wholly above, else ``inconclusive``."""
    if high < target:
        return "pass"
    if low > target:
        return "fail"
    return "inconclusive"


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (0 < pct <= 100) of already sorted values. Raises ValueError if empty."""
    n = len(sorted_values)
    if n == 0:
        raise ValueError("percentile of no values")
    if not 0.0 < pct <= 100.0:
        raise ValueError(f"pct: expected (0, 100], got {pct!r}")
    rank = min(n, max(1, math.ceil(pct * n / 100.0 - 1e-9)))  # tolerate float error in pct*n
    return float(sorted_values[rank - 1])
