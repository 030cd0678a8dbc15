"""The application the crash scenario's stop cases end: ``python -m scenarios._stop_app SPEC``.

It runs a ``multiprocessing.Pool`` or a ``concurrent.futures.ProcessPoolExecutor``
of ``workers`` processes, or one ``multiprocessing.Process`` per task, started
by ``method`` (fork, spawn, forkserver); each of ``tasks`` tasks logs
``records`` records with fields ``writer=<task>`` and
``seq`` 0, 1, 2 ... through the worker's logger, as a new user would write it:
under ``fork`` the logger is created in the parent and inherited, otherwise in
the pool initializer. Once every task returned, the pool ends the way
``ending`` says (``close``: ``close(); join()``; ``terminate``: ``terminate();
join()``, which SIGTERMs the workers; ``shutdown``: ``shutdown(wait=True)``;
``join``: each ``Process`` returns from its target and is joined),
then the parent closes its own logger, if it has one.

Before the pool ends, the pids of the app's descendants (workers and any
writer processes of theirs, which may outlive a terminated worker) go to
``pids_path``, one a line, so the parent can wait for them before counting.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import pickle
import signal
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor
from typing import Any

PAYLOAD = "y" * 48
_LOGGER: Any = None


@dataclasses.dataclass(frozen=True)
class StopSpec:
    """What the app does; see the module docstring."""

    factory: Any
    log_path: str
    pids_path: str
    runner: str  # "pool", "executor" or "process"
    method: str  # "fork", "spawn" or "forkserver"
    ending: str  # "close", "terminate" (pool), "shutdown" (executor) or "join" (process)
    workers: int = 4
    tasks: int = 8
    records: int = 1000


def _init_worker(factory: Any, path: str, app_pid: int) -> None:
    """Pool initializer: a logger of this worker's own unless one was inherited through fork."""
    global _LOGGER
    try:
        if _LOGGER is None:
            _LOGGER = factory(path=path)
    except BaseException:  # a pool replaces a worker whose initializer failed, forever: end the app instead
        traceback.print_exc()
        sys.stderr.flush()
        os.kill(app_pid, signal.SIGKILL)
        raise


def _task(job: tuple[int, int]) -> int:
    task, records = job
    for seq in range(records):
        _LOGGER.info("pool record", writer=task, seq=seq, payload=PAYLOAD)
    return os.getpid()


def _process_main(factory: Any, path: str, app_pid: int, job: tuple[int, int]) -> None:
    _init_worker(factory, path, app_pid)
    _task(job)


def _note_descendants(path: str) -> None:
    import psutil  # type: ignore[import-untyped, unused-ignore]

    pids = [child.pid for child in psutil.Process().children(recursive=True)]
    with open(path, "w") as file:
        file.write("".join(f"{pid}\n" for pid in pids))


def run(spec: StopSpec) -> None:
    global _LOGGER
    context = multiprocessing.get_context(spec.method)
    if spec.method == "fork":
        _LOGGER = spec.factory(path=spec.log_path)
    initargs = (spec.factory, spec.log_path, os.getpid())
    jobs = [(task, spec.records) for task in range(spec.tasks)]
    if spec.runner == "pool":
        pool = context.Pool(spec.workers, initializer=_init_worker, initargs=initargs)
        pool.map(_task, jobs, chunksize=1)
        _note_descendants(spec.pids_path)
        if spec.ending == "terminate":
            pool.terminate()
        else:
            pool.close()
        pool.join()
    elif spec.runner == "process":
        start = context.Process  # type: ignore[attr-defined]  # every concrete context has it
        processes = [start(target=_process_main, args=(*initargs, job)) for job in jobs]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        _note_descendants(spec.pids_path)
    else:
        executor = ProcessPoolExecutor(spec.workers, mp_context=context, initializer=_init_worker, initargs=initargs)
        list(executor.map(_task, jobs))
        _note_descendants(spec.pids_path)
        executor.shutdown(wait=True)
    if _LOGGER is not None:
        _LOGGER.close()


def main(spec_path: str) -> None:
    with open(spec_path, "rb") as file:
        spec: StopSpec = pickle.load(file)
    run(spec)


if __name__ == "__main__":
    from scenarios import _stop_app  # run under the module's own name, so workers unpickle its functions

    _stop_app.main(sys.argv[1])
