"""No internal link of the built site is broken. Needs only the built site, no browser.

Uses ``_build/html`` when it is newer than every source of the book, else builds it first (as
the browser test does); ``BOOK_SITE=path`` tests a site built elsewhere, as it is. Skipped, with
the reason, only where there is no up-to-date site and no jupyter-book to build one.
"""

from __future__ import annotations

import html.parser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from built_site import built_site


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site()


class Links(html.parser.HTMLParser):
    """The ``href`` / ``src`` of every ``a``, ``img``, ``link`` and ``script`` on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("href", "src"):
            if tag in ("a", "img", "link", "script") and attrs.get(key):
                self.links.append(attrs[key])


def broken_links(site: Path) -> list[str]:
    """``page -> link`` for every relative link whose file is not in ``site``."""
    broken = []
    for page in site.rglob("*.html"):
        if "_static" in page.parts:
            continue
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("#", "mailto:", "data:", "javascript:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if parts.path and not target.exists():
                broken.append(f"{page.relative_to(site)} -> {link}")
    return sorted(set(broken))


def test_no_internal_link_is_broken(site):
    broken = broken_links(site)
    assert not broken, "broken internal links:\n" + "\n".join(broken[:30])


def test_the_checker_finds_a_broken_link(tmp_path):
    """The check above would pass on any site if the checker found nothing."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "there.png").write_bytes(b"")
    (tmp_path / "sub" / "page.html").write_text(
        '<a href="../there.png">ok</a> <img src="../missing%20file.png"> <a href="#top">anchor</a>'
        ' <a href="https://example.org/x">external</a> <script src="gone.js"></script>')
    assert broken_links(tmp_path) == ["sub/page.html -> ../missing%20file.png", "sub/page.html -> gone.js"]
