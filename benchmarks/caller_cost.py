"""Caller cost before/after: thread CPU per call of one record, per backend, for two source trees.

    flock /tmp/logbench-heavy.lock python benchmarks/caller_cost.py --base /tmp/base-tree [--rounds 3]

Measures what the issue-13 caller figure measures: ``time.thread_time_ns()`` of
the calling thread around 30,000 calls of
``log.info("user login", user_id=i, ok=True, path="/api/v1/items")``, after a
warm-up of the same size, median of 5 runs, in a fresh interpreter per backend
and tree (queued backends: default options, the queue never fills). Also: the
same call filtered out by level (``debug`` at INFO) and, where the tree has
``sample=``, a sampled-out call (``debug`` with ``sample={"DEBUG": 0.01}``).
Rows ``<call>_min`` take each process's fastest run instead of its median.

``--base`` is a directory holding another ``loggers`` package (e.g.
``git archive bb1b4aa loggers | tar -x -C /tmp/base-tree``); the working tree
this script lives in is the other side. The two sides alternate (A B, then
B A, ...) for ``--rounds`` rounds, so drift hits both; each cell prints the
median of the rounds' medians and the range of the rounds. Not a pyperf
benchmark: it isolates the caller's thread CPU, which pyperf's wall time does not.

``--digest`` compares instead the bytecode of the caller's path (``HOT_PATH``)
as each tree compiles it: equal digests mean the two run the same code per call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ["null", "sync", "thread-queue", "asyncio", "subprocess", "mmap"]
CALLS = 30_000
RUNS = 5
SHAPES = ("info", "filtered", "sampled_out")


def measure_in_child(tree: str, backend: str) -> dict[str, object]:
    """In a fresh interpreter importing ``loggers`` from ``tree``: ns per call for each shape."""
    sys.path.insert(0, tree)
    import gc
    import time

    import loggers

    assert os.path.dirname(os.path.dirname(os.path.abspath(loggers.__file__))) == os.path.abspath(tree)
    thread_ns = time.thread_time_ns
    out: dict[str, object] = {"loggers": loggers.__file__}
    with tempfile.TemporaryDirectory(prefix="logbench-caller-") as tmp:
        for shape in SHAPES:
            options: dict[str, object] = {"path": f"{tmp}/{shape}.log"} if backend != "null" else {}
            if shape == "sampled_out":
                options.update(level="DEBUG", sample={"DEBUG": 0.01})
            try:
                log = loggers.create(backend, **options)
            except TypeError:  # this tree has no sample=
                out[shape] = None
                continue
            call = log.info if shape == "info" else log.debug
            per_run = []
            for run in range(RUNS + 1):  # the first is the warm-up
                log.flush(timeout=60)
                gc.collect()
                start = thread_ns()
                for i in range(CALLS):
                    call("user login", user_id=i, ok=True, path="/api/v1/items")
                elapsed = thread_ns() - start
                if run:
                    per_run.append(elapsed / CALLS)
            log.close()
            out[shape] = statistics.median(per_run)
            out[f"{shape}_min"] = min(per_run)
    return out


#: The caller's path of every backend: what a logging call runs up to the hand-off (module, qualified name).
HOT_PATH = [
    ("loggers._base", "Logger.debug"), ("loggers._base", "Logger.info"), ("loggers._base", "Logger.warning"),
    ("loggers._base", "Logger.error"), ("loggers._base", "Logger.critical"), ("loggers._base", "Logger.log"),
    ("loggers._base", "Logger._handoff_record"), ("loggers._writer.handoff", "HandoffQueue.put"),
    ("loggers.mmap.ring", "Ring.handoff"), ("loggers.mmap.ring", "Ring.put"),
    ("loggers.sync", "SyncBackend._handoff"), ("loggers.sync", "SyncBackend._write_locked"),
]


def hot_path_digest_in_child(tree: str) -> str:
    """A digest of the bytecode, constants and names of ``HOT_PATH`` as ``tree`` compiles them. A
    function that ``tree`` does not have (an older layout) enters the digest as absent, so two trees
    that differ there get different digests instead of an error."""
    import hashlib
    import importlib

    sys.path.insert(0, tree)
    digest = hashlib.sha256()
    for module, qualname in HOT_PATH:
        owner, name = qualname.split(".")
        try:
            code = getattr(getattr(importlib.import_module(module), owner), name).__code__
        except (ImportError, AttributeError):
            digest.update(f"absent: {module}.{qualname}".encode())
            continue
        digest.update(code.co_code + repr((code.co_consts, code.co_names)).encode())
    return digest.hexdigest()[:16]


def run_child(tree: str, backend: str) -> dict[str, object]:
    command = [sys.executable, os.path.abspath(__file__), "--child", backend, "--tree", tree]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def format_table(results: dict[str, dict[str, dict[str, list[float | None]]]], sides: list[str]) -> list[str]:
    """Per backend and call: the median of the processes' medians [range] per side, and their ratio;
    then the same for the lowest run of each process (less sensitive to other load on the machine)."""
    lines = ["| backend | call | " + " | ".join(f"{side} ns/call" for side in sides) + " | after/before |",
             "|---|---|" + "---|" * len(sides) + "---|"]
    for backend, by_side in results.items():
        for shape in (*SHAPES, *(f"{shape}_min" for shape in SHAPES)):
            cells: list[str] = []
            medians: list[float | None] = []
            for side in sides:
                values = [v for v in by_side[side].get(shape, []) if v is not None]
                if not values:
                    cells.append("n/a")
                    medians.append(None)
                    continue
                median = statistics.median(values)
                medians.append(median)
                cells.append(f"{median:,.0f} [{min(values):,.0f}-{max(values):,.0f}]")
            before, after = (medians + [None, None])[:2] if len(medians) == 2 else (None, None)
            ratio = f"{after / before:.3f}" if before and after else "n/a"
            lines.append(f"| {backend} | {shape} | " + " | ".join(cells) + f" | {ratio} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="directory holding the 'before' loggers package")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--digest", action="store_true", help="only compare the hot path's bytecode of both trees")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "digest":
        print(hot_path_digest_in_child(args.tree))
        return
    if args.child:
        print(json.dumps(measure_in_child(args.tree, args.child)))
        return
    sides = {"before": args.base, "after": HERE} if args.base else {"after": HERE}
    if args.digest:
        for side, tree in sides.items():
            command = [sys.executable, os.path.abspath(__file__), "--child", "digest", "--tree", tree]
            digest = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
            print(f"{side}: hot path bytecode {digest.stdout.strip()} ({tree})")
        return
    results: dict[str, dict[str, dict[str, list[float | None]]]] = {}
    for backend in args.backends.split(","):
        results[backend] = {side: {key: [] for shape in SHAPES for key in (shape, f"{shape}_min")} for side in sides}
        for round_ in range(args.rounds):
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
            for side in order:
                measured = run_child(sides[side], backend)
                for shape in SHAPES:
                    results[backend][side][shape].append(measured[shape])  # type: ignore[arg-type]
                    results[backend][side][f"{shape}_min"].append(measured.get(f"{shape}_min"))  # type: ignore[arg-type]
        print(f"# {backend} done", file=sys.stderr, flush=True)
    print("\n".join(format_table(results, list(sides))))


if __name__ == "__main__":
    main()
