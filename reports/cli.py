"""``python -m reports build RESULTS_DIR -o report.html``.

``format_*`` functions return lines; only :func:`main` prints and sets the exit code.
"""

from __future__ import annotations

import argparse
import os
import sys

from ._load import Results


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reports", description="Build the logbench HTML report.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build one self-contained HTML report from a result directory")
    build.add_argument("results_dir", help="directory holding results.json (e.g. results/latest)")
    build.add_argument("-o", "--output", default="report.html", help="HTML file to write (default: report.html)")
    shot = commands.add_parser("browser", help="render a report in headless Chromium, screenshot it, check the DOM")
    shot.add_argument("report", help="the HTML report to render")
    shot.add_argument("-o", "--screenshot", default="screenshots/report.png", help="PNG to write")
    return parser


def format_built(results: Results, output: str) -> list[str]:
    """What was built, one line per fact."""
    from .verdict import choose, recommendations

    frame = results.frame
    lines = [
        f"report: {os.path.abspath(output)}",
        (f"  from {results.source}: {len(frame)} records, {frame['backend'].nunique()} backends, "
         f"{frame['scenario'].nunique()} scenarios"),
    ]
    for answer in recommendations(frame, results.reference_backends, results.baseline_backends):
        lines.append(f"  recommended at {answer.question}: {answer.recommended or 'cannot decide: ' + answer.missing}")
    for choice in choose(frame, results.baseline_backends):
        lines.append(f"  {choice.need}: {', '.join(choice.backends) or ('no data' if not choice.has_data else 'none')}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "browser":
        return _browser(args.report, args.screenshot)
    from ._build import build_report

    try:
        results = build_report(args.results_dir, args.output)
    except (FileNotFoundError, ValueError) as exc:
        print(f"reports: {exc}", file=sys.stderr)
        return 2
    lines = format_built(results, args.output)
    print("\n".join(lines))
    return 0


def _browser(report: str, screenshot: str) -> int:
    from ._browser import BrowserError, check_page
    from ._build import DECISION_IDS, SECTION_IDS

    if not os.path.exists(report):
        print(f"reports: no report at {report!r} (build it first: python -m reports build ...)", file=sys.stderr)
        return 2
    try:
        lines = check_page(report, screenshot, (*SECTION_IDS, *DECISION_IDS))
    except BrowserError as exc:
        print(f"reports: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0
