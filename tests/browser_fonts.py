"""What font Chromium really draws Korean text with, and whether a font failed to load.

``document.fonts.check()`` says whether a face is ready, not which font the text is drawn with
(and its answer for a face that failed to load varies between browser builds). The DevTools
protocol's ``CSS.getPlatformFontsForNode`` does say it: for each element it lists the fonts used
for the element's own text, with how many glyphs each drew and whether it is a web font. These
helpers work on a Selenium Chrome driver created with the ``goog:loggingPrefs`` capability
``{"browser": "ALL"}`` (see :func:`chrome_options`). :func:`serve` and :func:`chromium` give the
browser tests their local server and their driver.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import shutil
import threading
from pathlib import Path
from typing import Iterator

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

SHIPPED_FONT_NAMES = ("NanumGothic", "나눔고딕")
HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7a3\ud7b0-\ud7ff]")
FONT_ERROR = re.compile(r"OTS parsing error|Failed to decode downloaded font|font", re.I)
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900")

# Marks every rendered element whose own text (its child text nodes, not its descendants') holds
# Hangul, and returns how many Hangul letters each one shows.
_MARK_HANGUL_ELEMENTS = r"""
const hangul = /[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7a3\ud7b0-\ud7ff]/g;
const counts = [];
document.querySelectorAll('[data-hangul-check]').forEach(e => e.removeAttribute('data-hangul-check'));
const scope = document.body || document.documentElement;  // an SVG document has no body
for (const element of [scope, ...scope.querySelectorAll('*')]) {
  if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'script', 'style', 'title', 'desc'].includes(element.tagName)) continue;
  let own = '';
  for (const node of element.childNodes) if (node.nodeType === Node.TEXT_NODE) own += node.textContent;
  const letters = own.match(hangul);
  if (!letters) continue;
  const style = getComputedStyle(element);
  if (style.visibility !== 'visible' || element.getClientRects().length === 0) continue;
  element.setAttribute('data-hangul-check', String(counts.length));
  counts.push([letters.length, own.trim().slice(0, 40), element.tagName.toLowerCase()]);
}
return counts;
"""


def chrome_options(binary: str):
    """Headless Chromium options for this machine (no network), with the browser log kept."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path, handler: type = QuietHandler) -> Iterator[str]:
    """Serve ``folder`` over http on a free loopback port (with ``handler``, a quiet one by default);
    yields its base URL (ending in ``/``)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


@contextlib.contextmanager
def chromium(width: int | None = None, height: int | None = None) -> Iterator:
    """A headless Chromium driver (:func:`chrome_options`), pages given 60 s to load, the window
    ``width`` x ``height`` when given; quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=chrome_options(CHROMIUM))
    driver.set_page_load_timeout(60)
    if width and height:
        driver.set_window_size(width, height)
    try:
        yield driver
    finally:
        driver.quit()


def hangul_elements(driver) -> list[tuple[int, str, str]]:
    """``(hangul letters, first 40 characters, tag)`` of each rendered element with Hangul text."""
    return [tuple(row) for row in driver.execute_script(_MARK_HANGUL_ELEMENTS)]


def hangul_font_problems(driver) -> list[str]:
    """Elements whose Hangul is not all drawn with the shipped web font (empty when all are).

    For each rendered element whose own text holds Hangul, the glyphs that the shipped font drew
    (``isCustomFont`` and its family name) must be at least as many as its Hangul letters. A
    Hangul letter drawn with any other font, or as a missing-glyph box, makes a problem.
    """
    elements = hangul_elements(driver)
    if not elements:
        return []
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node_ids = driver.execute_cdp_cmd(
        "DOM.querySelectorAll", {"nodeId": root, "selector": "[data-hangul-check]"})["nodeIds"]
    problems = []
    for node_id in node_ids:
        index = int(_attribute(driver, node_id, "data-hangul-check"))
        letters, text, tag = elements[index]
        fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node_id})["fonts"]
        shipped = sum(f["glyphCount"] for f in fonts
                      if f.get("isCustomFont") and f["familyName"] in SHIPPED_FONT_NAMES)
        if shipped < letters:
            used = ", ".join(f"{f['familyName']}{' (web)' if f.get('isCustomFont') else ''}: {f['glyphCount']}"
                             for f in fonts) or "nothing"
            problems.append(f"<{tag}> {text!r}: {letters} Hangul letters, shipped font drew {shipped} ({used})")
    return problems


def _attribute(driver, node_id: int, name: str) -> str:
    attributes = driver.execute_cdp_cmd("DOM.getAttributes", {"nodeId": node_id})["attributes"]
    return dict(zip(attributes[::2], attributes[1::2]))[name]


def font_errors_in_log(driver) -> list[str]:
    """Browser-log messages about fonts since the last call (the log is drained when read)."""
    return [entry["message"] for entry in driver.get_log("browser") if FONT_ERROR.search(entry["message"])]
