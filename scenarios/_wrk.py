"""The load generator of the service scenario: Debian's ``wrk``, found or installed, run for a fixed time.

:func:`ensure_wrk` returns None when ``wrk`` can be run, installing the Debian package with ``apt-get`` when it
is missing and this process may (root, apt-get present), else the reason it cannot (for a "not supported"
record). :func:`run_wrk` runs one closed-loop load of ``duration`` seconds against a URL from one thread pinned
to one CPU and returns what wrk measured, read from a JSON line its ``done`` hook prints (not from its text
report). wrk takes whole seconds for ``-d``, so the run is given a long ``-d`` and stopped with SIGINT after
``duration``: wrk then stops its connections and reports as at the end of a timed run, with the time it really
ran (``duration_s``). Latency is wrk's own (from sending a request to its response, per connection): closed-loop,
so it is *not* coordinated-omission safe; it is reported as wrk's figure, next to requests/s.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable

__all__ = ["WrkResult", "ensure_wrk", "run_wrk"]

#: wrk's ``done`` hook: one JSON line with the figures the scenario keeps (latency in µs).
DONE_SCRIPT = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n{"requests":%d,"duration_us":%d,"errors":%d,"status_errors":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""
INSTALL_TIMEOUT_S = 300.0


@dataclasses.dataclass(frozen=True)
class WrkResult:
    """One wrk run: requests completed in ``duration_s``; latency figures in seconds."""

    requests: int
    duration_s: float
    errors: int
    status_errors: int
    p50_s: float
    p99_s: float
    max_s: float


def ensure_wrk() -> str | None:
    """None when ``wrk`` is on PATH (installing Debian's ``wrk`` first if it is missing and root may); else why not."""
    if shutil.which("wrk"):
        return None
    if not shutil.which("apt-get"):
        return "wrk is not installed and there is no apt-get to install it (install the wrk package)"
    if os.geteuid() != 0:
        return "wrk is not installed and installing it needs root (apt-get install -y wrk)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "wrk"]):
        try:
            done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=INSTALL_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"wrk is not installed and {' '.join(command)} failed: {exc}"
        if shutil.which("wrk"):
            return None
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
    return f"wrk is not installed and apt-get install -y wrk failed: {last[0]}"


def write_done_script(directory: str) -> str:
    """Write wrk's ``done`` hook into ``directory``; its path."""
    path = os.path.join(directory, "wrk_done.lua")
    with open(path, "w", encoding="utf-8") as file:
        file.write(DONE_SCRIPT)
    return path


def run_wrk(url: str, duration: float, *, connections: int, script: str, cpu: int | None,
            timeout: float = 30.0) -> WrkResult:
    """Load ``url`` for ``duration`` s with ``connections`` connections from one wrk thread on ``cpu``.

    Raises:
        RuntimeError: wrk failed, printed no figures, or did not stop within ``timeout`` s after SIGINT.
    """
    command = ["wrk", "-t1", f"-c{connections}", f"-d{int(duration) + 60}s", "--timeout", "10s", "-s", script, url]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=_pinner(cpu))
    try:
        time.sleep(duration)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            figures = json.loads(line)
            return WrkResult(int(figures["requests"]), figures["duration_us"] / 1e6, int(figures["errors"]),
                             int(figures["status_errors"]), figures["p50_us"] / 1e6, figures["p99_us"] / 1e6,
                             figures["max_us"] / 1e6)
    raise RuntimeError(f"wrk printed no figures (exit code {process.returncode}): {(err or out).strip()[-500:]}")


def _pinner(cpu: int | None) -> Callable[[], None] | None:
    """The ``preexec_fn`` pinning the child to ``cpu`` (what ``taskset -c CPU`` does), or None."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})
