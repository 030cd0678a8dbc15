"""Command line ``logbench`` (also ``python -m harness``): ``run``, ``compare``, ``ab``, ``check``, ``report``, ``advise``.

The only module that prints or sets exit codes.

Exit codes: 0 success; 1 a regression / new defect / new failed cell (compare, ab) or a
failed gate (check); 2 usage errors (argparse), unknown names, unreadable result files;
3 (check) the run is correct but no reference backend meets the 5% overhead target.
``advise``: 0 a recommendation; 1 no candidate meets every need; 2 the results lack what the
decision needs (a scenario not run, a rate outside the measured sweep), naming each gap.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from . import discover

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=os.path.basename(sys.argv[0]) if sys.argv[0].endswith("logbench")
                                     else "python -m harness",
                                     description="Which logging backend should this program use, and what does it "
                                                 "cost? Measure, compare, gate and report.")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=summary + ".")

    run = command("run", "run backends x scenarios, each cell in its own process")
    run.add_argument("--backends", nargs="+", metavar="NAME",
                     help="backend names, or the groups 'reference' / 'peers' (default: all)")
    run.add_argument("--scenarios", nargs="+", metavar="NAME", help="scenario names (default: all)")
    run.add_argument("--quick", action="store_true", help="the quick suite (CI): a few seconds per cell")
    run.add_argument("--out", default=os.path.join("results", "latest"), help="results directory")
    run.add_argument("--force", action="store_true", help="overwrite an existing results.json in --out")
    run.add_argument("--timeout", type=float, help="seconds per cell before it counts as failed")
    run.add_argument("--workload", metavar="MODULE:CALLABLE",
                     help="overhead around your own zero-argument callable (one unit of your work), "
                          "importable from the current directory, instead of the built-in ~20 us unit")
    run.add_argument("--record", metavar="SHAPE|MODULE:CALLABLE",
                     help="what overhead logs: small (3 fields), medium (10, one nested), large (1 KiB message), "
                          "or MODULE:CALLABLE returning (msg, fields); default the built-in 6-field record")
    run.add_argument("--rounds", type=_positive_int, metavar="K",
                     help="processes per cell of the overhead, latency, throughput and memory scenarios, each "
                          "doing a K-th of the repetitions, spread round by round over the run and pooled "
                          "(default 3; 1: one process per cell)")
    run.add_argument("--trials", type=_positive_int, metavar="N",
                     help="trials per case for scenarios that repeat one (crash: SIGKILLs per kill case); "
                          "a soak is e.g. --scenarios crash --trials 1000 (outside CI; give --timeout room)")
    run.add_argument("--trials-at-once", type=_positive_int, metavar="K",
                     help="crash: run K kill trials side by side (a soak's wall time; default 1)")
    compare = command("compare", "compare two result directories; exit 1 on a regression")
    compare.add_argument("old")
    compare.add_argument("new")
    _add_threshold(compare)
    ab = command("ab", "run two logbench trees' code cell by cell, interleaved, then compare them "
                       "(exit 1 on a regression): OLD and NEW see the machine seconds apart, not minutes")
    ab.add_argument("old", metavar="OLD_TREE", help="a logbench checkout (the baseline: e.g. a `git worktree` of main)")
    ab.add_argument("new", metavar="NEW_TREE", help="a logbench checkout (the change)")
    ab.add_argument("--backends", nargs="+", metavar="NAME", help="as for run (default: all)")
    ab.add_argument("--scenarios", nargs="+", metavar="NAME", help="as for run (default: all)")
    ab.add_argument("--quick", action="store_true", help="the quick suite")
    ab.add_argument("--out", default=os.path.join("results", "ab"),
                    help="writes OUT/old and OUT/new, each a results directory (default: results/ab)")
    ab.add_argument("--force", action="store_true", help="overwrite existing results in OUT/old and OUT/new")
    ab.add_argument("--timeout", type=float, help="seconds per cell before it counts as failed")
    _add_threshold(ab)
    check = command("check", "the CI gate on one result directory")
    check.add_argument("results")
    check.add_argument("--fail-on-failed-cells", action="store_true",
                       help="also fail when a reference backend's cell crashed or timed out")
    report = command("report", "build the HTML report of a result directory")
    report.add_argument("results", help="directory holding results.json (e.g. results/latest)")
    report.add_argument("-o", "--output", default="report.html", help="HTML file to write (default: report.html)")
    advise = command("advise", "recommend a backend for your log rate and needs from a result directory, "
                               "with the measured figures that decided it")
    advise.add_argument("results", help="directory holding results.json (e.g. results/latest)")
    advise.add_argument("--rate", type=_positive_float, required=True, metavar="LINES_PER_S",
                        help="lines per second your program logs (overhead interpolated over the measured sweep)")
    advise.add_argument("--no-loss", action="store_true",
                        help="nothing may be lost when the process dies (crash scenario: SIGKILL, exits, pools)")
    advise.add_argument("--processes", type=_positive_int, default=1, metavar="N",
                        help="N processes write one rotating file (N > 1 needs the rotation scenario)")
    advise.add_argument("--asyncio", action="store_true",
                        help="an asyncio program: rank by event-loop lag at your rate first (loop_lag scenario)")
    advise.add_argument("--max-rss", type=_positive_float, metavar="MB",
                        help="the worst memory case's peak RSS (MiB, interpreter included) must stay below MB")
    advise.add_argument("--include-peers", action="store_true",
                        help="let peers (loguru, structlog, ...) be recommended too; by default they are "
                             "shown as a comparison only")
    return parser


def _add_threshold(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threshold", type=float, default=10.0,
                        help="percent (relative) or percentage points (overhead) beyond which a change counts")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _expand_backends(names: list[str] | None) -> list[str]:
    reference, peers = list(discover.reference_backends()), list(discover.peer_backends())
    if not names:
        return reference + peers
    chosen: list[str] = []
    for name in names:
        group = reference if name == "reference" else peers if name == "peers" else [name]
        chosen += [n for n in group if n not in chosen]
    for name in chosen:
        discover.resolve_factory(name)  # ValueError for an unknown name, before anything runs
    return chosen


#: what a run's metadata says when it used the built-in unit of work and record
BUILTIN_WORKLOAD_LABEL, BUILTIN_RECORD_LABEL = "built-in request handler (~20 us)", "built-in (6 fields)"


def _cmd_run(args: argparse.Namespace) -> int:
    from . import metadata, store
    from .run import DEFAULT_ROUNDS, run_matrix

    backends = _expand_backends(args.backends)
    scenarios = list(args.scenarios or discover.scenario_names())
    for name in scenarios:
        discover.resolve_scenario(name)
    workload = _check_workload(args.workload, args.record)
    if discover.peers_problem():
        print(f"warning: {discover.peers_problem()}", file=sys.stderr)
    results_json = os.path.join(args.out, "results.json")
    if os.path.exists(results_json) and not args.force:
        print(f"error: {results_json} exists (use --force to overwrite)", file=sys.stderr)
        return 2
    meta = metadata.collect(quick=args.quick, command=["python -m harness", *sys.argv[1:]],
                            reference=discover.reference_backends(), baseline=discover.baseline_backends())
    meta["workload"] = args.workload or BUILTIN_WORKLOAD_LABEL
    meta["record"] = args.record or BUILTIN_RECORD_LABEL
    print(f"logbench: {len(backends)} backends x {len(scenarios)} scenarios"
          f"{' (quick)' if args.quick else ''} -> {args.out}", file=sys.stderr)
    start = time.monotonic()
    records = run_matrix(backends, scenarios, quick=args.quick, timeout=args.timeout,
                         progress=lambda line: print(line, file=sys.stderr, flush=True), artifacts_dir=args.out,
                         scenario_options={**workload, **_trial_options(args)},
                         rounds=args.rounds or DEFAULT_ROUNDS)
    meta.update(_trial_options(args))
    meta["rounds"] = args.rounds or DEFAULT_ROUNDS
    meta["finished_at"] = metadata.now_iso()
    meta["elapsed_s"] = round(time.monotonic() - start, 1)
    json_path, csv_path = store.save(args.out, meta, records, overwrite=args.force)
    from ._summary import format_summary

    print(f"workload: {meta['workload']}; record: {meta['record']}")
    print("\n".join(format_summary(store.to_frame(records), backends)))
    print(f"\nwrote {json_path} and {csv_path}; {len(backends) * len(scenarios)} cells in "
          f"{meta['elapsed_s']:.1f} s", file=sys.stderr)
    return 0


def _trial_options(args: argparse.Namespace) -> dict[str, int]:
    """The ``--trials`` and ``--trials-at-once`` given, as scenario options (and run metadata)."""
    return {key: value for key, value in (("trials", args.trials), ("trials_at_once", args.trials_at_once)) if value}


def _check_workload(workload: str | None, record: str | None) -> dict[str, str]:
    """Import and call the user's workload and record once, here, before any cell runs.

    Returns the options for the cells. Raises ValueError (exit 2) with what went wrong.
    The current directory is importable, as with ``python -m``; cells get it on PYTHONPATH.
    """
    if not workload and not record:
        return {}
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    from scenarios._records import resolve_record
    from scenarios._workload import resolve_workload

    options = {}
    if workload:
        resolve_workload(workload)
        options["workload"] = workload
    if record:
        resolve_record(record)
        options["record"] = record
    return options


def _cmd_compare(args: argparse.Namespace) -> int:
    from . import store
    from .compare import compare

    old_meta, old = store.load(args.old)
    new_meta, new = store.load(args.new)
    for line in format_interpreter_mismatch(old_meta, new_meta):
        print(line)
    findings = compare(old, new, args.threshold)
    for finding in findings:
        print(f"{finding.kind:>12}: {finding.text}")
    bad = sum(f.bad for f in findings)
    print(f"{bad} problem(s) ({args.old} -> {args.new}, threshold {args.threshold:g})")
    return 1 if bad else 0


#: what a directory needs to be a logbench tree ``ab`` can run cells from
TREE_MARKERS = ("harness/_worker.py", "scenarios/__init__.py", "loggers/__init__.py")


def _check_tree(path: str) -> str:
    """``path`` as an absolute logbench tree; ValueError (exit 2) naming what is missing."""
    missing = [marker for marker in TREE_MARKERS if not os.path.isfile(os.path.join(path, marker))]
    if missing:
        raise ValueError(f"{path} is not a logbench tree (no {', '.join(missing)})")
    return os.path.abspath(path)


def _cmd_ab(args: argparse.Namespace) -> int:
    """Run both trees cell by cell (``run_interleaved``), save OUT/old and OUT/new, then ``compare`` them."""
    from . import metadata, store
    from .run import run_interleaved

    trees = [_check_tree(args.old), _check_tree(args.new)]
    backends = _expand_backends(args.backends)
    scenarios = list(args.scenarios or discover.scenario_names())
    for name in scenarios:
        discover.resolve_scenario(name)
    outs = [os.path.join(args.out, "old"), os.path.join(args.out, "new")]
    for out in outs:
        if os.path.exists(os.path.join(out, "results.json")) and not args.force:
            raise FileExistsError(f"{os.path.join(out, 'results.json')} exists (use --force to overwrite)")
    command = ["python -m harness", *sys.argv[1:]]
    metas = [metadata.collect(quick=args.quick, command=command, reference=discover.reference_backends(),
                              baseline=discover.baseline_backends(), root=tree) for tree in trees]
    print(f"logbench ab: {len(backends)} backends x {len(scenarios)} scenarios{' (quick)' if args.quick else ''}, "
          f"#1 {trees[0]} and #2 {trees[1]} interleaved -> {args.out}", file=sys.stderr)
    start = time.monotonic()
    runs = run_interleaved(backends, scenarios, trees, quick=args.quick, timeout=args.timeout,
                           progress=lambda line: print(line, file=sys.stderr, flush=True), artifacts_dirs=outs)
    for side, (meta, out, records) in enumerate(zip(metas, outs, runs)):
        meta.update(tree=trees[side], interleaved_with=trees[1 - side],
                    workload=BUILTIN_WORKLOAD_LABEL, record=BUILTIN_RECORD_LABEL,
                    finished_at=metadata.now_iso(), elapsed_s=round(time.monotonic() - start, 1))
        store.save(out, meta, records, overwrite=args.force)
    print(f"wrote {outs[0]} and {outs[1]} in {time.monotonic() - start:.1f} s", file=sys.stderr)
    return _cmd_compare(argparse.Namespace(old=outs[0], new=outs[1], threshold=args.threshold))


def format_interpreter_mismatch(old_meta: dict[str, object], new_meta: dict[str, object]) -> list[str]:
    """Lines for the top of a comparison whose two runs used different interpreters (none when the same)."""
    def interpreter(meta: dict[str, object]) -> str:
        return f"{meta.get('implementation', '?')} {meta.get('python', '?')}"

    before, after = interpreter(old_meta), interpreter(new_meta)
    if before == after:
        return []
    return [f"INTERPRETERS DIFFER: OLD ran on {before}, NEW on {after}: every change below mixes "
            "the interpreter's effect with the code's"]


#: ``check``: the run is correct, but no reference backend meets the overhead target.
EXIT_TARGET_MISSED = 3


def _cmd_check(args: argparse.Namespace) -> int:
    from . import store
    from .compare import gate

    meta, frame = store.load(args.results)
    reference = tuple(meta.get("reference_backends") or discover.reference_backends())
    baseline = tuple(meta.get("baseline_backends") or discover.baseline_backends())
    findings = gate(frame, reference, baseline, failed_reference_cells_bad=args.fail_on_failed_cells)
    for finding in findings:
        print(f"{'FAIL' if finding.bad else 'info'} {finding.kind}: {finding.text}")
    bad = [f for f in findings if f.bad]
    print(f"gate: {'FAILED' if bad else 'passed'} ({len(bad)} problem(s))")
    if bad and all(f.kind == "overhead" for f in bad):
        return EXIT_TARGET_MISSED
    return 1 if bad else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from reports.cli import main as reports_main  # the report reads result files only

    return reports_main(["build", args.results, "-o", args.output])


#: ``advise``: no candidate meets every need (the closest ones are still printed).
EXIT_NONE_QUALIFIES = 1


def _cmd_advise(args: argparse.Namespace) -> int:
    from reports import load_results  # the decision lives with the report, which reads result files only
    from reports.advise import MissingData, Question, advise, format_advice

    results = load_results(args.results)
    question = Question(rate=args.rate, no_loss=args.no_loss, processes=args.processes, asyncio=args.asyncio,
                        max_rss_mb=args.max_rss, include_peers=args.include_peers)
    try:
        advice = advise(results.frame, question, results.reference_backends, results.baseline_backends)
    except MissingData as exc:
        print("cannot decide: the results lack what the decision needs:", file=sys.stderr)
        for gap in exc.gaps:
            print(f"  missing: {gap}", file=sys.stderr)
        return 2
    print("\n".join(format_advice(advice)))
    meta = results.metadata
    print(f"from {args.results}: workload {meta.get('workload', 'built-in')}; record {meta.get('record', 'built-in')}; "
          f"{'quick' if meta.get('quick') else 'full'} run on {meta.get('machine', '?')}, "
          f"commit {str(meta.get('git_commit', '?'))[:12]}")
    return 0 if advice.recommended else EXIT_NONE_QUALIFIES


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    handlers = {"run": _cmd_run, "compare": _cmd_compare, "ab": _cmd_ab, "check": _cmd_check,
                "report": _cmd_report, "advise": _cmd_advise}
    try:
        return handlers[args.command](args)
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def entry() -> None:
    """The ``logbench`` console script (and ``python -m harness``). Output piped into a reader that
    stops early (``logbench compare A B | head``) ends the command quietly, as ``cat`` would, instead
    of a ``BrokenPipeError`` traceback: the rest of the output goes to ``os.devnull`` (the recipe of
    Python's ``signal`` documentation), exit code 1."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    sys.exit(code)
