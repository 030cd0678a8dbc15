"""Load scenarios: each takes a backend factory and parameters and returns result records.

``SCENARIOS`` is the explicit registry: name -> "module:function". A backend
factory is any picklable callable ``factory(path, **options) -> loggers.Logger``
(e.g. ``functools.partial(loggers.create, "sync")``).
"""

from __future__ import annotations

from ._results import ResultRecord

__all__ = ["ROUNDS", "SCENARIOS", "ResultRecord"]

SCENARIOS: dict[str, str] = {
    "overhead": "scenarios.overhead:run_overhead",
    "latency": "scenarios.latency:run_latency",
    "throughput": "scenarios.throughput:run_throughput",
    "faults": "scenarios.faults:run_faults",
    "memory": "scenarios.memory:run_memory",
    "crash": "scenarios.crash:run_crash",
    "rotation": "scenarios.rotation:run_rotation",
    "loop_lag": "scenarios.loop_lag:run_loop_lag",
    "caller": "scenarios.caller:run_caller",
    "service": "scenarios.service:run_service",
    "writer_kill": "scenarios.writer_kill:run_writer_kill",
}
#: scenarios whose repetitions pool over several processes (:mod:`scenarios._rounds`): name ->
#: "module:function" merging one cell's rounds; each such scenario function takes ``rounds``
ROUNDS: dict[str, str] = {
    "overhead": "scenarios.overhead:merge_rounds",
    "latency": "scenarios.latency:merge_rounds",
    "throughput": "scenarios.throughput:merge_rounds",
    "memory": "scenarios.memory:merge_rounds",
}
