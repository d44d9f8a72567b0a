"""What the chapters import from the companion package is what the package exports.

Each chapter imports names (``from capsnet_book.cnn import train_classifier``) or modules
(``from capsnet_book import capsules`` then ``capsules.squash``). A reader who writes
``from capsnet_book.<module> import *`` in a notebook of their own must get every one of them.
"""

from __future__ import annotations

import ast
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
    assert {"capsules", "models", "data", "datasets", "training", "notebook"} <= set(USES), sorted(USES)


def test_every_model_builder_comes_from_models():
    """One public path for the builders: a chapter takes ``build_*`` from ``capsnet_book.models`` only."""
    elsewhere = {f"{module}.{name}" for module, names in USES.items() if module != "models"
                 for name in names if name.startswith("build_")}
    assert not elsewhere, f"the chapters take model builders from {sorted(elsewhere)}; import them from capsnet_book.models"


@pytest.mark.parametrize("module", sorted(USES))
def test_star_import_gives_every_name_the_chapters_use(module):
    namespace: dict = {}
    exec(f"from capsnet_book.{module} import *", namespace)
    missing = sorted(USES[module] - set(namespace))
    assert not missing, f"the chapters use capsnet_book.{module}.{missing}, which `import *` does not give"


def _chapter_code(path: Path) -> str:
    """The chapter's code cells as one module (IPython's ``%`` and ``!`` lines read as ``pass``)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return "\n".join(re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in code.splitlines())


def _chapter_tree(path: Path) -> ast.Module:
    return ast.parse(_chapter_code(path))


def name_problems(code: str) -> dict[str, list[str]]:
    """What pyflakes finds wrong with the names of ``code``: ``"undefined"`` (used but never defined
    or imported, e.g. a module left unimported) and ``"unused"`` (imported but never used)."""
    import io

    from pyflakes import api, reporter

    out = io.StringIO()
    api.check(code, "chapter", reporter.Reporter(out, out))
    lines = out.getvalue().splitlines()
    return {"undefined": sorted({line.split("undefined name ")[1] for line in lines if "undefined name" in line}),
            "unused": sorted({line.split(": ", 1)[1].split(" imported")[0] for line in lines if "imported but unused" in line})}


@pytest.mark.parametrize("path", sorted(ROOT.glob("notebooks/en/*.ipynb")), ids=lambda p: p.stem)
def test_a_chapter_defines_every_name_it_uses_and_uses_every_import(path):
    problems = name_problems(_chapter_code(path))
    assert not problems["undefined"], f"{path.name} uses {problems['undefined']} without importing or defining them"
    assert not problems["unused"], f"{path.name} imports {problems['unused']} and never uses them"


def test_the_name_check_finds_a_missing_and_an_unused_import():
    code = "import keras\nfrom capsnet_book import evaluate\ninvariance.accuracy(1)\nevaluate.accuracy(2)"
    assert name_problems(code) == {"undefined": ["'invariance'"], "unused": ["'keras'"]}


def missing_package_names(tree: ast.Module) -> list[str]:
    """``module.name`` and ``from module import name`` in code (not comments or strings) that the
    package does not have: what would fail only when the cell runs."""
    modules, missing = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "capsnet_book":
            for alias in node.names:
                modules[alias.asname or alias.name] = importlib.import_module(f"capsnet_book.{alias.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("capsnet_book."):
            found = importlib.import_module(node.module)
            missing += [f"{node.module}.{a.name}" for a in node.names if not hasattr(found, a.name)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            if not hasattr(modules[node.value.id], node.attr):
                missing.append(f"capsnet_book.{node.value.id}.{node.attr}")
    return sorted(set(missing))


@pytest.mark.parametrize("path", sorted(ROOT.glob("notebooks/en/*.ipynb")), ids=lambda p: p.stem)
def test_every_package_name_a_chapter_uses_exists(path):
    missing = missing_package_names(_chapter_tree(path))
    assert not missing, f"{path.name} uses {missing}, which the package does not have (moved or renamed?)"


def test_the_name_check_finds_a_moved_function():
    tree = ast.parse("from capsnet_book import invariance\nfrom capsnet_book.data import load_everything\n"
                     "invariance.accuracy_of_everything(1)\n# invariance.in_a_comment\n'invariance.in_a_string'")
    assert missing_package_names(tree) == ["capsnet_book.data.load_everything",
                                           "capsnet_book.invariance.accuracy_of_everything"]


SETUP_HEAD = "from capsnet_book.notebook import glue, setup\n\nbook = setup(SETTING, SEED)"


@pytest.mark.parametrize("path", sorted(ROOT.glob("notebooks/en/*.ipynb")), ids=lambda p: p.stem)
def test_setup_cells_are_short_and_one_idiom(path):
    """The first three code cells (install, setting and seed, Setup) stay short, the Setup in one idiom."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    first = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"][:3]
    lengths = [len(code.splitlines()) for code in first]
    assert max(lengths) <= 15, f"{path.name}: the first three code cells have {lengths} lines; at most 15 each"
    assert first[2].startswith(SETUP_HEAD), f"{path.name}: the Setup cell should start with {SETUP_HEAD!r}"
