"""Render a report in headless Chromium: save a screenshot and check the page is whole.

Chromium runs with a fresh throw-away profile and no network chatter. The page
is broken when the dumped DOM misses a section id the report always has,
contains a Python traceback, or is wider than the window (horizontal scroll):
a measuring copy of the page, with a script appended, records the document's
scroll width against the window's and names the widest elements sticking out.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import tempfile

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
BASE_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
              "--disable-component-update", "--disable-sync", "--hide-scrollbars")


#: Appended to a copy of the page: records the page and window widths and what sticks out, in the DOM.
WIDTH_PROBE = """<script>
(function () {
  var inner = window.innerWidth, out = [];
  document.querySelectorAll("body *").forEach(function (el) {
    var box = el.getBoundingClientRect(), right = Math.max(box.right, box.left + el.scrollWidth);
    if (right > inner + 1) { out.push([right, el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")]); }
  });
  out.sort(function (a, b) { return b[0] - a[0]; });
  var probe = document.createElement("pre");
  probe.id = "logbench-width";
  probe.textContent = "scroll=" + document.documentElement.scrollWidth + " inner=" + inner + " wide=" +
    out.slice(0, 5).map(function (o) { return o[1] + ":" + Math.round(o[0]); }).join(",");
  document.body.appendChild(probe);
})();
</script>"""


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


def page_width(chromium: str, report: str | os.PathLike[str], width: int, timeout: float = 120.0) -> tuple[int, int, str]:
    """``(page scroll width, window width, widest elements sticking out)`` of ``report`` in a ``width`` px window.

    Raises BrowserError when Chromium fails or the probe left no figure.
    """
    page = pathlib.Path(report).resolve()
    with tempfile.TemporaryDirectory(prefix="logbench-width-") as folder:
        probe = pathlib.Path(folder) / page.name
        text = page.read_text(encoding="utf-8")
        at = text.rfind("</body>")
        probe.write_text(text[:at] + WIDTH_PROBE + text[at:] if at >= 0 else text + WIDTH_PROBE, encoding="utf-8")
        done = _run(chromium, ["--dump-dom", f"--window-size={width},900", "--virtual-time-budget=5000",
                               probe.as_uri()], timeout)
    found = re.search(r'id="logbench-width">scroll=(\d+) inner=(\d+) wide=([^<]*)<', done.stdout)
    if done.returncode != 0 or not found:
        raise BrowserError(f"Chromium did not measure the page width (exit {done.returncode}): {done.stderr[-2000:]}")
    return int(found.group(1)), int(found.group(2)), found.group(3)


def check_page(report: str | os.PathLike[str], screenshot: str | os.PathLike[str],
               section_ids: tuple[str, ...], *, width: int = 1400, height: int = 4000,
               timeout: float = 120.0) -> list[str]:
    """Screenshot ``report`` at ``width`` px and verify its DOM; returns lines describing what was checked.

    Raises:
        BrowserError: no Chromium, Chromium failed, no screenshot, a missing section, a traceback,
            a page wider than the ``width`` px window.
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
    scroll, inner, wide = page_width(chromium, report, width, timeout)
    if scroll > inner:
        raise BrowserError(f"broken page: {scroll} px wide in a {inner} px window (horizontal scroll); "
                           f"sticking out: {wide or 'the document itself'}")
    shooting = _run(chromium, [f"--screenshot={shot}", f"--window-size={width},{height}", url], timeout)
    if not shot.exists() or shot.stat().st_size == 0:
        raise BrowserError(f"Chromium wrote no screenshot (exit {shooting.returncode}): {shooting.stderr[-2000:]}")
    return [f"chromium: {chromium}", f"page: {url}", f"sections: {len(section_ids)} present, figures: {figures}",
            f"width: {scroll} px page in a {inner} px window (no horizontal scroll)",
            f"screenshot: {shot} ({shot.stat().st_size} bytes)"]
