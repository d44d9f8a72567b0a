"""One home per idea: the package defines each training mechanism once, and the benchmarks and
chapters reach it through one path (capsnet_book.training.fit)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _definitions(name: str, paths: list[Path]) -> list[str]:
    """Where a function or method called ``name`` is defined, as ``file:line``."""
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _fit_calls(code: str) -> int:
    """Calls of a ``.fit(...)`` method (Keras' own) in ``code``."""
    return sum(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "fit"
               for n in ast.walk(ast.parse(code)))


PACKAGE = sorted((ROOT / "capsnet_book").glob("*.py"))


def test_the_package_defines_one_training_step_and_one_test_step():
    for step in ("train_step", "test_step"):
        where = _definitions(step, PACKAGE)
        assert len(where) == 1, f"{step} is defined at {where}: one model family's objective hook, not another step"


def test_only_the_training_module_calls_keras_fit():
    callers = [str(p.relative_to(ROOT)) for p in PACKAGE + sorted((ROOT / "benchmarks").glob("*.py"))
               if _fit_calls(p.read_text(encoding="utf-8")) and p.name != "training.py"]
    assert not callers, f"{callers} call Keras' fit themselves; train through capsnet_book.training.fit"


def test_no_chapter_calls_keras_fit_itself():
    for path in sorted((ROOT / "notebooks" / "en").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code"
                         and not "".join(c["source"]).lstrip().startswith(("%", "!", "import sys")))
        assert _fit_calls(code) == 0, f"{path.name} calls .fit(...) itself; use capsnet_book.training.fit"


def test_the_fit_finder_sees_a_fit_call():
    assert _fit_calls("model.fit(x, y)\nfit(model, batches, schedule)") == 1
