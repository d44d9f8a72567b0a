"""Each inline script once per page (book/_ext/page_scripts.py), in a small Sphinx build.

Sphinx 7.4 writes an inline script that an extension adds after the builder started twice;
sphinx-thebe's ``const THEBE_JS_URL`` declared twice throws on every page of the book. The
built site's browser log is checked by tests/test_site_browser.py; this checks the HTML.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parent.parent / "book" / "_ext"
sys.path.insert(0, str(EXT))
import page_scripts  # noqa: E402

pytest.importorskip("sphinx_thebe")
pytest.importorskip("sphinx_togglebutton")


def _build(root: Path, extensions: list[str]) -> str:
    src, out = root / "src", root / "out"
    src.mkdir(parents=True)
    (src / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(EXT)!r})\nextensions = {extensions!r}\n",
                                 encoding="utf-8")
    (src / "index.rst").write_text("Page\n====\n\nText.\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "-q", "-E", str(src), str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return (out / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_page_declares_thebe_and_togglebutton_settings_once(tmp_path):
    html = _build(tmp_path, ["sphinx_thebe", "sphinx_togglebutton", "page_scripts"])
    assert html.count("const THEBE_JS_URL") == 1, "sphinx-thebe's settings declared more than once"
    assert html.count("var togglebuttonSelector") == 1
    assert html.count("sphinx-thebe.js") == 1 and html.count("togglebutton.js") == 1


def test_unique_scripts_keeps_the_first_of_equal_scripts_in_order():
    from sphinx.builders.html._assets import _JavaScript

    inline_from_builder = _JavaScript(None, priority=500, body="const A = 1")
    inline_from_registry = _JavaScript("", priority=500, body="const A = 1")  # the same script
    other_body = _JavaScript("", priority=500, body="const B = 2")
    file = _JavaScript("_static/a.js", priority=500)
    file_async = _JavaScript("_static/a.js", priority=500, **{"async": "async"})
    scripts = [inline_from_builder, file, inline_from_registry, other_body, file_async, file]
    assert page_scripts.unique_scripts(scripts) == [inline_from_builder, file, other_body, file_async]
