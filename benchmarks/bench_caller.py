"""Caller cost: what one ``log.info`` call costs the application, per backend (asv ``track_`` of the
``caller`` scenario's pyperf figures), and the peak memory of a burst (asv ``peakmem_``, measured in the
asv process itself)."""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

from ._common import BACKENDS, available_backends, pick, require, run_per_backend

CALLER_SHAPES = ["small", "filtered"]

BURST_RECORDS = 20_000
PAYLOAD = "x" * 64


class CallerCost:
    """ns per ``log.info`` call as the ``caller`` scenario measures it on pyperf (asv ``track_``).

    Not a ``time_`` benchmark: asv_runner 0.3 re-runs ``setup()`` before every timed
    call (asv#966), so a ``time_`` benchmark of one call timed a call on a logger
    created just before it (5-15x the real cost). ``setup_cache`` runs the scenario
    once per environment for every backend; the figures are pyperf's medians.
    """

    params = [BACKENDS, CALLER_SHAPES]
    param_names = ["backend", "record"]
    timeout = 600

    def setup_cache(self) -> dict[str, Any]:
        return run_per_backend("caller", "run_caller", BACKENDS, shapes=tuple(CALLER_SHAPES))

    setup_cache.timeout = 600  # type: ignore[attr-defined]

    def setup(self, cache: dict[str, Any], backend: str, record: str) -> None:
        self.records = require(cache, backend, f"record={record}")

    def track_ns_per_call(self, cache: dict[str, Any], backend: str, record: str) -> float:
        return pick(self.records, f"record={record}", "ns_per_call")

    track_ns_per_call.unit = "ns"  # type: ignore[attr-defined]


class BurstMemory:
    """Peak RSS of this process while logging a burst of records and closing."""

    params = [BACKENDS]
    param_names = ["backend"]
    timeout = 120

    def setup(self, backend: str) -> None:
        if backend not in available_backends():
            raise NotImplementedError(f"backend {backend!r} does not exist at this commit")
        self.tmp = tempfile.mkdtemp(prefix="logbench-asv-")

    def teardown(self, backend: str) -> None:
        if hasattr(self, "tmp"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def peakmem_burst(self, backend: str) -> None:
        import loggers

        log = loggers.create(backend, path=f"{self.tmp}/app.log")
        for seq in range(BURST_RECORDS):
            log.info("burst record", writer="w0", seq=seq, payload=PAYLOAD)
        log.close()
