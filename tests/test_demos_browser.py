"""The interactive figures of chapters 1, 3 and 6, moved in headless Chromium as a reader would.

Runs when Chromium and ChromeDriver are installed (``.ci/run`` installs Debian's packages) on the
built site (``tests/built_site.py``: ``_build/html``, or ``BOOK_SITE=path``). For each figure in each
language: it starts, its controls are labelled in the page's language, every slider moved with the
keyboard redraws the figure, the browser log has no warning or error, and no request leaves the site.
The same page opened from ``file://`` starts its figure too (the weights come in a script, not by
``fetch``). Without JavaScript the built page holds the static figure and the text alternative, and
the figure's stage stays hidden. Screenshots of each figure go to ``_build/screenshots/``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urljoin

import pytest
from built_site import ROOT, built_site
from browser_fonts import CHROMEDRIVER, CHROMIUM, chromium, hangul_font_problems, serve

FIGURES = {"conv_shift": "01_convolution_equivariance", "rotate_digit": "03_where_cnns_break",
           "capsule_pose": "06_capsnet_mnist"}
SCREENSHOTS = ROOT / "_build" / "screenshots"
CASES = [(name, lang) for name in FIGURES for lang in ("ko", "en")]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Chromium and ChromeDriver are not installed"),
]


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site()


@pytest.fixture(scope="module")
def base_url(site):
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium(1280, 1000) as driver:
        yield driver


def _page(lang: str, name: str) -> str:
    return f"notebooks/{lang}/{FIGURES[name]}.html"


def _open_figure(browser, url: str):
    """Load ``url`` and return its interactive figure once the script has filled it."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # drain what earlier pages logged
    browser.get(url)
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "const f = document.querySelector('figure.capsdemo'); return f && f.dataset.ready === 'true'"))
    return browser.find_element("css selector", "figure.capsdemo")


_PICTURE = """
const figure = arguments[0];
return Array.from(figure.querySelectorAll('canvas')).map(c => c.toDataURL()).join('|')
  + '|' + Array.from(figure.querySelectorAll('.capsdemo-bar-fill')).map(b => b.style.width).join(',')
  + '|' + figure.querySelector('.capsdemo-readout').textContent;
"""


def _picture(browser, figure) -> str:
    """Everything the figure shows: its canvases' pixels, its bars, its read-out."""
    return browser.execute_script(_PICTURE, figure)


def _log_problems(browser) -> list[str]:
    return [f"{e['level']}: {e['message']}" for e in browser.get_log("browser") if e["level"] in {"WARNING", "SEVERE"}]


def _outside_requests(browser, base: str) -> list[str]:
    urls = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [u for u in urls if not (u.startswith(base) or u.startswith("data:") or u.startswith("blob:"))]


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_every_control_redraws_the_figure(browser, base_url, name, lang):
    from selenium.webdriver.common.keys import Keys

    figure = _open_figure(browser, urljoin(base_url, _page(lang, name)))
    stage = figure.find_element("css selector", ".capsdemo-stage")
    assert stage.is_displayed(), "the figure's stage should show once the script has run"
    labels = browser.execute_script(
        "return Array.from(arguments[0].querySelectorAll('label, legend, .capsdemo-readout')).map(e => e.textContent).join(' ')",
        figure)
    has_hangul = bool(re.search("[\uac00-\ud7a3]", labels))
    assert has_hangul == (lang == "ko"), f"labels in the wrong language: {labels[:200]}"

    sliders = figure.find_elements("css selector", "input[type=range]")
    expected = {"conv_shift": 2, "rotate_digit": 1, "capsule_pose": 16}[name]
    assert len(sliders) == expected, f"{len(sliders)} sliders, expected {expected}"
    for slider in sliders:  # the keyboard alone moves each slider, and each move redraws the figure
        before = _picture(browser, figure)
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", slider)
        slider.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
        assert _picture(browser, figure) != before, f"slider {slider.get_attribute('id')} did not change the figure"
        if name == "capsule_pose":
            slider.send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT)  # one dimension at a time
    for radio in figure.find_elements("css selector", "input[type=radio]:not(:checked)")[:6]:
        before = _picture(browser, figure)
        browser.execute_script("arguments[0].click()", radio)
        if name == "conv_shift" and radio.get_attribute("value") == "blur":
            continue  # the next choice is checked against this one
        assert _picture(browser, figure) != before, f"choosing {radio.get_attribute('value')} changed nothing"

    if name == "conv_shift":  # the arrow keys on the pictures move the digit
        pictures = figure.find_element("css selector", ".capsdemo-panels")
        before = _picture(browser, figure)
        pictures.send_keys(Keys.ARROW_DOWN)
        assert _picture(browser, figure) != before, "the arrow keys on the pictures did not move the digit"

    if lang == "ko":
        problems = hangul_font_problems(browser)
        assert not problems, "\n".join(problems[:10])
    time.sleep(0.3)
    assert not _log_problems(browser), _log_problems(browser)
    assert not _outside_requests(browser, base_url), _outside_requests(browser, base_url)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", figure)
    figure.screenshot(str(SCREENSHOTS / f"{lang}_demo_{name}.png"))


