"""Korean labels and per-chapter numbers (book/_ext/edition_labels.py), in small Sphinx builds.

Each build is a tiny book laid out like the real one: a numbered part per edition, whose chapters
therefore carry the same numbers, with figures, numbered references (in the chapter and across
chapters) and sphinx-exercise exercises and solutions. The assertions are on the HTML, so a
Sphinx, theme or sphinx-exercise release that changes how labels are made fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parent.parent / "book" / "_ext"
sys.path.insert(0, str(EXT))
import edition_labels  # noqa: E402

pytest.importorskip("sphinx_exercise")

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>\n'

INDEX = """\
Book
====

.. toctree::
   :numbered:
   :caption: 한국어판

   notebooks/ko/ch1
   notebooks/ko/ch2

.. toctree::
   :numbered:
   :caption: English edition

   notebooks/en/ch1
   notebooks/en/ch2
"""

CHAPTER_1 = """\
{title}
==========

.. _fig-{lang}-a:

.. figure:: /pixel.svg

   A

.. _fig-{lang}-b:

.. figure:: /pixel.svg

   B

See :numref:`fig-{lang}-b` and :numref:`fig-{lang}-a`, and :ref:`{lang}-ex-1`.

.. exercise::
   :label: {lang}-ex-1

   One.

.. solution:: {lang}-ex-1

   Answer one.

.. exercise:: With a subtitle
   :label: {lang}-ex-2

   Two.

.. solution:: {lang}-ex-2

   Answer two.
"""

CHAPTER_2 = """\
{title}
==========

.. _fig-{lang}-c:

.. figure:: /pixel.svg

   C

Compare :numref:`fig-{lang}-c` with :numref:`fig-{lang}-b` and :numref:`{lang}-ex-2`.

.. exercise::
   :label: {lang}-ex-3

   Three.

.. solution:: {lang}-ex-3

   Answer three.
"""


def _build(root: Path, theme: str) -> Path:
    src, out = root / "src", root / "out"
    (src / "notebooks").mkdir(parents=True)
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(EXT)!r})\n"
        "extensions = ['sphinx_exercise', 'edition_labels']\n"
        f"html_theme = {theme!r}\nlanguage = 'en'\nnumfig = True\nnumfig_secnum_depth = 1\n",
        encoding="utf-8")
    (src / "index.rst").write_text(INDEX, encoding="utf-8")
    (src / "pixel.svg").write_text(SVG, encoding="utf-8")
    for lang, title in (("ko", "장 하나"), ("en", "One")):
        (src / "notebooks" / lang).mkdir()
        for name, text in (("ch1", CHAPTER_1), ("ch2", CHAPTER_2)):
            page = text.format(lang=lang, title=title)
            (src / "notebooks" / lang / f"{name}.rst").write_text(page, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "-n", "-q", "-E", str(src), str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return out


@pytest.fixture(scope="module", params=["alabaster", "sphinx_book_theme"])
def site(request, tmp_path_factory) -> Path:
    if request.param != "alabaster":
        pytest.importorskip(request.param)
    return _build(tmp_path_factory.mktemp(request.param), request.param)


def _page(site: Path, lang: str, chapter: str) -> str:
    return (site / "notebooks" / lang / f"{chapter}.html").read_text(encoding="utf-8")


def _spans(html: str, cls: str) -> list[str]:
    return [" ".join(text.split()) for text in re.findall(rf'<span class="{cls}">([^<]*)</span>', html)]


def _solution_titles(html: str) -> list[str]:
    titles = re.findall(r'<p class="admonition-title">(.*?)</p>', html, flags=re.S)
    titles = [" ".join(re.sub(r"<[^>]+>", "", title).split()) for title in titles]
    return [title for title in titles if title.startswith(("풀이", "Solution"))]


LABELS = {
    "ko": {"figure": "그림", "exercise": "연습 문제", "solution": "풀이:"},
    "en": {"figure": "Fig.", "exercise": "Exercise", "solution": "Solution to"},
}


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_caption_numbers_in_the_page_language_from_1_in_each_chapter(site, lang):
    fig, ex = LABELS[lang]["figure"], LABELS[lang]["exercise"]
    assert _spans(_page(site, lang, "ch1"), "caption-number") == [
        f"{fig} 1.1", f"{fig} 1.2", f"{ex} 1.1", f"{ex} 1.2"]
    assert _spans(_page(site, lang, "ch2"), "caption-number") == [f"{fig} 2.1", f"{ex} 2.1"]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_numbered_references_in_the_page_language(site, lang):
    fig, ex = LABELS[lang]["figure"], LABELS[lang]["exercise"]
    assert _spans(_page(site, lang, "ch1"), "std std-numref") == [f"{fig} 1.2", f"{fig} 1.1", f"{ex} 1.1"]
    assert _spans(_page(site, lang, "ch2"), "std std-numref") == [f"{fig} 2.1", f"{fig} 1.2", f"{ex} 1.2"]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_solution_titles_in_the_page_language(site, lang):
    sol, ex = LABELS[lang]["solution"], LABELS[lang]["exercise"]
    assert _solution_titles(_page(site, lang, "ch1")) == [
        f"{sol} {ex} 1.1", f"{sol} {ex} 1.2 (With a subtitle)"]
    assert _solution_titles(_page(site, lang, "ch2")) == [f"{sol} {ex} 2.1"]


def test_korean_pages_carry_no_english_labels(site):
    for chapter in ("ch1", "ch2"):
        html = _page(site, "ko", chapter)
        assert not re.search(r"Fig\. \d|Exercise \d|Solution to", html), chapter


@pytest.mark.parametrize("numbers", [
    [("notebooks/en/07_x", {"figure": {"a": (7, 5)}})],  # not a dict
    {"notebooks/en/07_x": [("figure", {"a": (7, 5)})]},  # per-document numbers not a dict
    {"notebooks/en/07_x": {"figure": {"a": "7.5"}}},  # a number that is not a tuple
    {"notebooks/en/07_x": {"figure": {"a": (7, "5")}}},  # a part that is not an int
    {"notebooks/en/07_x": {"figure": {"a": ()}}},  # no number at all
])
def test_a_changed_shape_of_sphinx_numbers_stops_the_build(numbers):
    from sphinx.errors import ExtensionError

    with pytest.raises(ExtensionError, match="toc_fignumbers"):
        edition_labels.restart_numbers_per_chapter(numbers)
