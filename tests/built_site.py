"""The built site the site tests read: ``_build/html``, rebuilt first when a source is newer.

``BOOK_SITE=path`` tests a site built elsewhere, as it is. Shared by the link test (no browser)
and the browser test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("BOOK_SITE", ROOT / "_build" / "html"))


def newest_source_mtime() -> float:
    """When the book's newest source (config, chapters, pages, figures, styles) last changed."""
    paths = [ROOT / "_config.yml", ROOT / "_toc.yml", *ROOT.glob("notebooks/*/*.ipynb"),
             *ROOT.glob("book/**/*"), *ROOT.glob("images/*"), *ROOT.glob("_static/**/*")]
    return max(p.stat().st_mtime for p in paths if p.is_file())


def built_site() -> Path:
    """The site folder, built with ``-W`` first if it is missing or older than the sources.

    Skips the calling test (with the reason) when a build is needed and this environment has no
    jupyter-book; fails it when the build fails.
    """
    index = SITE / "index.html"
    if "BOOK_SITE" in os.environ:
        assert index.exists(), f"BOOK_SITE={SITE} holds no built site"
    elif not index.exists() or index.stat().st_mtime < newest_source_mtime():
        jupyter_book = Path(sys.executable).with_name("jupyter-book")
        if not jupyter_book.exists():
            pytest.skip(f"{SITE} is missing or older than the sources, and this environment has no jupyter-book")
        result = subprocess.run([str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"],
                                cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, f"the book build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return SITE
