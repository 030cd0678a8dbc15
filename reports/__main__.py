"""``python -m reports``: see :mod:`reports.cli`."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
