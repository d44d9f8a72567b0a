"""The built site, opened in headless Chromium as a reader would.

Runs when Chromium and ChromeDriver are installed (``.ci/run`` installs Debian's packages);
skipped otherwise. Reuses ``_build/html`` when it is newer than every source of the book, else
builds it first. Checks, for the landing page and every chapter in both languages: the page
language, that every image loaded, that math was typeset with no raw TeX left, that the
language badge and the Colab badge point to the right places, and that every Hangul letter on the
page is drawn with the Korean web font shipped with the site, as Chromium reports it
(``CSS.getPlatformFontsForNode``), with no font error in the browser log. The same for the other
pages (intro, instructor, glossary, search results) and for every SVG figure with Korean text.
Then saves screenshots under ``_build/screenshots/`` for a person to look at. (The internal
link check needs no browser: tests/test_site_links.py.)

And the browser log of every page of the site, opened as on a first visit: no error, no warning,
no failed request (the server's answers are kept too), and the site's own icon.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urljoin

import pytest
from built_site import ROOT, built_site
import yaml
from browser_fonts import CHROMEDRIVER, CHROMIUM, QuietHandler, chromium, font_errors_in_log, hangul_font_problems, serve

SCREENSHOTS = ROOT / "_build" / "screenshots"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks" / "en").glob("*.ipynb"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Chromium and ChromeDriver are not installed"),
]


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site()


@pytest.fixture(scope="module")
def base_url(site):
    with serve(site, _RecordingHandler) as url:
        yield url


# (path, status) of each request the site's server answered, kept for the browser-log test.
SERVED: list[tuple[str, int]] = []


class _RecordingHandler(QuietHandler):
    def log_request(self, code="-", size="-"):
        SERVED.append((self.path, int(code) if code != "-" else 0))  # code: an int or HTTPStatus


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


def _open(browser, url: str) -> None:
    """Load a page and wait until images, fonts and MathJax are done."""
    from selenium.webdriver.support.ui import WebDriverWait

    font_errors_in_log(browser)  # drain what earlier pages logged
    browser.get(url)
    # The site's index.html only redirects (<meta http-equiv="Refresh">): wait for the page it opens.
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return !document.querySelector('meta[http-equiv=\"Refresh\" i]')"))
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

    _assert_hangul_drawn_with_shipped_font(browser)
    if lang == "ko":
        assert browser.execute_script("return getComputedStyle(document.querySelector('article p')).wordBreak") == "keep-all"


def _assert_hangul_drawn_with_shipped_font(browser) -> None:
    """Every Hangul letter on the open page drawn with the shipped web font; no font errors."""
    problems = hangul_font_problems(browser)
    assert not problems, f"{len(problems)} elements draw Hangul with another font:\n" + "\n".join(problems[:15])
    errors = font_errors_in_log(browser)
    assert not errors, "font errors in the browser log:\n" + "\n".join(errors)


OTHER_PAGES = ["index.html", "book/ko/intro.html", "book/en/intro.html", "book/ko/instructor.html",
               "book/en/instructor.html", "book/ko/glossary.html", "book/en/glossary.html"]


@pytest.mark.parametrize("page", OTHER_PAGES)
def test_other_pages_draw_hangul_with_shipped_font(browser, base_url, page):
    _open(browser, urljoin(base_url, page))
    assert not _broken_images(browser), f"images that did not load: {_broken_images(browser)}"
    _assert_hangul_drawn_with_shipped_font(browser)


def _svgs_with_hangul(site: Path) -> list[Path]:
    return sorted(p for p in (site / "_images").glob("*.svg")
                  if any("\uac00" <= ch <= "\ud7a3" for ch in p.read_text(encoding="utf-8")))


def test_svg_figures_draw_hangul_with_embedded_font(browser, base_url, site):
    """An SVG shown with <img> cannot use the page's fonts: each carries its own. Opened as a
    document, the browser reports which font its text is drawn with."""
    svgs = _svgs_with_hangul(site)
    assert len(svgs) >= 5, f"expected the Korean diagrams and badge among the site's SVGs, found {svgs}"
    for svg in svgs:
        _open(browser, urljoin(base_url, f"_images/{svg.name}"))
        problems = hangul_font_problems(browser)
        assert not problems, f"{svg.name}:\n" + "\n".join(problems[:10])
        assert not font_errors_in_log(browser), f"{svg.name}: font errors in the browser log"


def test_screenshots_for_a_person(browser, base_url):
    """Pages a person should look at: Hangul in headings, navigation, figures and search."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chapter = CHAPTERS[0]
    shots = {f"{lang}_{chapter}": f"notebooks/{lang}/{chapter}.html" for lang in ("ko", "en")}
    shots |= {"ko_landing": "index.html", "ko_glossary": "book/ko/glossary.html",
              "ko_search": "search.html?q=등변성"}
    for name, page in shots.items():
        _open(browser, urljoin(base_url, page))
        target = SCREENSHOTS / f"{name}.png"
        browser.save_screenshot(str(target))
        assert target.stat().st_size > 20_000
    _open(browser, urljoin(base_url, f"notebooks/ko/{chapter}.html"))
    figure = browser.execute_script(  # the first diagram, not a badge
        "return Array.from(document.querySelectorAll('img[src$=\".svg\"]')).find(i => i.naturalWidth > 300)")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", figure)
    figure.screenshot(str(SCREENSHOTS / f"ko_{chapter}_svg_figure.png"))


