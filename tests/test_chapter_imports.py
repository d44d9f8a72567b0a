"""What the chapters import from the companion package is what the package exports.

Each chapter imports names (``from capsnet_book.cnn import train_classifier``) or modules
(``from capsnet_book import capsules`` then ``capsules.squash``). A reader who writes
``from capsnet_book.<module> import *`` in a notebook of their own must get every one of them.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

from capsnet_book.notebook import quiet_logs

quiet_logs()

ROOT = Path(__file__).resolve().parent.parent


def chapter_uses() -> dict[str, set[str]]:
    """``{module: names the chapters take from it}``, read from the chapters' code cells."""
    uses: dict[str, set[str]] = {}
    for path in sorted(ROOT.glob("notebooks/*/*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for module, names in re.findall(r"^\s*from capsnet_book\.(\w+) import ([\w, ]+)", code, re.M):
            uses.setdefault(module, set()).update(n.strip() for n in names.split(",") if n.strip())
        for modules in re.findall(r"^\s*from capsnet_book import ([\w, ]+)", code, re.M):
            for module in (m.strip() for m in modules.split(",") if m.strip()):
                used = set(re.findall(rf"\b{module}\.([A-Za-z]\w*)", code))
                # Keep attributes only (drops text such as "compare.py" in a comment or a string).
                found = importlib.import_module(f"capsnet_book.{module}")
                uses.setdefault(module, set()).update(n for n in used if hasattr(found, n))
    return uses


USES = chapter_uses()


def test_the_chapters_import_from_the_package():
    assert {"capsules", "capsnet", "cnn", "models", "data", "notebook"} <= set(USES), sorted(USES)


@pytest.mark.parametrize("module", sorted(USES))
def test_star_import_gives_every_name_the_chapters_use(module):
    namespace: dict = {}
    exec(f"from capsnet_book.{module} import *", namespace)
    missing = sorted(USES[module] - set(namespace))
    assert not missing, f"the chapters use capsnet_book.{module}.{missing}, which `import *` does not give"
