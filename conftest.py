"""Which notebooks nbval executes.

The Korean and English editions of a chapter have identical code cells (source and metadata,
in the same order): tests/test_book.py::test_editions_have_identical_code enforces it. Markdown
cells execute nothing, and the book build (-W) checks every glue reference in both editions.
So executing one edition runs exactly the code of both, and by default nbval runs the English
one. Set BOOK_NBVAL_LANGS=ko,en to execute both anyway.

BOOK_REUSE_BUILD=1 (set by .ci/run, after its book stage) executes no chapter here: the book build
has just executed every chapter (allow_errors: false, so a failing cell or assert fails it), and
tests/test_executed_chapters.py checks that the build's executed copies are those of today's code
and package, with every cell run and no error. So CI executes each chapter once.

BOOK_TESTS=package (set by tools/setup_env.sh for BOOK_DEPS=colab and minimum, whose environments
hold the package but not the site's toolchain) keeps the package's doctests, the test modules
that import capsnet_book, and the chapters; it leaves out the book checks.
"""

import os
import re
from pathlib import Path

_LANGS = {lang.strip() for lang in os.environ.get("BOOK_NBVAL_LANGS", "en").split(",") if lang.strip()}
_UNKNOWN = _LANGS - {"ko", "en"}
if _UNKNOWN:
    raise ValueError(f"BOOK_NBVAL_LANGS has unknown language(s) {sorted(_UNKNOWN)}; use 'ko', 'en' or 'ko,en'.")

collect_ignore_glob = [f"notebooks/{lang}/*.ipynb" for lang in ("ko", "en") if lang not in _LANGS]
_REUSE = os.environ.get("BOOK_REUSE_BUILD", "0").strip()
if _REUSE not in ("0", "1", ""):
    raise ValueError(f"BOOK_REUSE_BUILD={_REUSE!r}; use 1 (check the book build's executions) or 0 (nbval runs them).")
if _REUSE == "1":
    collect_ignore_glob += ["notebooks/*/*.ipynb"]
_SCOPE = os.environ.get("BOOK_TESTS", "all")
if _SCOPE not in ("all", "package"):
    raise ValueError(f"BOOK_TESTS={_SCOPE!r}; use 'all' (the default) or 'package'.")
if _SCOPE == "package":
    _IMPORTS_PACKAGE = re.compile(r"^\s*(from|import)\s+capsnet_book\b", re.M)
    collect_ignore = [
        str(path.relative_to(Path(__file__).parent))
        for path in sorted(Path(__file__).parent.glob("tests/test_*.py"))
        if not _IMPORTS_PACKAGE.search(path.read_text(encoding="utf-8"))
    ]
collect_ignore_glob += [".venv-*/*", "build/*", "_build/*", ".venv/*", "notebooks/**/.ipynb_checkpoints/*"]
