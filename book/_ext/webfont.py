"""The Korean web font the site, the slide decks and the SVG figures ship.

Browsers refuse the NanumGothic ``.ttf`` files that ``koreanize-matplotlib`` installs ("OTS parsing
error: TSI3: zero-length table": they carry a font editor's private tables). This module turns them
into fonts made for the web with fontTools, at build time:

- only Hangul (syllables, jamo, compatibility jamo) goes into the web font; Latin text keeps the
  reader's own system font, so the face is declared with a ``unicode-range`` and never touches it;
- the Hangul the site actually uses is one small WOFF2 file per weight (regular, bold): every page
  downloads it once, from the cache after the first page;
- the rest of Hangul is one more WOFF2 file, declared with the ``unicode-range`` of exactly those
  letters, so a browser fetches it only when a page shows one of them (a reader typing a rare word
  into the search box, say);
- an SVG figure shown with ``<img>`` cannot use the page's fonts, so :func:`embed_font_in_svg`
  puts a WOFF2 subset of the letters it uses inside the SVG as a data URI.

The face is declared under the name the SVG sources already ask for (``NanumGothic``): an
``@font-face`` rule takes precedence over a system font of the same name, so the text is drawn with
the shipped font everywhere, whether or not the reader's machine has a Korean font.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from functools import lru_cache
from pathlib import Path

FAMILY = "NanumGothic"
WEIGHTS = {400: "NanumGothic.ttf", 700: "NanumGothicBold.ttf"}
HANGUL_BLOCKS = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7A3), (0xD7B0, 0xD7FF))
HANGUL = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in HANGUL_BLOCKS) + "]")
SVG_MARKER = "data-book-font"


def hangul_in(text: str) -> set[int]:
    """The Hangul code points in ``text``: ``hangul_in("합성곱 conv") == {0xD569, 0xC131, 0xACF1}``."""
    return {ord(ch) for ch in HANGUL.findall(text)}


def source_font(weight: int) -> Path:
    """The TrueType file of one weight, as ``koreanize-matplotlib`` installs it."""
    import koreanize_matplotlib

    if weight not in WEIGHTS:
        raise ValueError(f"no shipped font of weight {weight}; choose one of {sorted(WEIGHTS)}")
    return Path(koreanize_matplotlib.__file__).parent / "fonts" / WEIGHTS[weight]


@lru_cache(maxsize=None)
def _font_hangul(weight: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    cmap = TTFont(source_font(weight), lazy=True).getBestCmap()
    return frozenset(cp for cp in cmap if HANGUL.match(chr(cp)))


def unicode_range(code_points: set[int]) -> str:
    """CSS ``unicode-range`` of a set: runs of consecutive code points as ``U+AC00-AC02``."""
    points, runs = sorted(code_points), []
    for cp in points:
        if runs and cp == runs[-1][1] + 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    return ", ".join(f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}" for a, b in runs)


def woff2_subset(weight: int, code_points: set[int]) -> bytes:
    """A WOFF2 font of ``code_points`` only, without hinting or the editor's tables.

    Raises:
        ValueError: ``code_points`` is empty (a font of nothing is a mistake upstream).
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    if not code_points:
        raise ValueError("no code points to put in the web font")
    options = subset.Options()
    options.flavor = "woff2"
    options.hinting = False  # hinting is most of a Korean font's size, and browsers barely use it
    options.drop_tables += ["TSI0", "TSI1", "TSI2", "TSI3", "TSI5", "kern"]
    options.name_IDs = [1, 2, 3, 4, 6]
    font = TTFont(source_font(weight))
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(code_points))
    subsetter.subset(font)
    out = io.BytesIO()
    font.flavor = "woff2"
    font.save(out)
    return out.getvalue()


def _face(src: str, weight: int, code_points: set[int]) -> str:
    return (f'@font-face {{\n  font-family: "{FAMILY}";\n  src: url("{src}") format("woff2");\n'
            f"  font-weight: {weight};\n  font-style: normal;\n  font-display: swap;\n"
            f"  unicode-range: {unicode_range(code_points)};\n}}\n")


def _write_once(folder: Path, stem: str, weight: int, code_points: set[int]) -> str:
    """Write the subset under a name that depends on its content; skip it if it is there."""
    key = hashlib.sha256(f"{weight}:{sorted(code_points)}".encode()).hexdigest()[:10]
    name = f"{stem}-{weight}-{key}.woff2"
    if not (folder / name).exists():
        (folder / name).write_bytes(woff2_subset(weight, code_points))
    return name


def write_web_font(folder: Path, text: str, url_prefix: str) -> str:
    """Write the web font files for a site or deck whose text is ``text``; return their CSS.

    Args:
        folder: where the ``.woff2`` files go (created; any other file in it is removed).
        text: every text the pages show, so the first file holds the Hangul they use.
        url_prefix: how the CSS reaches ``folder`` (``"fonts"`` when the CSS sits beside it).

    Returns:
        ``@font-face`` rules: the used Hangul in each weight, the remaining Hangul in regular.
    """
    folder.mkdir(parents=True, exist_ok=True)
    available = _font_hangul(400)
    used = hangul_in(text) & available
    rest = set(available - used)
    files, css = [], []
    for weight in WEIGHTS:
        if used:
            files.append(_write_once(folder, "hangul", weight, used))
            css.append(_face(f"{url_prefix}/{files[-1]}", weight, used))
    files.append(_write_once(folder, "hangul-rest", 400, rest))
    css.append(_face(f"{url_prefix}/{files[-1]}", 400, rest))
    for stale in folder.iterdir():  # earlier builds' subsets, or fonts of another kind
        if stale.is_file() and stale.name not in files:
            stale.unlink()
    return "".join(css)


def _text_of_svg(svg: str) -> str:
    return re.sub(r"<[^>]+>", " ", svg)


def embed_font_in_svg(svg: str) -> str:
    """The SVG with a WOFF2 subset of the Hangul it shows embedded as a data URI.

    The SVG's own ``font-family`` declarations name ``NanumGothic``; the embedded ``@font-face``
    of that name wins over any system font, and works where the SVG is shown with ``<img>``
    (which cannot reach the page's fonts or any other file). SVGs without Hangul, and SVGs
    already processed, come back unchanged.
    """
    if SVG_MARKER in svg:
        return svg
    used = hangul_in(_text_of_svg(svg)) & _font_hangul(400)
    if not used:
        return svg
    bold = re.search(r"font-weight\s*[:=]\s*[\"']?\s*(bold|[6-9]00)", svg) is not None
    faces = []
    for weight in (400, 700) if bold else (400,):
        data = base64.b64encode(woff2_subset(weight, used)).decode("ascii")
        faces.append(_face(f"data:font/woff2;base64,{data}", weight, used))
    style = f"<style {SVG_MARKER}=\"{FAMILY}\">\n{''.join(faces)}</style>"
    opening = re.search(r"<svg\b[^>]*>", svg)
    if opening is None:
        raise ValueError("not an SVG document: no <svg> element")
    return svg[: opening.end()] + "\n" + style + svg[opening.end():]


def strip_font_from_svg(svg: str) -> str:
    """Undo :func:`embed_font_in_svg` exactly: ``strip_font_from_svg(embed_font_in_svg(s)) == s``.

    The site build embeds fonts into its copies of the figures; the next build first restores
    them, so that Sphinx finds its copies equal to the sources instead of warning that it is
    about to overwrite different files.
    """
    return re.sub(rf"\n<style {SVG_MARKER}=[^>]*>.*?</style>", "", svg, count=1, flags=re.S)
