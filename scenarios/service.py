"""service: a real asyncio HTTP service (aiohttp) under real load (wrk), with and without the backend's cost.

Setup: ``aiohttp`` must import and ``wrk`` must run (:func:`scenarios._wrk.ensure_wrk` installs Debian's package
where it can); otherwise every record is ``not supported`` with the reason. The handler's work is the
overhead scenario's fixed unit (:data:`scenarios._workload.BUILTIN_ROUNDS`, ~20 µs a request on the reference
machine), so every run of one commit serves the same work and ``cpu_us_per_request`` compares across runs;
``unit_target_us`` calibrates it in this process instead (:func:`scenarios._workload.calibrate`: it chose 0 to 9
rounds for one commit here, a unit of 11 to 21 µs). The detail gives the unit's time.

Two servers run side by side, each in its own process (:mod:`scenarios._service_app`), both pinned to one
CPU: A logs through ``null``, B through the backend under test. wrk runs pinned to another CPU (one thread,
``connections`` connections over loopback), so server and load generator get one core each (on a machine with
one CPU nothing is pinned and the detail says so). A backend's writer thread or process runs on the server's
core, as it would in a one-core container. After a warm-up of each server at every case, *pairs* follow: per
pair and case, one run of ``duration_s`` against A and one against B, the order alternating each pair. A run's
requests/s is wrk's requests over wrk's run time *plus* the server's flush right after it, so a backend that
only queues the work (65,536 records fit its queue) pays for writing it out.

Cases ``lines=1/request`` and ``lines=5/request`` (the chatty case), per case:
``requests_per_s`` (B's median and 95% interval), ``requests_ratio`` (per-pair B/A, median and interval: 1.0
is "costs nothing measurable"), ``latency_p50_ms``, ``latency_p99_ms``, ``latency_max_ms`` (wrk's, B's runs,
median and interval), ``latency_p99_ratio`` (per-pair B/A), ``cpu_us_per_request`` (CPU the server process and
its children used per request in a run, flush included: unlike requests/s it does not move when another
process takes the core for a while) and ``cpu_ratio`` (per-pair B/A). Case ``clean shutdown``: ``records_lost``,
the records the handler logged (every request B served, times its lines) not found in B's files after the
server stopped and the logger closed; verdict ``defect`` when any is missing, duplicated or torn.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import os
import tempfile
from typing import Any

import loggers

from . import _workload
from ._common import backend_name
from ._proc import SPAWN, BackendInfo, ChildFailed, Factory, descendants, probe, wait_until_quiet
from ._results import ResultRecord
from ._service_app import serve
from ._stats import Estimate, median_interval
from ._wrk import WrkResult, ensure_wrk, run_wrk, write_done_script
from .verify import verify_log_files

__all__ = ["LINES", "run_service"]

SCENARIO = "service"
LINES = (1, 5)
LOG_NAME = "app.log"
SHUTDOWN_CASE = "clean shutdown"
SPEED_METRICS = (("requests_per_s", "requests/s"), ("requests_ratio", "x"), ("latency_p50_ms", "ms"),
                 ("latency_p99_ms", "ms"), ("latency_max_ms", "ms"), ("latency_p99_ratio", "x"),
                 ("cpu_us_per_request", "us"), ("cpu_ratio", "x"))
NULL_FACTORY = functools.partial(loggers.create, "null")


def run_service(
    factory: Factory,
    *,
    backend: str | None = None,
    quick: bool = False,
    workdir: str | None = None,
    lines: tuple[int, ...] = LINES,
    pairs: int | None = None,
    duration_s: float | None = None,
    warmup_s: float | None = None,
    connections: int = 16,
    unit_target_us: float | None = None,
    timeout: float = 60.0,
) -> list[ResultRecord]:
    """Serve HTTP with ``factory``'s logger and with ``null``, interleaved; the records described above.

    Args:
        lines: records logged per request, one case each.
        pairs: interleaved A/B pairs per case (quick 3, full 11); duration_s: seconds per run (quick 0.2,
            full 2); warmup_s: seconds of load per server and case before the pairs (quick 0.1, full 1).
            Quick mode stays near 6 s a backend: its interval over 3 pairs is [min, max] (75% coverage).
        unit_target_us: calibrate the handler's work to about this many µs here (default: the fixed unit).
        timeout: longest wait for a server to start, flush or stop.
    """
    name = backend_name(factory, backend)
    cases = [f"lines={n}/request" for n in lines]
    reason = _missing_tool()
    if reason:
        return _all_records(name, cases, "not supported", reason)
    pairs = pairs or (3 if quick else 11)
    duration = duration_s or (0.2 if quick else 2.0)
    warmup = warmup_s if warmup_s is not None else (0.1 if quick else 1.0)
    info = probe(factory)
    units = 200 if quick else 1000
    if unit_target_us is None:
        rounds = _workload.BUILTIN_ROUNDS
        unit_us = _workload.time_builtin_unit_us(rounds, units)
    else:
        rounds, unit_us = _workload.calibrate(unit_target_us, units=units)
    server_cpu, load_cpu = _cpus()
    with tempfile.TemporaryDirectory(prefix="logbench-service-", dir=workdir) as tmp:
        load = _Load(write_done_script(tmp), connections, load_cpu, duration)
        os.makedirs(os.path.join(tmp, "a"))
        os.makedirs(os.path.join(tmp, "b"))
        path = os.path.join(tmp, "b", LOG_NAME)
        try:
            with _Server(NULL_FACTORY, os.path.join(tmp, "a", LOG_NAME), rounds, server_cpu, timeout) as base, \
                    _Server(factory, path, rounds, server_cpu, timeout) as test:
                base.wait_ready()
                test.wait_ready()
                runs = _interleave(base, test, lines, pairs, load, warmup)
                writers = descendants(test.pid)
                base.stop()
                ended = test.stop()
        except (ChildFailed, RuntimeError) as exc:
            return _all_records(name, cases, "failed", str(exc)[-2000:])
        shutdown = _shutdown_record(name, info, path, ended, writers, timeout)
    pinning = (f"server on CPU {server_cpu}, wrk on CPU {load_cpu}" if server_cpu is not None
               else "not pinned (fewer than 2 CPUs)")
    setting = (f"{pairs} interleaved pairs of {duration:g} s after {warmup:g} s warm-up; wrk 1 thread, "
               f"{connections} connections; {pinning}; handler work {unit_us:.1f} us (rounds={rounds})")
    records = [record for n, case in zip(lines, cases) for record in _case_records(name, case, runs[n], setting)]
    return [*records, shutdown]


# -- the measurement ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Run:
    requests_per_s: float
    wrk: WrkResult
    flush_s: float
    cpu_per_request_s: float


@dataclasses.dataclass(frozen=True)
class _Load:
    script: str
    connections: int
    cpu: int | None
    duration: float


class _Server:
    """One server process (:func:`scenarios._service_app.serve`); a context manager that kills it on exit."""

    def __init__(self, factory: Factory, path: str, rounds: int, cpu: int | None, timeout: float) -> None:
        self.timeout = timeout
        self._conn, child_conn = SPAWN.Pipe()
        self._process = SPAWN.Process(target=serve, args=(factory, path, rounds, cpu, child_conn),
                                      name="logbench-service")
        self._process.start()
        child_conn.close()
        self.pid = int(self._process.pid or 0)
        self.port = 0

    def wait_ready(self) -> _Server:
        """Wait until the server listens (servers start in parallel: create both, then wait for each)."""
        self.port = int(self._expect("ready"))
        return self

    def _expect(self, what: str) -> Any:
        if not self._conn.poll(self.timeout):
            raise ChildFailed(f"service process: no {what!r} within {self.timeout:g} s")
        try:
            kind, payload = self._conn.recv()
        except EOFError:
            self._process.join(5)
            raise ChildFailed(f"service process died (exit code {self._process.exitcode})") from None
        if kind != what:
            raise ChildFailed(f"service process: expected {what!r}, got {kind!r}: {payload}")
        return payload

    def url(self, lines: int) -> str:
        return f"http://127.0.0.1:{self.port}/lines/{lines}"

    def flush(self) -> float:
        """The logger's flush time in seconds."""
        self._conn.send("flush")
        return float(self._expect("flushed"))

    def cpu(self) -> float:
        """CPU seconds the server process and its children used so far."""
        self._conn.send("cpu")
        return float(self._expect("cpu"))

    def stop(self) -> dict[str, Any]:
        """Stop serving, close the logger, wait for the process; its summary."""
        self._conn.send("stop")
        summary: dict[str, Any] = self._expect("done")
        self._process.join(self.timeout)
        return summary

    def __enter__(self) -> _Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.join(0.1)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()


