"""One Korean slide deck (chapter 1), exported and opened in headless Chromium as a class would see it.

Runs when Chromium and ChromeDriver are installed; skipped otherwise. Exports the deck with
``tools/slides.py`` into a temporary folder (from the book build's executed notebooks when they
are there), serves it over HTTP and walks through every slide. On each slide: every rendered
element with Hangul text is drawn with the deck's shipped web font (asked of the DevTools
protocol, not of ``document.fonts``), no slide of prose overflows its frame, every image loaded.
Over the whole deck: no font error in the browser log. Saves screenshots of the title slide and
of a figure slide under ``_build/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))
import browser_fonts  # noqa: E402

SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM, CHROMEDRIVER = browser_fonts.CHROMIUM, browser_fonts.CHROMEDRIVER
CHAPTER = "01_convolution_equivariance"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Chromium and ChromeDriver are not installed"),
]


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> Path:
    import slides

    out = tmp_path_factory.mktemp("slides")
    assert slides.main([CHAPTER[:2], "--lang", "ko", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def base_url(deck):
    with browser_fonts.serve(deck) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=browser_fonts.chrome_options(CHROMIUM))
    # A 16:9 projector: the deck's own 1280x720 frame at scale 1.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": 720, "deviceScaleFactor": 1, "mobile": False})
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


_SETTLED = ("return document.readyState === 'complete' && window.Reveal && Reveal.isReady()"
            " && document.fonts.status === 'loaded'"
            " && Array.from(document.images).every(i => i.complete)"
            " && (!window.MathJax || !MathJax.startup || !MathJax.startup.document"
            "     || document.querySelectorAll('.math:not(aside .math)').length"
            "        === document.querySelectorAll('.math:not(aside .math) mjx-container').length)")


def _wait(browser) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(lambda d: d.execute_script(_SETTLED))


def _go_to(browser, h: int, v: int) -> None:
    browser.execute_script("Reveal.slide(arguments[0], arguments[1]);", h, v)
    _wait(browser)


@pytest.fixture(scope="module")
def opened(browser, base_url):
    browser.get(f"{base_url}ko/{CHAPTER}.slides.html")
    _wait(browser)
    browser.execute_script("Reveal.configure({transition: 'none', backgroundTransition: 'none'});")
    return browser


def _slides(browser) -> list[tuple[int, int, bool]]:
    """(h, v, holds a figure image) of every slide, in order."""
    return [tuple(s) for s in browser.execute_script(
        "return Reveal.getSlides().map(s => { const i = Reveal.getIndices(s);"
        " return [i.h, i.v || 0, !!s.querySelector('figure img')]; })")]


def test_every_slide_draws_korean_with_the_shipped_font(opened):
    browser = opened
    browser_fonts.font_errors_in_log(browser)  # the log so far is checked at the end, with the rest
    problems, overflowing, broken, checked = [], [], [], 0
    for h, v, _ in _slides(browser):
        _go_to(browser, h, v)
        checked += len(browser_fonts.hangul_elements(browser))
        problems += [f"slide {h}.{v}: {p}" for p in browser_fonts.hangul_font_problems(browser)]
        sizes = browser.execute_script(
            "const s = Reveal.getCurrentSlide(); return [s.scrollHeight, s.clientHeight, !!s.querySelector('.book-slide')];")
        if sizes[2] and sizes[0] > sizes[1] + 2:
            overflowing.append(f"slide {h}.{v}: content {sizes[0]}px in a {sizes[1]}px frame")
        broken += browser.execute_script(
            "return Array.from(Reveal.getCurrentSlide().querySelectorAll('img'))"
            ".filter(i => !(i.naturalWidth > 0)).map(i => i.alt || i.src.slice(0, 60))")
    assert checked > 50, f"only {checked} elements with Hangul text were found: is this the Korean deck?"
    assert not problems, "Hangul drawn without the shipped font:\n" + "\n".join(problems[:20])
    assert not overflowing, "slides whose content does not fit:\n" + "\n".join(overflowing)
    assert not broken, f"images that did not load: {broken}"
    errors = browser_fonts.font_errors_in_log(browser)
    assert not errors, "font errors in the browser log:\n" + "\n".join(errors)


def test_slides_show_labels_as_the_page_does(opened):
    text = opened.execute_script(
        "return Array.from(document.querySelectorAll('.slides section')).map(s => s.innerText).join('\\n')")
    assert "그림 1.1" in text and "연습 문제 1.1" in text
    assert "fig-ko-" not in text and "{numref}" not in text and "{glue" not in text and "{cite" not in text
    assert "LeCun et al. (1998)" in text
    notes = opened.execute_script("return document.querySelectorAll('aside.notes').length")
    assert notes >= 10, "the chapter's prose should be in the speaker notes"


def test_screenshots_for_a_person(opened):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    figure_slide = next((h, v) for h, v, has_figure in _slides(opened) if has_figure)
    for name, (h, v) in (("title", (0, 0)), ("figure", figure_slide)):
        _go_to(opened, h, v)
        target = SCREENSHOTS / f"slides_ko_{CHAPTER}_{name}.png"
        opened.save_screenshot(str(target))
        assert target.stat().st_size > 10_000
