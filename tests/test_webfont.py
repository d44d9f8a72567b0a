"""The Korean web font made at build time (book/_ext/webfont.py), without a browser."""

from __future__ import annotations

import base64
import io
import re
import sys
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "book" / "_ext"))
import webfont  # noqa: E402


def test_hangul_in_finds_syllables_and_jamo_only():
    assert webfont.hangul_in("합성곱 conv ㄱ 1.5%") == {ord("합"), ord("성"), ord("곱"), ord("ㄱ")}
    assert webfont.hangul_in("equivariance · 漢字") == set()


@pytest.mark.parametrize(("points", "css"), [
    ({0xAC00}, "U+AC00"),
    ({0xAC00, 0xAC01, 0xAC02, 0xAC05}, "U+AC00-AC02, U+AC05"),
    ({0x3131, 0xAC00, 0xD7A3}, "U+3131, U+AC00, U+D7A3"),
])
def test_unicode_range_joins_runs(points, css):
    assert webfont.unicode_range(points) == css


def test_subset_is_a_woff2_without_the_tables_browsers_reject():
    data = webfont.woff2_subset(400, webfont.hangul_in("등변성"))
    assert data[:4] == b"wOF2"
    font = TTFont(io.BytesIO(data))
    assert set(font.getBestCmap()) == webfont.hangul_in("등변성")
    assert not any(tag.startswith("TSI") for tag in font.keys()), "font-editor tables make browsers refuse the font"


def test_subset_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="no code points"):
        webfont.woff2_subset(400, set())
    with pytest.raises(ValueError, match="no shipped font of weight 300"):
        webfont.source_font(300)


def test_web_font_covers_all_hangul_and_only_hangul(tmp_path):
    (tmp_path / "NanumGothic.ttf").write_bytes(b"stale")  # an earlier build's file goes away
    css = webfont.write_web_font(tmp_path, "<p>합성곱과 등변성</p> <b>convolution</b>", url_prefix="fonts")
    faces = re.findall(r"url\(\"fonts/([^\"]+)\"\).*?font-weight: (\d+).*?unicode-range: ([^;]+);", css, re.S)
    assert [w for _, w, _ in faces] == ["400", "700", "400"], "used Hangul in two weights, the rest in one"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(name for name, _, _ in faces)
    used = set(TTFont(tmp_path / faces[0][0]).getBestCmap())
    rest = set(TTFont(tmp_path / faces[2][0]).getBestCmap())
    assert used == webfont.hangul_in("합성곱과 등변성")
    assert not used & rest and len(used | rest) > 11_000, "every Hangul syllable is in exactly one file"
    assert "U+4" not in css and "U+6" not in css, "Latin letters must stay with the system font"


def test_svg_gets_its_letters_embedded_once():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg"><style>.b { font-weight: bold; }</style>'
           '<text font-family="NanumGothic">풀링 pooling</text></svg>')
    embedded = webfont.embed_font_in_svg(svg)
    fonts = re.findall(r"base64,([A-Za-z0-9+/=]+)", embedded)
    assert len(fonts) == 2, "regular and bold faces"
    assert set(TTFont(io.BytesIO(base64.b64decode(fonts[0]))).getBestCmap()) == {ord("풀"), ord("링")}
    assert webfont.embed_font_in_svg(embedded) == embedded
    assert webfont.strip_font_from_svg(embedded) == svg, "the next build restores the source exactly"
    assert webfont.embed_font_in_svg("<svg><text>pooling</text></svg>") == "<svg><text>pooling</text></svg>"
    with pytest.raises(ValueError, match="no <svg> element"):
        webfont.embed_font_in_svg("<html>한국어</html>")