def _measure(server: _Server, lines: int, load: _Load, duration: float) -> _Run:
    cpu_before = server.cpu()
    wrk = run_wrk(server.url(lines), duration, connections=load.connections, script=load.script, cpu=load.cpu)
    flush_s = server.flush()
    cpu_s = server.cpu() - cpu_before
    if wrk.requests <= 0:
        raise RuntimeError(f"wrk completed no request against {server.url(lines)} ({wrk})")
    return _Run(wrk.requests / (wrk.duration_s + flush_s), wrk, flush_s, cpu_s / wrk.requests)


def _interleave(base: _Server, test: _Server, lines: tuple[int, ...], pairs: int, load: _Load,
                warmup: float) -> dict[int, list[tuple[_Run, _Run]]]:
    """Warm up both servers at every case, then ``pairs`` (A, B) runs per case, alternating which goes first."""
    if warmup > 0:
        for server in (base, test):
            for n in lines:
                _measure(server, n, load, warmup)
    runs: dict[int, list[tuple[_Run, _Run]]] = {n: [] for n in lines}
    for i in range(pairs):
        for n in lines:
            if i % 2 == 0:
                a = _measure(base, n, load, load.duration)
                b = _measure(test, n, load, load.duration)
            else:
                b = _measure(test, n, load, load.duration)
                a = _measure(base, n, load, load.duration)
            runs[n].append((a, b))
    return runs


