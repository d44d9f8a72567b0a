"""Notebook hygiene for the book: strip outputs, canonical JSON, stable ids, parity.

    python tools/nbtool.py normalize [NOTEBOOK ...]   # rewrite in place (all chapters if none)
    python tools/nbtool.py check                      # exit 1 and say why if any rule fails

The rules (also enforced by tests/test_book.py):
  * no outputs and no execution counts are committed;
  * every cell has an id, kept once given; the kernelspec is ``python3``;
  * notebooks/ko/X.ipynb and notebooks/en/X.ipynb have identical code cells
    (source and metadata), in the same order;
  * every cell carries slide metadata (``metadata.slideshow.slide_type``) for the slide decks
    that tools/slides.py exports. normalize fills it in by rule where a cell has none: an H1/H2
    starts a slide, other prose and code go on vertical sub-slides, set-up cells are skipped.
    Set it by hand on a cell to override the rule.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
LANGUAGES = ("ko", "en")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def code_cells(nb: dict) -> list[tuple[str, dict]]:
    """``(source, metadata)`` of each code cell, in order: what the two editions must share."""
    return [(cell_source(c), c.get("metadata", {})) for c in nb["cells"] if c["cell_type"] == "code"]


def chapter_paths() -> list[Path]:
    return sorted(p for lang in LANGUAGES for p in (NOTEBOOK_DIR / lang).glob("*.ipynb"))


def _stable_id(path: Path, index: int, cell: dict) -> str:
    digest = hashlib.sha1(f"{path.name}:{index}:{cell_source(cell)}".encode()).hexdigest()
    return digest[:12]


SETUP_MARKERS = ('"google.colab" in sys.modules', "book = setup(", "# The sizes of this chapter's experiments")


def slide_type(cell: dict) -> str:
    """The slide type a cell gets by rule (code cells: from their own source only, so both
    editions get the same metadata)."""
    source = cell_source(cell).lstrip()
    if cell["cell_type"] == "code":
        tags = cell.get("metadata", {}).get("tags", [])
        setup = "parameters" in tags or any(marker in source for marker in SETUP_MARKERS)
        return "skip" if setup else "subslide"
    if source.startswith(("# ", "## ")):
        return "slide"
    return "subslide"


def normalize(nb: dict, path: Path) -> dict:
    """Strip outputs, keep or give ids, set the kernelspec; returns the same dict."""
    for index, cell in enumerate(nb["cells"]):
        cell.setdefault("id", _stable_id(path, index, cell))
        cell.setdefault("metadata", {})
        cell["source"] = cell_source(cell)
        cell["metadata"].setdefault("slideshow", {"slide_type": slide_type(cell)})
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            for volatile in ("execution", "collapsed", "scrolled"):
                cell["metadata"].pop(volatile, None)
    nb["metadata"] = {
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
        **{k: v for k, v in nb.get("metadata", {}).items() if k not in ("kernelspec", "language_info", "widgets")},
    }
    nb["nbformat"], nb["nbformat_minor"] = 4, 5
    return nb


def dumps(nb: dict) -> str:
    """Canonical JSON: sorted keys, one-space indent, UTF-8 text, final newline."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def problems() -> list[str]:
    """Every rule that does not hold, one line each (empty when all is well)."""
    found = []
    for path in chapter_paths():
        text = path.read_text(encoding="utf-8")
        nb = json.loads(text)
        rel = path.relative_to(ROOT)
        if any(c.get("outputs") or c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code"):
            found.append(f"{rel}: outputs committed (run `python tools/nbtool.py normalize`)")
        if text != dumps(normalize(json.loads(text), path)):
            found.append(f"{rel}: not in canonical form (run `python tools/nbtool.py normalize`)")
        other = NOTEBOOK_DIR / ("en" if path.parent.name == "ko" else "ko") / path.name
        if not other.exists():
            found.append(f"{rel}: no edition in the other language at {other.relative_to(ROOT)}")
        elif path.parent.name == "ko" and code_cells(nb) != code_cells(json.loads(other.read_text(encoding="utf-8"))):
            found.append(f"{rel} and {other.relative_to(ROOT)}: code cells differ")
    return found


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("normalize", "check"):
        print(__doc__)
        return 2
    if argv[0] == "normalize":
        for path in [Path(p) for p in argv[1:]] or chapter_paths():
            nb = json.loads(path.read_text(encoding="utf-8"))
            path.write_text(dumps(normalize(nb, path)), encoding="utf-8")
        return 0
    found = problems()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
