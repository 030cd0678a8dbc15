"""The application of the service scenario: an aiohttp server logging through one backend, in its own process.

:func:`serve` is the child's main (a ``spawn`` process, the factory pickled). It pins itself to ``cpu``, creates
the logger inside the running loop, serves ``GET /lines/{n}`` on 127.0.0.1 (an ephemeral port) and talks to the
scenario over ``conn``:

* it sends ``("ready", port)`` once listening (or ``("failed", traceback)``);
* ``"flush"`` -> ``("flushed", seconds)``: the logger's flush (``await aflush()`` where the backend has it, as an
  asyncio service would; ``flush()`` otherwise), timed from the command;
* ``"cpu"`` -> ``("cpu", seconds)``: CPU time used so far by this process (every thread) and its children
  (a backend's writer process), :func:`scenarios._common.children_cpu_s`;
* ``"stop"`` -> the server stops accepting and finishes its requests (``AppRunner.cleanup``), the logger closes
  (``await aclose()`` / ``close()``), then ``("done", summary)``: requests handled per ``n``, records logged,
  the logger's ``stats()``, close seconds.

The handler does one unit of :mod:`scenarios._workload` (``rounds``: the scenario's fixed unit, ~20 µs,
unless it was told to calibrate), then logs ``n`` records through the backend's plain ``info()``
(non-blocking for the queued backends, ``asyncio`` included), fields ``writer`` 0 and ``seq`` counting every
record, so the scenario can verify the file.
"""

from __future__ import annotations

import asyncio
import os
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from . import _workload
from ._common import children_cpu_s
from ._proc import Factory

MAX_LINES = 100


def serve(factory: Factory, path: str, rounds: int, cpu: int | None, conn: Connection) -> None:
    """Child main: run the server until told to stop; every failure goes to ``conn`` as ``("failed", text)``."""
    try:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        asyncio.run(_serve(factory, path, rounds, conn))
    except BaseException:  # report everything to the parent, which turns it into a failed cell
        conn.send(("failed", traceback.format_exc()))
    finally:
        conn.close()


async def _serve(factory: Factory, path: str, rounds: int, conn: Connection) -> None:
    from aiohttp import web

    loop = asyncio.get_running_loop()
    logger = factory(path=path)
    handled: dict[int, int] = {}
    seq = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal seq
        lines = min(int(request.match_info["lines"]), MAX_LINES)
        body, response = _workload.handle(_workload.PAYLOAD, rounds)
        for step in range(lines):
            logger.info("request handled", writer=0, seq=seq, step=step, order=response["order"],
                        user=response["user"], total=response["total"], bytes=len(body), path=request.path)
            seq += 1
        handled[lines] = handled.get(lines, 0) + 1
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/lines/{lines:[0-9]+}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = int(runner.addresses[0][1])
    commands: asyncio.Queue[Any] = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: commands.put_nowait(conn.recv()))
    conn.send(("ready", port))
    while (command := await commands.get()) != "stop":
        if command == "flush":
            start = time.perf_counter()
            await _flush(logger)
            conn.send(("flushed", time.perf_counter() - start))
        elif command == "cpu":
            conn.send(("cpu", time.process_time() + children_cpu_s()))
    loop.remove_reader(conn.fileno())
    await runner.cleanup()
    closing = time.perf_counter()
    await _close(logger)
    close_s = time.perf_counter() - closing
    conn.send(("done", {"handled": handled, "records": seq, "stats": dict(logger.stats()), "close_s": close_s}))


async def _flush(logger: Any) -> None:
    if hasattr(logger, "aflush"):
        await logger.aflush(30.0)
    else:
        logger.flush(timeout=30.0)


async def _close(logger: Any) -> None:
    if hasattr(logger, "aclose"):
        await logger.aclose()
    else:
        logger.close()
