"""loop_lag: how late an asyncio loop runs its callbacks while the application logs.

In a fresh process an event loop runs two things for ``duration_s`` seconds:

* a *ticker*: a callback scheduled on a fixed grid every ``period_ms``
  (``loop.call_at``); its lag is ``loop.time()`` when it runs minus the grid
  time it was due. The grid does not move when a tick is late, so one stall of
  50 ms shows as a run of late ticks (50, 49, 48 ... ms), not as one sample
  (coordinated-omission safe);
* a *logging coroutine*: every millisecond it logs the records due by then at
  ``rate`` records/s (fields ``writer``, ``seq``), then yields with
  ``asyncio.sleep``.

The logger is created inside the running loop (so a backend made for asyncio
can bind to it) and closed afterwards in an executor thread (a backend whose
writer runs on the loop can still drain). Metrics per rate: ``lag_p50_ms``,
``lag_p99_ms``, ``lag_max_ms`` (nearest-rank percentiles of every tick). The
detail gives the achieved logging rate and the tick count. Run it with
``null`` for the loop's own lag on this machine.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from typing import Any

from ._proc import ChildFailed, Factory, probe, run_child
from ._results import ResultRecord
from ._stats import percentile

SCENARIO = "loop_lag"
METRICS = (("lag_p50_ms", 50.0), ("lag_p99_ms", 99.0), ("lag_max_ms", 100.0))
PAYLOAD = "a" * 64


def run_loop_lag(
    factory: Factory,
    *,
    quick: bool = False,
    backend: str | None = None,
    workdir: str | None = None,
    rates: tuple[int, ...] | None = None,
    duration_s: float | None = None,
    period_ms: float = 1.0,
    timeout: float = 120.0,
) -> list[ResultRecord]:
    """Measure loop lag at each logging rate; one record per (rate, metric).

    Defaults: rates 1 000 and 10 000 records/s; quick 1 s each, full 5 s.
    """
    info = probe(factory)
    name = backend or info.name
    duration = duration_s or (1.0 if quick else 5.0)
    results: list[ResultRecord] = []
    for rate in rates or (1_000, 10_000):
        case = f"rate={rate}/s"
        try:
            with tempfile.TemporaryDirectory(prefix="logbench-loop-lag-", dir=workdir) as tmp:
                outcome = run_child(
                    _measure, factory, os.path.join(tmp, "app.log"), rate, duration, period_ms / 1000.0, timeout=timeout
                )
        except ChildFailed as exc:
            results += [ResultRecord(SCENARIO, name, case, metric, None, "ms", status="failed", detail=str(exc)[-2000:]) for metric, _ in METRICS]
            continue
        lags = sorted(outcome["lags_s"])
        detail = (
            f"{len(lags)} ticks every {period_ms:g} ms over {duration:g} s; logged {outcome['logged']} records "
            f"({outcome['logged'] / duration:.0f}/s of {rate}/s asked); close took {outcome['close_s']:.3f} s"
        )
        results += [
            ResultRecord(SCENARIO, name, case, metric, percentile(lags, pct) * 1000.0, "ms", detail=detail)
            for metric, pct in METRICS
        ]
    return results


# -- in the measuring child -------------------------------------------------------------------


def _measure(factory: Factory, path: str, rate: int, duration: float, period: float) -> dict[str, Any]:
    return asyncio.run(_main(factory, path, rate, duration, period))


async def _main(factory: Factory, path: str, rate: int, duration: float, period: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    logger = factory(path=path)
    lags: list[float] = []
    start = loop.time() + 0.05  # let the logger settle before the grid starts
    end = start + duration
    finished = loop.create_future()

    def tick(due: float) -> None:
        lags.append(loop.time() - due)
        following = due + period
        if following < end:
            loop.call_at(following, tick, following)
        elif not finished.done():
            finished.set_result(None)

    loop.call_at(start, tick, start)
    logged = await _log_at_rate(logger, rate, start, end)
    await finished
    closing = time.perf_counter()
    await loop.run_in_executor(None, logger.close)
    return {"lags_s": lags, "logged": logged, "close_s": time.perf_counter() - closing}


async def _log_at_rate(logger: Any, rate: int, start: float, end: float) -> int:
    """Log the records due at ``rate``/s since ``start`` each millisecond until ``end``; returns how many."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, start - loop.time()))
    seq = 0
    while (now := loop.time()) < end:
        due = int((now - start) * rate)
        while seq < due:
            logger.info("loop record", writer=0, seq=seq, payload=PAYLOAD)
            seq += 1
        await asyncio.sleep(0.001)
    return seq
