"""The rotation scenario's ``multi-process-kill`` case: one of several processes SIGKILLed mid-logging.

``processes`` fresh processes, each with its own logger on one path with a small
``max_bytes``, are released together; one of them (the *victim*, chosen at random)
logs until it is killed, the others (*survivors*) log ``records`` records each and
close. The victim runs in its own process group and, once it has returned a random
number of calls (uniform in ``1..records``), SIGKILLs that group: itself and its
descendants (a writer process) at once, as a service manager kills a worker's whole
group. Killing itself makes the moment exact (a parent polling a fast backend's
progress lands hundreds of calls late); the kill lands
while every process logs and rotates: mid-rotation included. (A rotation the kill
cut is completed by the next rotation of a survivor, so it usually leaves no trace
by the time the files are read; a backup gap still there is reported.) Then the *next logger* opened on the path
logs one record (writer ``"repair"``) and closes.

Judged after that repair, over every file: ``lost`` (survivors' and the repair's
records missing: the victim's own unflushed records are the crash scenario's
subject), ``duplicated`` (any writer, the victim included), ``out_of_order``,
``torn`` (unparseable lines and unknown records, less at most one: the write the
kill cut short, which the repair must have ended so nothing is glued to it; a file
still ending mid-record after the repair counts), ``oversize_files`` (over
``max_bytes`` with more than one record), ``empty_files`` (empty backups).
"""

from __future__ import annotations

import os
import random
import signal
import time
from multiprocessing.connection import Connection
from collections.abc import Callable
from typing import Any

from ._proc import SPAWN, ChildFailed, Factory, descendants, receive_result, wait_until_quiet
from .verify import LineParser, Verification, verify_log_files

CASE = "multi-process-kill"
VICTIM = "victim"
REPAIR = "repair"
PAYLOAD = "k" * 64


def run_kill_trial(
    factory: Factory,
    path: str,
    processes: int,
    records: int,
    options: dict[str, Any],
    rng: random.Random,
    timeout: float,
    parse_line: LineParser | None,
    files_for: Callable[[str], list[str] | None],
) -> tuple[dict[str, int], str, bool]:
    """One trial in ``os.path.dirname(path)``: (metric -> value, detail, whether a backup gap was left).

    Raises:
        ChildFailed: a survivor failed, died or hung.
    """
    kill_after = rng.randint(1, records)
    victim_index = rng.randrange(processes)
    cap = kill_after  # the victim logs exactly this many records, then kills its group
    progress = SPAWN.Value("q", -1, lock=False)
    barrier = SPAWN.Barrier(processes + 1)
    children, pipes = [], []
    for index in range(processes):
        receiver, sender = SPAWN.Pipe(duplex=False)
        if index == victim_index:
            target: Any = _victim_child
            args: tuple[Any, ...] = (factory, path, kill_after, options, barrier, progress)
        else:
            target, args = _survivor_child, (factory, path, index, records, options, barrier, sender)
        child = SPAWN.Process(target=target, args=args)
        child.start()
        sender.close()
        children.append(child)
        pipes.append(receiver)
    victim = children[victim_index]
    try:
        barrier.wait(60)  # every logger exists (and its writer process, if any) ...
        assert victim.pid is not None
        pids = descendants(victim.pid)
        barrier.wait(60)  # ... and now they all log
        victim.join(timeout)
        killed_at = int(progress.value) + 1
        if victim.exitcode != -signal.SIGKILL:
            raise ChildFailed(f"the victim ended with exit code {victim.exitcode}, not by its SIGKILL")
        stats, failures = _collect(children, pipes, victim_index, timeout)
    finally:
        for child in children:
            child.join(5)
            if child.is_alive():
                child.kill()
                child.join()
        for receiver in pipes:
            receiver.close()
    if failures:
        raise ChildFailed("; ".join(failures))
    directory = os.path.dirname(path)
    wait_until_quiet(pids, directory, timeout=timeout)
    survivors: dict[object, int] = {index: records for index in range(processes) if index != victim_index}
    expected: dict[object, int] = {**survivors, VICTIM: cap}
    before = verify_log_files(directory, os.path.basename(path), expected, parse_line=parse_line,
                              files=files_for(path))
    repair = factory(path=path, **options)
    repair.info("rotation repair record", writer=REPAIR, seq=0, payload=PAYLOAD)
    repair.close()
    wait_until_quiet((), directory, timeout=timeout)
    after = verify_log_files(directory, os.path.basename(path), {**expected, REPAIR: 1},
                             max_bytes=options["max_bytes"], parse_line=parse_line,
                             files=files_for(path))
    values = _judge(after, survivors)
    gap = _has_gap(before.files)
    kept = sum(survivors.values()) + 1
    detail = (
        f"{processes} processes, writer {victim_index} SIGKILLed its process group ({len(pids)} descendant(s)) after "
        f"{killed_at} returned calls; before repair {len(before.files)} file(s), {before.torn_lines} torn line(s), "
        f"{before.cut_tails} cut tail(s){'; a backup gap: a rotation cut by the kill, not completed by a survivor' if gap else ''}; "
        f"after repair: survivors + repair {kept - values['lost']}/{kept} records, victim "
        f"{cap - after.lost_by_writer.get(VICTIM, 0)} in the files, {after.torn_lines} torn line(s); "
        + ", ".join(f"{metric} {value}" for metric, value in values.items())
        + f"; rotations {sum(s.get('rotations', 0) for s in stats)}, survivors dropped {sum(s.get('dropped', 0) for s in stats)}"
    )
    return values, detail, gap


