"""Caller cost: what one ``log.info`` call costs the application, per backend (asv ``time_``),
and the peak memory of a burst (asv ``peakmem_``, measured in the asv process itself)."""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

from ._common import BACKENDS, available_backends

BURST_RECORDS = 20_000
PAYLOAD = "x" * 64


class CallerCost:
    """``log.info(...)`` with three fields, on a logger opened in ``setup`` (not timed)."""

    params = [BACKENDS]
    param_names = ["backend"]
    timeout = 120

    def setup(self, backend: str) -> None:
        if backend not in available_backends():
            raise NotImplementedError(f"backend {backend!r} does not exist at this commit")
        import loggers

        self.tmp = tempfile.mkdtemp(prefix="logbench-asv-")
        # a queued backend must never block on a full queue inside the timing loop
        options: dict[str, Any] = {"overflow": "drop_old"} if "overflow" in loggers.backend_class(backend).accepts else {}
        self.log = loggers.create(backend, path=f"{self.tmp}/app.log", **options)

    def teardown(self, backend: str) -> None:  # asv calls it after a skipped setup too
        if hasattr(self, "log"):
            self.log.close()
        if hasattr(self, "tmp"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def time_info(self, backend: str) -> None:
        self.log.info("user login", user_id=42, ok=True)

    def time_info_below_level(self, backend: str) -> None:
        self.log.debug("filtered out", user_id=42)


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
