"""loop_lag: how late an asyncio loop runs its callbacks while the application logs.

In a fresh process an event loop runs two things for ``duration_s`` seconds:

* a *ticker*: a callback that re-schedules itself with ``loop.call_soon``, so
  it runs once every loop iteration, never waiting on the loop's timer (whose
  granularity, 1 ms with epoll, was all the earlier ``call_at`` ticker could
  see). It reads ``time.perf_counter`` and, for every point of a fixed grid
  (every ``grid_us``, 50 µs) that has passed since its last run, records the
  lag ``now - grid point``. The grid does not move when a run is late, so one
  stall of 5 ms shows as a hundred lags of 5 ms, 4.95 ms ... down to 0 ms, not
  as one sample (coordinated-omission safe). The loop never sleeps while the
  ticker runs: what it measures is how long one loop iteration can take;
* a *logging coroutine*: every millisecond (``asyncio.sleep``) it logs the
  records due by then at ``rate`` records/s (fields ``writer``, ``seq``), at
  most 2 ms worth per wake, so a logger that cannot keep up gives a lower
  achieved rate (in the detail), not an ever-growing burst.

The logger is created inside the running loop (so a backend made for asyncio
can bind to it) and closed afterwards in an executor thread (a backend whose
writer runs on the loop can still drain). Metrics per rate: ``lag_p50_ms`` and
``lag_p99_ms`` (nearest-rank percentiles, median over ``windows`` equal slices
of the run (0.1 s each by default), with its distribution-free interval) and ``lag_max_ms`` (the
largest lag of the whole run). The detail gives the percentiles over the whole
run, the achieved logging rate and the grid-point count. Run it with ``null``
first: its lag is the floor of what the run can resolve on this machine
(below 0.1 ms).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from typing import Any

from ._proc import ChildFailed, Factory, probe, run_child
from ._results import ResultRecord
from ._stats import median_interval, percentile

SCENARIO = "loop_lag"
METRICS = (("lag_p50_ms", 50.0), ("lag_p99_ms", 99.0), ("lag_max_ms", 100.0))
RATES = (1_000, 10_000, 100_000)
PAYLOAD = "a" * 64
#: Most records the logging coroutine logs in one wake, in milliseconds' worth of its rate.
CATCH_UP_MS = 2
#: Default length of the windows whose percentiles are medianed.
WINDOW_S = 0.1


def run_loop_lag(
    factory: Factory,
    *,
    quick: bool = False,
    backend: str | None = None,
    workdir: str | None = None,
    rates: tuple[int, ...] = RATES,
    duration_s: float | None = None,
    grid_us: float = 50.0,
    windows: int | None = None,
    timeout: float = 120.0,
) -> list[ResultRecord]:
    """Measure loop lag at each logging rate; one record per (rate, metric).

    Defaults: rates 1 000, 10 000 and 100 000 records/s; quick 0.6 s each, full 5 s; windows of 0.1 s (at
    least 6): a median over many short windows is not moved by the few another process disturbed.
    """
    info = probe(factory)
    name = backend or info.name
    duration = duration_s or (0.6 if quick else 5.0)
    slices = windows or max(6, round(duration / WINDOW_S))
    results: list[ResultRecord] = []
    for rate in rates:
        case = f"rate={rate}/s"
        try:
            with tempfile.TemporaryDirectory(prefix="logbench-loop-lag-", dir=workdir) as tmp:
                outcome = run_child(
                    _measure, factory, os.path.join(tmp, "app.log"), rate, duration, grid_us / 1e6, timeout=timeout
                )
        except ChildFailed as exc:
            results += [ResultRecord(SCENARIO, name, case, metric, None, "ms", status="failed", detail=str(exc)[-2000:]) for metric, _ in METRICS]
            continue
        results += _rate_records(name, case, outcome, rate, duration, grid_us, slices)
    return results


def _rate_records(name: str, case: str, outcome: dict[str, Any], rate: int, duration: float, grid_us: float,
                  slices: int) -> list[ResultRecord]:
    lags: list[float] = outcome["lags_s"]
    whole = sorted(lags)
    size = max(1, len(lags) // slices)
    parts = [sorted(lags[i:i + size]) for i in range(0, size * slices, size) if lags[i:i + size]]
    detail = (
        f"{len(lags)} grid points every {grid_us:g} us over {duration:g} s; whole run p50 "
        f"{percentile(whole, 50) * 1000:.3f} ms, p99 {percentile(whole, 99) * 1000:.3f} ms; logged "
        f"{outcome['logged']} records ({outcome['logged'] / duration:.0f}/s of {rate}/s asked); "
        f"close took {outcome['close_s']:.3f} s"
    )
    records = []
    for metric, pct in METRICS[:2]:
        estimate = median_interval([percentile(part, pct) * 1000.0 for part in parts])
        records.append(ResultRecord(SCENARIO, name, case, metric, estimate.value, "ms", low=estimate.low,
                                    high=estimate.high, detail=f"{detail}; median of {estimate.n} windows"))
    records.append(ResultRecord(SCENARIO, name, case, "lag_max_ms", whole[-1] * 1000.0, "ms", detail=detail))
    return records


# -- in the measuring child -------------------------------------------------------------------


def _measure(factory: Factory, path: str, rate: int, duration: float, grid: float) -> dict[str, Any]:
    return asyncio.run(_main(factory, path, rate, duration, grid))


async def _main(factory: Factory, path: str, rate: int, duration: float, grid: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    logger = factory(path=path)
    lags: list[float] = []
    start = time.perf_counter() + 0.05  # let the logger settle before the grid starts
    end = start + duration
    finished = loop.create_future()
    points = round(duration / grid)
    passed = 0  # grid points start + i * grid, i < passed, already recorded

    def tick() -> None:
        nonlocal passed
        now = time.perf_counter()
        while passed < points and (due := start + passed * grid) <= now:
            lags.append(now - due)
            passed += 1
        if passed < points:
            loop.call_soon(tick)
        elif not finished.done():
            finished.set_result(None)

    loop.call_soon(tick)
    logged = await _log_at_rate(logger, rate, start, end)
    await finished
    closing = time.perf_counter()
    await loop.run_in_executor(None, logger.close)
    return {"lags_s": lags, "logged": logged, "close_s": time.perf_counter() - closing}


async def _log_at_rate(logger: Any, rate: int, start: float, end: float) -> int:
    """Each millisecond from ``start`` (``perf_counter`` time) to ``end``, log the records due at ``rate``/s
    (at most ``CATCH_UP_MS`` worth at once); returns how many were logged."""
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    most = max(1, rate * CATCH_UP_MS // 1000)
    seq = 0
    while (now := time.perf_counter()) < end:
        due = min(int((now - start) * rate), seq + most)
        while seq < due:
            logger.info("loop record", writer=0, seq=seq, payload=PAYLOAD)
            seq += 1
        await asyncio.sleep(0.001)
    return seq
