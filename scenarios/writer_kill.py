"""writer_kill: the backend's writer process SIGKILLed again and again while the application logs on.

Only for backends that run a writer process (found by looking, not by name: a
child process of the application once a logger exists); others are "not supported".

Case ``writer-sigkill``, in one fresh process: *rounds*, each with a new logger on
a fresh path. In a round the application logs bursts of ``seq`` 0, 1, 2 ...
(``writer=0``); after a burst it waits a random 0-3 ms (so the writer is caught
anywhere in its batch: reading, encoding, writing, rotating — ``max_bytes`` is
small), SIGKILLs the writer process, logs another burst, then calls ``flush()``
(where the backend notices the death; a True flush promises what it covered). A
round ends after ``kills_per_round`` kills, or when no live writer appears within
half a second of a flush (the backend stopped replacing it), then the logger is closed
and its files are read back. Rounds repeat until ``kills`` kills were made (6 quick, 100 full).

Metrics (summed over rounds): ``kills``; ``lost`` (logged, not in the files);
``dropped`` (what the backend counted as dropped); ``duplicated``; ``torn`` (lines
that are not a whole record); ``flushed_lost`` (records a True flush covered,
missing beyond what was counted dropped when that flush returned); ``uncounted_lost`` (lost beyond ``dropped``); the loss *window* of one
kill, ``window_median`` / ``window_max``: records dropped from just before a kill
to the flush after it, over the kills after which a new writer ran; and
``lost_writer_gone``: records dropped after a kill that was not replaced (the
backend's limit on replacements reached: everything from then on is dropped). Verdict ``defect``, for
``crash_durability="returned"`` (exactly once, ``mmap``): anything lost, duplicated
or torn; for ``"flushed"`` (``subprocess``: records sent but not confirmed are
lost, counted as dropped): a duplicate, a flushed record lost, an uncounted loss,
or more torn lines than kills (each kill may cut one ``write``).
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import tempfile
import time
from typing import Any

from ._proc import ChildFailed, Factory, probe, run_child
from ._results import ResultRecord
from ._stats import percentile
from .verify import LineParser, verify_log_files

SCENARIO = "writer_kill"
CASE = "writer-sigkill"
METRICS = (("kills", "count"), ("lost", "records"), ("dropped", "records"), ("duplicated", "count"),
           ("torn", "count"), ("flushed_lost", "records"), ("uncounted_lost", "records"),
           ("window_median", "records"), ("window_max", "records"), ("lost_writer_gone", "records"))
LOG_NAME = "app.log"
PAYLOAD = "w" * 48


def run_writer_kill(
    factory: Factory,
    *,
    quick: bool = False,
    backend: str | None = None,
    workdir: str | None = None,
    kills: int | None = None,
    kills_per_round: int = 10,
    burst: tuple[int, int] = (100, 1500),
    max_bytes: int = 64 * 1024,
    seed: int = 0,
    timeout: float = 600.0,
    parse_line: LineParser | None = None,
) -> list[ResultRecord]:
    """Run the case; see the module docstring. ``kills``: 6 quick, 100 full."""
    info = probe(factory)
    name = backend or info.name
    target = kills or (6 if quick else 100)
    options = {"max_bytes": max_bytes, "backup_count": 10_000} if info.rotates else {}
    if not _runs_writer_process(factory, workdir):
        return _not_supported(name)
    with tempfile.TemporaryDirectory(prefix="logbench-writer-kill-", dir=workdir) as tmp:
        try:
            rounds: list[dict[str, Any]] | None = run_child(
                _kill_rounds, factory, tmp, options, target, kills_per_round, burst, seed,
                parse_line or info.line_parser, info.log_files, timeout=timeout)
        except ChildFailed as exc:
            return [ResultRecord(SCENARIO, name, CASE, metric, None, unit, status="failed", detail=str(exc)[-2000:])
                    for metric, unit in METRICS]
    if rounds is None:
        return _not_supported(name)
    return _records(name, info.crash_durability, rounds)


def _not_supported(name: str) -> list[ResultRecord]:
    reason = f"{name} runs no writer process (no child process once a logger exists)"
    return [ResultRecord(SCENARIO, name, CASE, metric, None, unit, status="not supported", detail=reason)
            for metric, unit in METRICS]


def _runs_writer_process(factory: Factory, workdir: str | None) -> bool:
    """True if a logger of ``factory``, once it logged and flushed, has a child process here (cheap: no spawn)."""
    before = set(_live_children())
    with tempfile.TemporaryDirectory(prefix="logbench-writer-probe-", dir=workdir) as tmp:
        logger = factory(path=os.path.join(tmp, LOG_NAME))
        try:
            logger.info("writer probe", writer=0, seq=0)
            logger.flush(timeout=2.0)
            return bool(_wait_for_writer(before, 0.2))
        finally:
            logger.close()


def _records(name: str, durability: str, rounds: list[dict[str, Any]]) -> list[ResultRecord]:
    windows = sorted(w for r in rounds for w in r["windows"])
    totals = {metric: sum(r[metric] for r in rounds) for metric, _ in METRICS if not metric.startswith("window")}
    totals["window_median"] = statistics.median(windows) if windows else 0
    totals["window_max"] = windows[-1] if windows else 0
    if durability == "returned":
        promise = "exactly once: nothing lost, duplicated or torn"
        broken = bool(totals["lost"] or totals["duplicated"] or totals["torn"])
    else:
        promise = "flushed records kept, losses counted as dropped, no duplicates, at most one torn line per kill"
        broken = bool(totals["duplicated"] or totals["flushed_lost"] or totals["uncounted_lost"]
                      or totals["torn"] > totals["kills"])
    losses = [r["lost"] for r in rounds]
    detail = (
        f"{totals['kills']} writer SIGKILLs in {len(rounds)} round(s) (a new logger each), "
        f"{sum(r['logged'] for r in rounds)} records logged; promise ({durability}): {promise}; "
        f"lost per round {losses if len(losses) <= 20 else f'max {max(losses)}'}; dropped per replaced kill (the "
        f"window) median {totals['window_median']:g}, p99 {percentile(windows, 99.0) if windows else 0:g}, max "
        f"{totals['window_max']} over {len(windows)}; dropped once no writer was replaced {totals['lost_writer_gone']}; "
        + "; ".join(r["note"] for r in rounds[:2])
    )
    verdict = "defect" if broken else "ok"
    return [ResultRecord(SCENARIO, name, CASE, metric, totals[metric], unit, verdict=verdict, detail=detail)
            for metric, unit in METRICS]


# -- in the measuring child -----------------------------------------------------------------


def _kill_rounds(
    factory: Factory, tmp: str, options: dict[str, Any], target: int, per_round: int, burst: tuple[int, int],
    seed: int, parse_line: LineParser | None, log_files: Any,
) -> list[dict[str, Any]] | None:
    """Rounds until ``target`` kills; None if the logger runs no writer process."""
    rng = random.Random(seed)
    before = set(_live_children())
    rounds: list[dict[str, Any]] = []
    kills = 0
    while kills < target:
        directory = os.path.join(tmp, f"round{len(rounds)}")
        os.makedirs(directory)
        path = os.path.join(directory, LOG_NAME)
        outcome = _one_round(factory, path, options, min(per_round, target - kills), burst, rng, before)
        if outcome is None:
            return None
        files = None if log_files is None else log_files(path)
        found = verify_log_files(directory, LOG_NAME, {0: outcome["logged"]}, parse_line=parse_line, files=files)
        # A True flush promises every record logged before it that was not counted dropped by then.
        flushed_lost = max([0] + [
            verify_log_files(directory, LOG_NAME, {0: last + 1}, parse_line=parse_line, files=files).lost - counted
            for last, counted in outcome["promises"]])
        dropped = int(outcome["stats"].get("dropped", 0))
        rounds.append({
            "kills": outcome["kills"], "logged": outcome["logged"], "lost": found.lost, "dropped": dropped,
            "duplicated": found.duplicated, "torn": found.torn_lines + found.unexpected,
            "flushed_lost": flushed_lost, "uncounted_lost": max(0, found.lost - dropped),
            "windows": outcome["windows"], "lost_writer_gone": outcome["gone"],
            "note": (f"round {len(rounds)}: {outcome['kills']} kill(s), {outcome['logged']} logged, "
                     f"flushes true {outcome['flush_true']}/{outcome['flushes']}, {found.summary()}, stats "
                     + ", ".join(f"{k} {v}" for k, v in sorted(outcome["stats"].items()) if isinstance(v, int))),
        })
        if outcome["kills"] == 0:
            break  # the backend gave up replacing its writer at once: no more kills to make
        kills += outcome["kills"]
    return rounds


def _one_round(
    factory: Factory, path: str, options: dict[str, Any], kills: int, burst: tuple[int, int],
    rng: random.Random, before: set[int],
) -> dict[str, Any] | None:
    logger = factory(path=path, **options)
    seq = -1
    flushes = flush_true = made = 0
    promises: list[tuple[int, int]] = []  # (last seq a True flush covered, records counted dropped by then)

    def log_burst() -> None:
        nonlocal seq
        for _ in range(rng.randint(*burst)):
            seq += 1
            logger.info("writer kill record", writer=0, seq=seq, payload=PAYLOAD)

    def flush() -> None:
        nonlocal flushes, flush_true
        flushes += 1
        last = seq
        if logger.flush(timeout=2.0):
            flush_true += 1
            promises.append((last, _dropped(logger)))

    log_burst()
    flush()
    if not _wait_for_writer(before, 1.0):
        logger.close()
        return None
    windows: list[int] = []
    gone = 0
    while made < kills:
        log_burst()
        time.sleep(rng.uniform(0.0, 0.003))
        writers = _wait_for_writer(before, 1.0)
        if not writers:
            break
        dropped_before = _dropped(logger)
        os.kill(writers[0], signal.SIGKILL)
        made += 1
        log_burst()
        flush()
        if not _wait_for_writer(before, 0.2):  # a backend may start the replacement at the next send
            seq += 1
            logger.info("writer kill record", writer=0, seq=seq, payload=PAYLOAD)
            flush()
        if not _wait_for_writer(before, 0.5):  # not replaced: what it drops now is no kill window
            gone = _dropped(logger) - dropped_before
            break
        windows.append(_dropped(logger) - dropped_before)
    if not gone:
        log_burst()
    logger.close()
    return {"kills": made, "logged": seq + 1, "promises": promises, "flushes": flushes, "flush_true": flush_true,
            "windows": windows, "gone": gone, "stats": dict(logger.stats())}


def _dropped(logger: Any) -> int:
    return int(logger.stats().get("dropped", 0))


def _wait_for_writer(before: set[int], seconds: float) -> list[int]:
    """Live child processes not there before the logger existed; waits up to ``seconds`` for one."""
    deadline = time.monotonic() + seconds
    while True:
        found = [pid for pid in _live_children() if pid not in before]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.005)


def _live_children() -> list[int]:
    import psutil  # type: ignore[import-untyped, unused-ignore]

    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child.pid)
        except psutil.Error:
            pass
    return alive
