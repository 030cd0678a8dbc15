"""``python -m harness``: see :mod:`harness.cli`."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