@pytest.mark.parametrize(("query", "lang"), [("합성곱", "ko"), ("등변성", "ko"), ("equivariance", "en")])
def test_search_finds_chapters_in_both_languages(browser, base_url, query, lang):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(urljoin(base_url, f"search.html?q={query}"))
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return document.querySelectorAll('#search-results li').length > 0"
        " || /no documents|did not match/i.test(document.body.innerText)"))
    hrefs = browser.execute_script("return Array.from(document.querySelectorAll('#search-results li a')).map(a => a.href)")
    assert any(f"/notebooks/{lang}/" in h for h in hrefs), f"searching {query!r} found no {lang} chapter: {hrefs[:5]}"
    # Result titles and snippets are filled in by script after the page loaded.
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.fonts.status === 'loaded'"))
    _assert_hangul_drawn_with_shipped_font(browser)


# What the browser log may hold: INFO and DEBUG lines (the theme's "[PST]: ..." notes). A WARNING
# or SEVERE entry is a problem: an uncaught error, a console.error or console.warn, a resource that
# failed to load.
LOG_PROBLEM_LEVELS = {"WARNING", "SEVERE"}
SEARCHES = ["search.html?q=capsule", "search.html?q=합성곱"]

_ICON = """
const done = arguments[arguments.length - 1];
const link = document.querySelector('link[rel~="icon"]');
if (!link) { done(null); return; }
fetch(link.href).then(r => done([link.href, r.status, r.headers.get('content-type') || '']),
                      e => done([link.href, 0, String(e)]));
"""


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the site (not the copies under _static or _sources), and two searches."""
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                   if not {"_static", "_sources"} & set(p.relative_to(site).parts))
    return pages + SEARCHES


def _browser_log_problems(browser, base_url: str, page: str) -> list[str]:
    """Open ``page`` as a first-time visitor would; what its browser log and requests got wrong."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # drain what earlier pages logged
    # No stored colour mode, as on a first visit (the theme's "invalid theme mode" showed then).
    browser.execute_cdp_cmd("Storage.clearDataForOrigin",
                            {"origin": base_url.rstrip("/"), "storageTypes": "local_storage,session_storage"})
    SERVED.clear()
    _open(browser, urljoin(base_url, page))
    if "?q=" in page:  # the results are filled in after the load event
        WebDriverWait(browser, 30).until(lambda d: d.execute_script(
            "return document.querySelectorAll('#search-results li').length > 0"
            " || /no documents|did not match/i.test(document.body.innerText)"))
    time.sleep(0.5)  # what scripts that run after the load event log
    problems = [f"browser log {e['level']}: {e['message']}" for e in browser.get_log("browser")
                if e["level"] in LOG_PROBLEM_LEVELS]
    problems += [f"request {path} answered {status}" for path, status in SERVED if status >= 400]
    SERVED.clear()
    icon = browser.execute_async_script(_ICON)
    expected = Path(CONFIG["html"]["favicon"]).name if CONFIG.get("html", {}).get("favicon") else "(html.favicon)"
    if icon is None:
        problems.append("the page declares no icon (<link rel=\"icon\">): browsers ask for /favicon.ico")
    else:
        href, status, kind = icon
        if status != 200 or not kind.startswith("image/") or not href.endswith(f"/_static/{expected}"):
            problems.append(f"icon {href} answered {status} ({kind}); expected the site's {expected}")
    return problems


def test_every_page_has_a_clean_browser_log(browser, base_url, site):
    """Every page (chapters, pages, index, search) logs no error or warning and loads everything."""
    pages = site_pages(site)
    assert len(pages) >= 2 * len(CHAPTERS) + len(OTHER_PAGES), f"fewer pages than expected: {pages}"
    problems = {page: found for page in pages if (found := _browser_log_problems(browser, base_url, page))}
    time.sleep(1.0)  # a late request of the last page (an icon) is answered by now
    late = [f"request {path} answered {status}" for path, status in SERVED if status >= 400]
    if late:
        problems.setdefault(pages[-1], []).extend(late)
    report = "\n".join(f"{page}:\n  " + "\n  ".join(found) for page, found in problems.items())
    assert not problems, f"{len(problems)} of {len(pages)} pages have problems in the browser log:\n{report}"
