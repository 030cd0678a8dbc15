"""Start a Python writer process that can import ``loggers`` from anywhere, and reap it.

Shared by the backends whose writer is a separate process (``subprocess``,
``mmap``). :func:`spawn_writer` runs ``python -E -S -c <bootstrap>`` with the
same interpreter (``sys.executable``): ``-E``/``-S`` skip ``PYTHON*``
variables and ``site`` (the writer is stdlib only, and starts ~2x faster); the
bootstrap puts the directory that holds *this* ``loggers`` package first on
``sys.path``, so the child imports the same code whatever the current
directory, ``PYTHONPATH`` or install state, then calls ``<module>.main(argv)``.

The child gets ``stdin`` from ``/dev/null``, keeps the parent's ``stderr`` (for
its once-per-kind failure reports) and inherits exactly ``pass_fds``; every
other descriptor is closed (``close_fds``). It stays in the parent's process
group and session, so job control (SIGSTOP/SIGCONT of the group) applies to it.

``Popen`` does not run ``os.register_at_fork`` hooks (no ``preexec_fn``), so
spawning from a thread of a program with tracked loggers is safe.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily: the writer process itself only needs remove_socket_dir
    import subprocess

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: The mask is cleared first: a writer started from a logger thread inherits its blocked stop signals (``_signals``).
_BOOTSTRAP = (
    "import signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, ()); sys.path.insert(0, sys.argv[1]); "
    "import importlib; importlib.import_module(sys.argv[2]).main(sys.argv[3:])"
)


def spawn_writer(module: str, args: Sequence[str], *, pass_fds: Sequence[int] = ()) -> subprocess.Popen[bytes]:
    """Start ``module.main(args)`` in a new interpreter; ``module`` is a dotted name under ``loggers``.

    Raises ``OSError`` if the interpreter cannot be started.
    """
    import subprocess

    argv = [sys.executable, "-E", "-S", "-c", _BOOTSTRAP, _PACKAGE_PARENT, module, *args]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, pass_fds=tuple(pass_fds), close_fds=True)


def reap(process: subprocess.Popen[bytes], timeout: float | None = None) -> int | None:
    """Wait for ``process`` to exit (``waitpid``, so its CPU time joins ``RUSAGE_CHILDREN``).

    Returns its exit status, or None if it is still running after ``timeout``
    seconds (it is left running; ``subprocess`` reaps it later).
    """
    import subprocess

    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def remove_socket_dir(address: str) -> None:
    """Remove a unix socket path and its (private, now empty) directory; each may be gone already."""
    for remove, target in ((os.unlink, address), (os.rmdir, os.path.dirname(address))):
        try:
            remove(target)
        except OSError:
            pass
