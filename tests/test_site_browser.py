"""The built site, opened in headless Chromium as a reader would.

Runs when Chromium and ChromeDriver are installed (``.ci/run`` installs Debian's packages);
skipped otherwise. Reuses ``_build/html`` when it is newer than every source of the book, else
builds it first. Checks, for the landing page and every chapter in both languages: the page
language, that every image loaded, that math was typeset with no raw TeX left, that the
language badge and the Colab badge point to the right places, and that the Korean web font
shipped with the site is the one in use. Then checks that no internal link anywhere on the
site is broken, and saves screenshots of one Korean and one English chapter under
``_build/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("BOOK_SITE", ROOT / "_build" / "html"))  # BOOK_SITE: test a site built elsewhere, as is
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks" / "en").glob("*.ipynb"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Chromium and ChromeDriver are not installed"),
]


def _newest_source_mtime() -> float:
    paths = [ROOT / "_config.yml", ROOT / "_toc.yml", *ROOT.glob("notebooks/*/*.ipynb"),
             *ROOT.glob("book/**/*"), *ROOT.glob("images/*"), *ROOT.glob("_static/*")]
    return max(p.stat().st_mtime for p in paths if p.is_file())


@pytest.fixture(scope="module")
def site() -> Path:
    index = SITE / "index.html"
    if "BOOK_SITE" in os.environ:
        assert index.exists(), f"BOOK_SITE={SITE} holds no built site"
    elif not index.exists() or index.stat().st_mtime < _newest_source_mtime():
        jupyter_book = Path(sys.executable).with_name("jupyter-book")
        result = subprocess.run([str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"],
                                cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, f"the book build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return SITE


@pytest.fixture(scope="module")
def base_url(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(browser, url: str) -> None:
    """Load a page and wait until images, fonts and MathJax are done."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && document.fonts.status === 'loaded'"
        " && Array.from(document.images).every(i => i.complete)"
        " && (!window.MathJax || !MathJax.startup || !MathJax.startup.promise"
        "     || document.querySelectorAll('.math').length === document.querySelectorAll('.math mjx-container').length"
        "     || document.querySelectorAll('.math').length === 0)"))


def _broken_images(browser) -> list[str]:
    return browser.execute_script(
        "return Array.from(document.images).filter(i => !(i.naturalWidth > 0)).map(i => i.src)")


def _colab_url(lang: str, chapter: str) -> str:
    repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{repo}/blob/{CONFIG['repository']['branch']}/notebooks/{lang}/{chapter}.ipynb"


def test_landing_page_offers_both_languages(browser, base_url):
    _open(browser, base_url)
    hrefs = browser.execute_script("return Array.from(document.querySelectorAll('a')).map(a => a.href)")
    assert urljoin(base_url, "book/ko/intro.html") in hrefs
    assert urljoin(base_url, "book/en/intro.html") in hrefs
    for chapter in CHAPTERS:
        for lang in ("ko", "en"):
            assert urljoin(base_url, f"notebooks/{lang}/{chapter}.html") in hrefs, f"landing page lacks {lang}/{chapter}"
    assert not _broken_images(browser)


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page(browser, base_url, lang, chapter):
    other = "en" if lang == "ko" else "ko"
    url = urljoin(base_url, f"notebooks/{lang}/{chapter}.html")
    _open(browser, url)
    assert browser.execute_script("return document.documentElement.lang") == lang
    assert browser.find_elements("css selector", "h1"), "no title"
    assert not _broken_images(browser), f"images that did not load: {_broken_images(browser)}"
    figures = browser.find_elements("css selector", "figure img, .cell_output img")
    assert figures, "a chapter page should show at least one figure"
    numbers = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure .caption-number')).map(e => e.innerText.trim())")
    label = "그림" if lang == "ko" else "Fig."
    assert numbers and numbers[0] == f"{label} {int(chapter[:2])}.1", f"figures should be numbered from 1: {numbers}"

    # Math: every math element typeset by MathJax, no TeX delimiters left in the visible text.
    n_math = browser.execute_script("return document.querySelectorAll('.math').length")
    n_typeset = browser.execute_script("return document.querySelectorAll('.math mjx-container').length")
    assert n_typeset == n_math, f"{n_math - n_typeset} of {n_math} math elements were not typeset"
    text = browser.execute_script("return document.querySelector('article').innerText")
    assert "\\(" not in text and "$$" not in text and "\\begin{" not in text, "raw TeX left on the page"
    assert "<Figure size" not in text, "a figure was glued as text, not as an image (was the inline backend off?)"

    # Badges: the other edition and Colab.
    hrefs = browser.execute_script("return Array.from(document.querySelectorAll('article a')).map(a => a.href)")
    assert urljoin(base_url, f"notebooks/{other}/{chapter}.html") in hrefs, "no link to the other edition"
    assert _colab_url(lang, chapter) in hrefs, "no Colab link to this chapter"

    # The Korean font shipped with the site is available to the page (no missing-glyph boxes).
    assert browser.execute_script("return document.fonts.check('16px NanumGothic', '한국어')")
    if lang == "ko":
        assert browser.execute_script("return getComputedStyle(document.querySelector('article p')).wordBreak") == "keep-all"


def test_screenshots_for_a_person(browser, base_url):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chapter = CHAPTERS[0]
    for lang in ("ko", "en"):
        _open(browser, urljoin(base_url, f"notebooks/{lang}/{chapter}.html"))
        target = SCREENSHOTS / f"{lang}_{chapter}.png"
        browser.save_screenshot(str(target))
        assert target.stat().st_size > 20_000


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("href", "src"):
            if tag in ("a", "img", "link", "script") and attrs.get(key):
                self.links.append(attrs[key])


def test_no_internal_link_is_broken(site):
    broken = []
    for page in site.rglob("*.html"):
        if "_static" in page.parts:
            continue
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("#", "mailto:", "data:", "javascript:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if parts.path and not target.exists():
                broken.append(f"{page.relative_to(site)} -> {link}")
    assert not broken, "broken internal links:\n" + "\n".join(sorted(set(broken))[:30])


@pytest.mark.parametrize(("query", "lang"), [("합성곱", "ko"), ("등변성", "ko"), ("equivariance", "en")])
def test_search_finds_chapters_in_both_languages(browser, base_url, query, lang):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(urljoin(base_url, f"search.html?q={query}"))
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return document.querySelectorAll('#search-results li').length > 0"
        " || /no documents|did not match/i.test(document.body.innerText)"))
    hrefs = browser.execute_script("return Array.from(document.querySelectorAll('#search-results li a')).map(a => a.href)")
    assert any(f"/notebooks/{lang}/" in h for h in hrefs), f"searching {query!r} found no {lang} chapter: {hrefs[:5]}"