# -- records ------------------------------------------------------------------------------------


def _case_records(name: str, case: str, pairs: list[tuple[_Run, _Run]], setting: str) -> list[ResultRecord]:
    base = median_interval([a.requests_per_s for a, _ in pairs])
    errors = sum(r.wrk.errors + r.wrk.status_errors for pair in pairs for r in pair)
    flush_ms = median_interval([b.flush_s * 1000.0 for _, b in pairs]).value
    detail = (f"null serves {base.value:.0f} req/s [{base.low:.0f}, {base.high:.0f}]; {setting}; "
              f"median flush after a run {flush_ms:.2f} ms; wrk errors {errors}")
    estimates: dict[str, Estimate] = {
        "requests_per_s": median_interval([b.requests_per_s for _, b in pairs]),
        "requests_ratio": median_interval([b.requests_per_s / a.requests_per_s for a, b in pairs]),
        "latency_p50_ms": median_interval([b.wrk.p50_s * 1000.0 for _, b in pairs]),
        "latency_p99_ms": median_interval([b.wrk.p99_s * 1000.0 for _, b in pairs]),
        "latency_max_ms": median_interval([b.wrk.max_s * 1000.0 for _, b in pairs]),
        "latency_p99_ratio": median_interval([b.wrk.p99_s / max(a.wrk.p99_s, 1e-6) for a, b in pairs]),
        "cpu_us_per_request": median_interval([b.cpu_per_request_s * 1e6 for _, b in pairs]),
        "cpu_ratio": median_interval([b.cpu_per_request_s / max(a.cpu_per_request_s, 1e-9) for a, b in pairs]),
    }
    return [ResultRecord(SCENARIO, name, case, metric, estimates[metric].value, unit, low=estimates[metric].low,
                         high=estimates[metric].high, detail=f"{detail}; {estimates[metric].n} pairs, interval "
                         f"coverage {estimates[metric].coverage:.0%}")
            for metric, unit in SPEED_METRICS]


def _shutdown_record(name: str, info: BackendInfo, path: str, ended: dict[str, Any], writers: list[int],
                     timeout: float) -> ResultRecord:
    """``records_lost`` after a clean shutdown: every record the handler logged must be in the files, once."""
    handled = ", ".join(f"{count} at {n} line(s)" for n, count in sorted(ended["handled"].items()))
    if not info.writes_file:
        return ResultRecord(SCENARIO, name, SHUTDOWN_CASE, "records_lost", None, "records", status="not supported",
                            detail=f"{name} writes no file (served {handled})")
    quiet = wait_until_quiet(writers, os.path.dirname(path), timeout=timeout)
    seen = verify_log_files(os.path.dirname(path), LOG_NAME, {0: int(ended["records"])},
                            parse_line=info.line_parser, files=info.files_for(path))
    detail = (f"requests served {handled}: {seen.summary()}; logger stats {ended['stats']}; close took "
              f"{ended['close_s']:.3f} s" + ("" if quiet else "; writer still busy at the count"))
    return ResultRecord(SCENARIO, name, SHUTDOWN_CASE, "records_lost", seen.lost, "records",
                        verdict="ok" if seen.ok else "defect", detail=detail)


def _all_records(name: str, cases: list[str], status: str, detail: str) -> list[ResultRecord]:
    """Every record of the scenario with no value: a cell that could not run (``status`` says why)."""
    records = [ResultRecord(SCENARIO, name, case, metric, None, unit, status=status, detail=detail)
               for case in cases for metric, unit in SPEED_METRICS]
    return [*records, ResultRecord(SCENARIO, name, SHUTDOWN_CASE, "records_lost", None, "records", status=status,
                                   detail=detail)]


def _missing_tool() -> str | None:
    """Why the scenario cannot run here (aiohttp not importable, wrk not installable), or None."""
    if importlib.util.find_spec("aiohttp") is None:
        return "aiohttp is not installed (pip install 'logbench[harness]')"
    return ensure_wrk()


def _cpus() -> tuple[int | None, int | None]:
    """(server CPU, load generator CPU), or (None, None) when this process may use fewer than two."""
    allowed = sorted(os.sched_getaffinity(0))
    return (allowed[0], allowed[1]) if len(allowed) >= 2 else (None, None)
