"""Small helpers shared by the timing scenarios (overhead, latency, throughput).

Factories are always called with the path as a keyword: ``factory(path=..., **options)``.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import resource
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

Factory = Callable[..., Any]


def backend_name(factory: Factory, backend: str | None) -> str:
    """The name to put in records: ``backend`` if given, else guessed from the factory."""
    if backend:
        return backend
    if isinstance(factory, functools.partial) and factory.args and isinstance(factory.args[0], str):
        return factory.args[0]
    return str(getattr(factory, "name", None) or getattr(factory, "__name__", None) or "unknown")


@contextlib.contextmanager
def scratch_dir(workdir: str | None) -> Iterator[str]:
    """A directory for log files: a fresh one inside ``workdir`` (or the temp dir), removed afterwards."""
    path = tempfile.mkdtemp(prefix="logbench-", dir=workdir)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def remove_logs(path: str) -> None:
    """Delete ``path`` and its rotated backups / lock file, ignoring what is not there."""
    directory, base = os.path.split(path)
    for entry in os.listdir(directory or "."):
        if entry == base or entry.startswith(base + "."):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(directory, entry))


def open_ready(factory: Factory, path: str, **options: Any) -> Any:
    """Create a logger and wait until it is ready (a first ``flush``), outside any timed part.

    Collects garbage first so a collection left over from earlier blocks does not land in the timing.
    """
    gc.collect()
    log = factory(path=path, **options)
    log.flush(timeout=10.0)
    return log


def children_cpu_s() -> float:
    """CPU seconds of this process's children: reaped ones (getrusage) plus live ones (psutil, if installed).

    A child moves from "live" to "reaped" when its parent waits for it, so the
    sum stays continuous; deltas of it are the children's CPU in between.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    try:
        import psutil  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        return total
    try:
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                times = child.cpu_times()
                total += times.user + times.system
    except psutil.Error:
        pass
    return total