def test_chapter_one_figure_numbers(browser, base_url):
    """The page's number for circular padding is 0 at any shift; odd shifts with stride 2 are not."""
    figure = _open_figure(browser, urljoin(base_url, _page("en", "conv_shift")))
    stage = figure.find_element("css selector", ".capsdemo-stage")
    dy = figure.find_elements("css selector", "input[type=range]")[0]
    browser.execute_script("arguments[0].value = 3; arguments[0].dispatchEvent(new Event('input'))", dy)
    assert float(stage.get_attribute("data-error")) < 1e-12
    browser.execute_script("arguments[0].click()", figure.find_element("css selector", "input[value=stride2]"))
    assert float(stage.get_attribute("data-error")) > 0.1


@pytest.mark.parametrize("name", FIGURES)
def test_figure_starts_from_file_url(browser, site, name):
    """Opened from disk (file://), as in a classroom without a server: the figure starts, no error."""
    figure = _open_figure(browser, (site / _page("en", name)).resolve().as_uri())
    assert figure.find_element("css selector", ".capsdemo-stage").is_displayed()
    assert not [p for p in _log_problems(browser) if "capsdemo" in p or "demos/" in p], _log_problems(browser)


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_without_javascript_the_page_keeps_the_static_figure(site, name, lang):
    html = (site / _page(lang, name)).read_text(encoding="utf-8")
    start = html.index('<figure class="capsdemo"')
    block = html[start : html.index("</figure>", start)]
    assert '<div class="capsdemo-stage" hidden></div>' in block, "the empty stage should be hidden until the script runs"
    assert '<figcaption class="capsdemo-alt">' in block
    assert re.search(r'<img [^>]*src="[^"]+\.(png|svg)"', html[:start]), "a static figure should come before it"
    for script in ("capsdemo_nn.js", "capsdemo_ui.js", f"{name}.js", f"data/{name}.js"):
        assert re.search(rf'<script defer="defer" src="[^"]*_static/demos/{re.escape(script)}', html), script


def test_other_pages_load_no_figure_scripts(site):
    """Jupyter Book would list every .js under _static/ on every page (book/_ext/demos.py undoes it)."""
    checked = 0
    for page in ("notebooks/en/02_pooling_invariance.html", "book/en/intro.html", "book/references.html", "search.html"):
        path = site / page
        if path.exists():
            checked += 1
            assert "_static/demos/" not in path.read_text(encoding="utf-8"), page
    assert checked >= 2


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    """Chapter 6's Korean deck (tools/slides.py; from the book build's execution when there is one)."""
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import slides

    out = tmp_path_factory.mktemp("slides")
    assert slides.main(["06", "--lang", "ko", "--out", str(out)]) == 0
    return out


def test_the_deck_runs_the_same_figure(browser, deck):
    """The deck shows chapter 6's figure on its slide, and the keyboard moves it without changing slide."""
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    with serve(deck) as url:
        browser.get_log("browser")
        browser.get(f"{url}ko/{FIGURES['capsule_pose']}.slides.html")
        WebDriverWait(browser, 30).until(lambda d: d.execute_script(
            "return window.Reveal && Reveal.isReady() && document.querySelector('figure.capsdemo[data-ready]') !== null"))
        browser.execute_script("Reveal.configure({transition: 'none'});"
                               "Reveal.slide(...Object.values(Reveal.getIndices("
                               "document.querySelector('figure.capsdemo').closest('section'))))")
        figure = browser.find_element("css selector", "figure.capsdemo")
        assert len(browser.find_elements("css selector", "figure.capsdemo")) == 1, "one figure in the deck, notes included"
        where = browser.execute_script("return JSON.stringify(Reveal.getIndices())")
        slider = figure.find_element("css selector", "input[type=range]")
        assert "차원" in figure.text, "the Korean deck labels the figure in Korean"
        problems = hangul_font_problems(browser)  # the deck's font subset holds the figure's labels too
        assert not problems, "\n".join(problems[:10])
        before = _picture(browser, figure)
        slider.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
        assert _picture(browser, figure) != before, "the slider did not redraw the figure in the deck"
        assert browser.execute_script("return JSON.stringify(Reveal.getIndices())") == where, "the keys changed the slide"
        # The deck template's own two notes (a deprecated Apple meta tag, no favicon) are not the figure's.
        problems = [p for p in _log_problems(browser) if "apple-mobile-web-app-capable" not in p and "favicon.ico" not in p]
        assert not problems, problems
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOTS / "ko_demo_capsule_pose_slide.png"))

