"""Render a report in headless Chromium: save a screenshot and check the page is whole.

Chromium runs with a fresh throw-away profile and no network chatter. The page
is broken when the dumped DOM misses a section id the report always has, or
contains a Python traceback.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import tempfile

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
BASE_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
              "--disable-component-update", "--disable-sync", "--hide-scrollbars")


class BrowserError(RuntimeError):
    """Chromium is missing, failed, or the rendered page is broken."""


def find_chromium() -> str:
    """Path of a Chromium binary. Raises BrowserError (saying it is not installed) when none is found."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserError("Chromium is not installed (looked for: " + ", ".join(CHROMIUM_NAMES)
                       + "); install the Debian package: apt-get install -y chromium")


def _run(chromium: str, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="logbench-chromium-") as profile:
        command = [chromium, *BASE_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"Chromium did not finish within {timeout:g}s: {' '.join(command)}") from exc


def check_page(report: str | os.PathLike[str], screenshot: str | os.PathLike[str],
               section_ids: tuple[str, ...], *, width: int = 1280, height: int = 4000,
               timeout: float = 120.0) -> list[str]:
    """Screenshot ``report`` and verify its DOM; returns lines describing what was checked.

    Raises:
        BrowserError: no Chromium, Chromium failed, no screenshot, a missing section, a traceback.
    """
    chromium = find_chromium()
    url = pathlib.Path(report).resolve().as_uri()
    shot = pathlib.Path(screenshot).resolve()
    shot.parent.mkdir(parents=True, exist_ok=True)
    shot.unlink(missing_ok=True)
    dom = _run(chromium, ["--dump-dom", "--virtual-time-budget=5000", url], timeout)
    if dom.returncode != 0 or "<body" not in dom.stdout:
        raise BrowserError(f"Chromium --dump-dom failed (exit {dom.returncode}): {dom.stderr[-2000:]}")
    missing = [s for s in section_ids if f'id="{s}"' not in dom.stdout]
    if missing:
        raise BrowserError(f"broken page: rendered DOM has no section {', '.join(missing)}")
    if "Traceback" in dom.stdout:
        raise BrowserError("broken page: rendered DOM contains a Python traceback")
    figures = dom.stdout.count("<svg") + dom.stdout.count("data:image/png")
    shooting = _run(chromium, [f"--screenshot={shot}", f"--window-size={width},{height}", url], timeout)
    if not shot.exists() or shot.stat().st_size == 0:
        raise BrowserError(f"Chromium wrote no screenshot (exit {shooting.returncode}): {shooting.stderr[-2000:]}")
    return [f"chromium: {chromium}", f"page: {url}", f"sections: {len(section_ids)} present, figures: {figures}",
            f"screenshot: {shot} ({shot.stat().st_size} bytes)"]
