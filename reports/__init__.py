"""The HTML report, built from result files only (never imports loggers or scenarios).

    python -m reports build RESULTS_DIR -o report.html

``load_results`` reads a result directory into a tidy DataFrame plus its run
metadata; ``verdict`` derives the "choose a backend" rows from that frame;
``build_report`` renders one self-contained HTML file (figures embedded as SVG).
"""

from __future__ import annotations

from ._build import build_report
from ._load import Results, is_peer, load_results, registry_backends

__all__ = ["Results", "build_report", "is_peer", "load_results", "registry_backends"]