def _collect(
    children: list[Any], pipes: list[Connection], victim_index: int, timeout: float
) -> tuple[list[dict[str, int]], list[str]]:
    """The survivors' stats, and what went wrong with any of them."""
    deadline = time.monotonic() + timeout
    stats: list[dict[str, int]] = []
    failures: list[str] = []
    for index, (child, receiver) in enumerate(zip(children, pipes, strict=True)):
        if index == victim_index:
            continue
        ok, payload = receive_result(child, receiver, f"writer {index}", deadline, timeout)
        (stats if ok else failures).append(payload)
    return stats, failures


def _judge(found: Verification, survivors: dict[object, int]) -> dict[str, int]:
    kept = (*survivors, REPAIR)
    lost = sum(found.lost_by_writer.get(writer, 0) for writer in kept)
    unparseable = found.torn_lines + found.unexpected
    cut_by_kill = 1 if unparseable and not found.cut_tails else 0  # one cut write, ended by the repair
    return {
        "lost": lost,
        "duplicated": found.duplicated,
        "out_of_order": found.out_of_order,
        "torn": unparseable - cut_by_kill,
        "oversize_files": len(found.oversize_files),
        "empty_files": len(found.empty_files),
    }


def _has_gap(files: tuple[str, ...]) -> bool:
    """True if the numbered backups skip an index, or the base file is missing."""
    indexes = sorted(int(name.rsplit(".", 1)[1]) if name.rsplit(".", 1)[1].isdigit() else 0 for name in files)
    return bool(indexes) and (indexes[0] != 0 or indexes != list(range(indexes[0], indexes[0] + len(indexes))))


# -- in the children ------------------------------------------------------------------------


def _survivor_child(
    factory: Factory, path: str, writer: int, n: int, options: dict[str, Any], barrier: Any, sender: Connection
) -> None:
    """Own logger on the shared path; logs ``n`` records, closes, sends its stats."""
    try:
        logger = factory(path=path, **options)
        barrier.wait(60)
        barrier.wait(60)
        for seq in range(n):
            logger.info("rotation record", writer=writer, seq=seq, payload=PAYLOAD)
        logger.close()
        sender.send((True, dict(logger.stats())))
    except BaseException as exc:  # the parent reports it; nothing may hang
        sender.send((False, f"writer {writer}: {type(exc).__name__}: {exc}"))
    finally:
        sender.close()


def _victim_child(factory: Factory, path: str, calls: int, options: dict[str, Any], barrier: Any, progress: Any) -> None:
    """Own logger on the shared path, in a process group of its own; after ``calls`` calls SIGKILLs that group."""
    os.setsid()
    logger = factory(path=path, **options)
    barrier.wait(60)
    barrier.wait(60)
    for seq in range(calls):
        logger.info("rotation record", writer=VICTIM, seq=seq, payload=PAYLOAD)
        progress.value = seq
    os.killpg(0, signal.SIGKILL)
