"""Which notebooks nbval executes.

The Korean and English editions of a chapter have identical code cells (source and metadata,
in the same order): tests/test_book.py::test_editions_have_identical_code enforces it. Markdown
cells execute nothing, and the book build (-W) checks every glue reference in both editions.
So executing one edition runs exactly the code of both, and by default nbval runs the English
one. Set BOOK_NBVAL_LANGS=ko,en to execute both anyway.
"""

import os

_LANGS = {lang.strip() for lang in os.environ.get("BOOK_NBVAL_LANGS", "en").split(",") if lang.strip()}
_UNKNOWN = _LANGS - {"ko", "en"}
if _UNKNOWN:
    raise ValueError(f"BOOK_NBVAL_LANGS has unknown language(s) {sorted(_UNKNOWN)}; use 'ko', 'en' or 'ko,en'.")

collect_ignore_glob = [f"notebooks/{lang}/*.ipynb" for lang in ("ko", "en") if lang not in _LANGS]
collect_ignore_glob += ["_build/*", ".venv/*", "notebooks/**/.ipynb_checkpoints/*"]
