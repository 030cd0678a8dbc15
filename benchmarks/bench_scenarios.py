"""Scenario figures tracked over history (asv ``track_``): each class runs one scenario once per
backend in ``setup_cache`` (quick mode) and its ``track_`` methods read the records it returned."""

from __future__ import annotations

from typing import Any

from ._common import BACKENDS, WRITING_BACKENDS, pick, require, run_per_backend

KILL_CASES = ["sigkill/paced", "sigkill/burst"]
ROTATION_CASES = ["single-process", "multi-process", "multi-process-kill"]
ROTATION_DEFECTS = ("lost", "duplicated", "out_of_order", "torn", "oversize_files", "empty_files")
MEMORY_CASES = ["burst", "slow_sink/block", "slow_sink/drop_new", "slow_sink/drop_old"]
OVERHEAD_RATES = ["rate=1/unit", "rate=1/10units", "rate=5/unit"]


class Overhead:
    """``scenarios.overhead.run_overhead``: overhead % over no logging, against the 5% target."""

    params = [WRITING_BACKENDS, OVERHEAD_RATES]
    param_names = ["backend", "rate"]
    timeout = 900

    def setup_cache(self) -> dict[str, Any]:
        return run_per_backend("overhead", "run_overhead", WRITING_BACKENDS)

    setup_cache.timeout = 900  # type: ignore[attr-defined]

    def setup(self, cache: dict[str, Any], backend: str, rate: str) -> None:
        self.records = require(cache, backend, rate)

    def track_wall_overhead_pct(self, cache: dict[str, Any], backend: str, rate: str) -> float:
        return pick(self.records, rate, "wall_overhead_pct")

    track_wall_overhead_pct.unit = "%"  # type: ignore[attr-defined]

    def track_cpu_overhead_pct(self, cache: dict[str, Any], backend: str, rate: str) -> float:
        return pick(self.records, rate, "cpu_overhead_pct")

    track_cpu_overhead_pct.unit = "%"  # type: ignore[attr-defined]


class Crash:
    """``scenarios.crash.run_crash``: records lost when the application is SIGKILLed."""

    params = [WRITING_BACKENDS, KILL_CASES]
    param_names = ["backend", "case"]
    timeout = 900

    def setup_cache(self) -> dict[str, Any]:
        return run_per_backend("crash", "run_crash", WRITING_BACKENDS)

    setup_cache.timeout = 900  # type: ignore[attr-defined]

    def setup(self, cache: dict[str, Any], backend: str, case: str) -> None:
        self.records = require(cache, backend, case)

    def track_lost_per_trial_median(self, cache: dict[str, Any], backend: str, case: str) -> float:
        return pick(self.records, case, "lost_median")

    track_lost_per_trial_median.unit = "records"  # type: ignore[attr-defined]

    def track_lost_per_trial_max(self, cache: dict[str, Any], backend: str, case: str) -> float:
        return pick(self.records, case, "lost_max")

    track_lost_per_trial_max.unit = "records"  # type: ignore[attr-defined]


class Rotation:
    """``scenarios.rotation.run_rotation``: defects in rotated files (should stay 0)."""

    params = [WRITING_BACKENDS, ROTATION_CASES]
    param_names = ["backend", "case"]
    timeout = 900

    def setup_cache(self) -> dict[str, Any]:
        return run_per_backend("rotation", "run_rotation", WRITING_BACKENDS)

    setup_cache.timeout = 900  # type: ignore[attr-defined]

    def setup(self, cache: dict[str, Any], backend: str, case: str) -> None:
        self.records = require(cache, backend, case)

    def track_defects(self, cache: dict[str, Any], backend: str, case: str) -> float:
        return sum(pick(self.records, case, metric) for metric in ROTATION_DEFECTS)

    track_defects.unit = "records+files"  # type: ignore[attr-defined]


class Memory:
    """``scenarios.memory.run_memory``: peak RSS and queue depth under burst / slow sink."""

    params = [BACKENDS, MEMORY_CASES]
    param_names = ["backend", "case"]
    timeout = 900

    def setup_cache(self) -> dict[str, Any]:
        return run_per_backend("memory", "run_memory", BACKENDS)

    setup_cache.timeout = 900  # type: ignore[attr-defined]

    def setup(self, cache: dict[str, Any], backend: str, case: str) -> None:
        self.records = require(cache, backend, case)

    def track_peak_rss_bytes(self, cache: dict[str, Any], backend: str, case: str) -> float:
        return pick(self.records, case, "peak_rss_bytes")

    track_peak_rss_bytes.unit = "bytes"  # type: ignore[attr-defined]

    def track_max_queue_depth(self, cache: dict[str, Any], backend: str, case: str) -> float:
        return pick(self.records, case, "max_queue_depth")

    track_max_queue_depth.unit = "records"  # type: ignore[attr-defined]
