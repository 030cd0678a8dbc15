"""Report failures on stderr once per kind, then only as a rate-limited summary."""

from __future__ import annotations

import sys
import threading
import time

REPEAT_AFTER_SECONDS = 60.0


class ErrorReporter:
    """Print the first failure of each kind, then at most one summary a minute per kind.

    Thread-safe. Printing never raises: a broken stderr is ignored, since the
    failure is already counted in the owner's ``stats()``.
    """

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._lock = threading.Lock()
        self._next_allowed: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def report(self, kind: str, detail: str) -> None:
        """Note one failure of ``kind``; print it unless one was printed recently."""
        now = time.monotonic()
        with self._lock:
            if now < self._next_allowed.get(kind, 0.0):
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return
            self._next_allowed[kind] = now + REPEAT_AFTER_SECONDS
            suppressed = self._suppressed.pop(kind, 0)
        extra = f" ({suppressed} more since last report)" if suppressed else ""
        message = (
            f"logbench: {self._owner}: {kind}: {detail}{extra}; "
            "further failures of this kind are counted in stats() and summarised at most once a minute\n"
        )
        try:
            sys.stderr.write(message)
            sys.stderr.flush()
        except Exception:
            pass
