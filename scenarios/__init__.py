"""Load scenarios: each takes a backend factory and parameters and returns result records.

``SCENARIOS`` is the explicit registry: name -> "module:function". A backend
factory is any picklable callable ``factory(path, **options) -> loggers.Logger``
(e.g. ``functools.partial(loggers.create, "sync")``).
"""

from __future__ import annotations

from ._results import ResultRecord

__all__ = ["SCENARIOS", "ResultRecord"]

SCENARIOS: dict[str, str] = {}
