"""asv benchmark suite: calls logbench's scenarios (and the loggers' public API) per backend.

Run with ``nox -s asv`` (history over the last commits of main) or
``asv continuous --factor 1.2 main HEAD`` (the regression gate); see ``asv.conf.json``.
"""
