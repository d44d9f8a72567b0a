"""Sphinx extension for the two editions: page language, Korean line breaking, a shipped font.

- Pages of the Korean edition (``notebooks/ko/``, ``book/ko/``) get ``<html lang="ko">``; the
  stylesheet ``_static/book.css`` breaks Korean lines between words (``word-break: keep-all``).
- Numbered things are labelled in the page's language ("그림 1.2" / "Fig. 1.2", "연습 문제 1.2",
  "풀이: ...") and numbered from 1 in every chapter of both editions (``edition_labels.py``).
- A Korean web font ships with the site (``webfont.py``): WOFF2 subsets of NanumGothic made at
  build time, declared in ``_static/hangul-font.css``, so Korean text renders on machines that have
  no Korean system font and no network (headless browsers on fresh servers included); the SVG
  figures carry the letters they use inside them, because an ``<img>`` cannot use the page's fonts.
- Search works in Korean: Korean words carry particles (합성곱은, 합성곱을, ...), so each Hangul
  word is also indexed by its prefixes, and a search for 합성곱 finds them all.
- MathJax 3 is served from the site itself (``_static/mathjax``), copied from the
  ``django-static-mathjax`` package on PyPI, so the math is typeset offline too.
- A clean browser log: no inline script written twice on a page (``page_scripts.py``); the theme's
  colour mode and the site's icon are set in ``_config.yml`` (``html_context``, ``html.favicon``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.search.en import SearchEnglish

import webfont  # beside this file: Sphinx's extension path (local_extensions), not a package
from edition_labels import page_language  # the pages' language: one definition, beside the labels


def _round_brackets():
    from sphinxcontrib.bibtex.style.referencing import BracketStyle

    return BracketStyle(left="(", right=")")


def register_round_author_year() -> None:
    """Author-year citations in round brackets, "Sabour et al. (2017)" and "(Sabour et al., 2017)",
    as in the papers the book cites (sphinxcontrib-bibtex's own author_year uses square ones).
    Registered as the reference style ``author_year_round`` (``bibtex_reference_style``)."""
    from dataclasses import dataclass, field

    from sphinxcontrib.bibtex.plugin import register_plugin
    from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

    @dataclass
    class RoundAuthorYearReferenceStyle(AuthorYearReferenceStyle):
        bracket_textual: object = field(default_factory=_round_brackets)
        bracket_parenthetical: object = field(default_factory=_round_brackets)
        bracket_author: object = field(default_factory=_round_brackets)
        bracket_label: object = field(default_factory=_round_brackets)
        bracket_year: object = field(default_factory=_round_brackets)

    register_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_round", RoundAuthorYearReferenceStyle)

FONT_CSS = "hangul-font.css"  # relative to _static, written when the build finishes
MATHJAX_SCRIPT = "mathjax/tex-chtml.js"  # relative to _static


def _set_language(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    context["language"] = page_language(pagename)


def site_text(outdir: Path) -> str:
    """Everything the site can show: its pages, the search index (titles, result snippets) and the
    labels the interactive figures' scripts write (``_static/demos/*.js``, not their data)."""
    pages = [p for p in outdir.rglob("*.html") if "_static" not in p.relative_to(outdir).parts]
    index = outdir / "searchindex.js"
    demos = sorted((outdir / "_static" / "demos").glob("*.js"))
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in [*pages, index, *demos] if p.exists())


def ship_web_font(outdir: Path) -> None:
    """Write the site's Korean web font and its CSS; embed the font in the SVG figures."""
    static = outdir / "_static"
    css = webfont.write_web_font(static / "fonts", site_text(outdir), url_prefix="fonts")
    (static / FONT_CSS).write_text(css, encoding="utf-8")
    for svg in (outdir / "_images").glob("*.svg"):
        text = svg.read_text(encoding="utf-8")
        embedded = webfont.embed_font_in_svg(text)
        if embedded != text:
            svg.write_text(embedded, encoding="utf-8")


def _mathjax_source() -> Path:
    import mathjax  # the django-static-mathjax distribution; plain files, no Django needed

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def _use_local_mathjax(app: Sphinx, config) -> None:
    config.mathjax_path = MATHJAX_SCRIPT


def copy_mathjax(target: Path) -> None:
    """Copy MathJax's CHTML bundle and its fonts into ``target`` (it finds fonts beside itself)."""
    source = _mathjax_source()
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "tex-chtml.js", target / "tex-chtml.js")
    fonts = Path("output") / "chtml" / "fonts" / "woff-v2"
    shutil.copytree(source / fonts, target / fonts, dirs_exist_ok=True)


def _restore_figures(app: Sphinx) -> None:
    """Give the site's SVG copies back their source text before Sphinx compares them."""
    if app.builder.format == "html":
        for svg in (Path(app.outdir) / "_images").glob("*.svg"):
            text = svg.read_text(encoding="utf-8")
            if webfont.SVG_MARKER in text:
                svg.write_text(webfont.strip_font_from_svg(text), encoding="utf-8")


def _copy_offline_assets(app: Sphinx, exception: Exception | None) -> None:
    """Ship the Korean font and MathJax with an HTML build."""
    if exception is None and app.builder.format == "html":
        ship_web_font(Path(app.outdir))
        copy_mathjax(Path(app.outdir) / "_static" / "mathjax")


HANGUL = re.compile("[\uac00-\ud7a3]")


def hangul_prefixes(word: str) -> list[str]:
    """'합성곱은' -> ['합성', '합성곱']: the word's proper prefixes of two or more letters."""
    return [word[:k] for k in range(2, len(word))] if HANGUL.match(word) else []


class SearchEnglishAndKorean(SearchEnglish):
    """English search (stemming, stop words) that also finds Korean words under their stems."""

    def split(self, input: str) -> list[str]:
        words = super().split(input)
        return words + [prefix for word in words for prefix in hangul_prefixes(word)]


def setup(app: Sphinx) -> dict:
    register_round_author_year()
    app.add_search_language(SearchEnglishAndKorean)
    app.setup_extension("edition_labels")  # Korean labels, numbers from 1 in each chapter
    app.setup_extension("page_scripts")  # each inline script once per page (sphinx-thebe's twice threw)
    app.setup_extension("demos")  # the interactive figures' scripts, on their pages only
    app.connect("config-inited", _use_local_mathjax)
    app.connect("html-page-context", _set_language)
    app.connect("builder-inited", _restore_figures)
    app.connect("build-finished", _copy_offline_assets)
    app.add_css_file(FONT_CSS)
    app.add_css_file("book.css")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
