"""scenarios._stats: median, order-statistic interval, paired overhead, verdict — known answers."""

from __future__ import annotations

import math
import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios._stats import median, median_interval, paired_overhead_pct, percentile, verdict

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(deadline=None)
@given(st.lists(finite, min_size=1, max_size=60))
def test_median_matches_statistics(values: list[float]) -> None:
    assert median(values) == pytest.approx(statistics.median(values))


@settings(deadline=None)
@given(st.lists(finite, min_size=1, max_size=80), st.randoms())
def test_interval_brackets_median_and_ignores_order(values: list[float], rnd: random.Random) -> None:
    est = median_interval(values)
    assert min(values) <= est.low <= est.value <= est.high <= max(values)
    shuffled = list(values)
    rnd.shuffle(shuffled)
    assert median_interval(shuffled) == est


@settings(deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=50), st.integers(-1000, 1000))
def test_interval_shifts_with_data(values: list[int], shift: int) -> None:
    a = median_interval(values)
    b = median_interval([v + shift for v in values])
    assert (b.low, b.value, b.high) == (a.low + shift, a.value + shift, a.high + shift)


@pytest.mark.parametrize(
    ("n", "rank", "coverage"),
    [(5, 1, 1 - 2 / 32), (6, 1, 1 - 2 / 64), (10, 2, 1 - 2 * 11 / 1024), (20, 6, 0.958610)],
)
def test_known_order_statistics(n: int, rank: int, coverage: float) -> None:
    values = list(range(1, n + 1))  # x_(i) == i
    est = median_interval(values)
    assert (est.low, est.high) == (rank, n + 1 - rank)
    assert est.coverage == pytest.approx(coverage, abs=1e-6)
    assert est.n == n


def test_small_samples_report_their_real_coverage() -> None:
    est = median_interval([3.0, 1.0, 2.0])
    assert (est.low, est.value, est.high) == (1.0, 2.0, 3.0)
    assert est.coverage == pytest.approx(0.75)


def test_interval_covers_true_median_about_95_percent() -> None:
    """Simulation with a skewed distribution of known median (exponential: ln 2)."""
    rng = random.Random(12345)
    true_median = math.log(2)
    trials = 2000
    hits = sum(
        1
        for _ in range(trials)
        if (e := median_interval([rng.expovariate(1.0) for _ in range(15)])).low <= true_median <= e.high
    )
    assert 0.95 <= hits / trials <= 0.995  # exact coverage for n=15 is 0.9648


@settings(deadline=None)
@given(st.floats(min_value=-50, max_value=200), st.integers(min_value=9, max_value=40))
def test_paired_overhead_recovers_known_ratio(overhead_pct: float, pairs: int) -> None:
    rng = random.Random(pairs)
    base = [rng.uniform(0.5, 2.0) for _ in range(pairs)]  # drift common to both halves of a pair
    test = [b * (1 + overhead_pct / 100) for b in base]
    est = paired_overhead_pct(base, test)
    assert est.value == pytest.approx(overhead_pct, abs=1e-6)
    assert est.low == pytest.approx(overhead_pct, abs=1e-6) and est.high == pytest.approx(overhead_pct, abs=1e-6)


def test_paired_overhead_verdicts_on_noisy_synthetic_data() -> None:
    rng = random.Random(7)
    base = [rng.uniform(0.9, 1.1) for _ in range(41)]

    def noisy(factor: float) -> list[float]:
        return [b * factor * rng.uniform(0.99, 1.01) for b in base]

    cheap = paired_overhead_pct(base, noisy(1.01))
    costly = paired_overhead_pct(base, noisy(1.12))
    spread = [1.05 + (i - 20) / 400 for i in range(41)]  # 0%..10%, median exactly 5%
    borderline = paired_overhead_pct(base, [b * f for b, f in zip(base, spread)])
    assert verdict(cheap.low, cheap.high) == "pass"
    assert verdict(costly.low, costly.high) == "fail"
    assert verdict(borderline.low, borderline.high) == "inconclusive"
    assert borderline.value == pytest.approx(5.0)


def test_paired_overhead_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        paired_overhead_pct([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        paired_overhead_pct([0.0], [1.0])
    with pytest.raises(ValueError):
        median_interval([])
    with pytest.raises(ValueError):
        median_interval([1.0], confidence=1.0)


@settings(deadline=None)
@given(finite, finite, st.floats(min_value=0, max_value=100))
def test_verdict_rules(a: float, b: float, target: float) -> None:
    low, high = min(a, b), max(a, b)
    result = verdict(low, high, target)
    if high < target:
        assert result == "pass"
    elif low > target:
        assert result == "fail"
    else:
        assert result == "inconclusive"


def test_percentile_nearest_rank() -> None:
    values = list(range(1, 1001))
    assert percentile(values, 50) == 500
    assert percentile(values, 99.9) == 999
    assert percentile(values, 100) == 1000
    assert percentile([5.0], 99) == 5.0
