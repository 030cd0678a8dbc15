"""logbench harness: runs every backend x scenario cell in its own process and stores tidy results.

    python -m harness run [--backends ...] [--scenarios ...] [--quick] [--out DIR]
    python -m harness compare OLD NEW [--threshold PCT]
    python -m harness check DIR          # the CI gate used by ``nox -s bench``

Modules: ``discover`` (what exists), ``_spawn``/``_worker`` (one process per
cell), ``run`` (the matrix), ``_format`` (the versioned result file),
``metadata``, ``store`` (pandas table), ``compare``, ``_summary`` and ``cli``
(the only place that prints or sets exit codes). Importing this package is cheap:
pandas and the scenarios are imported only where used.
"""

from __future__ import annotations

__all__: list[str] = []
