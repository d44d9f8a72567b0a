"""How a recorded result was made: command, commit, date, versions, machine and a code hash.

Used by the benchmark scripts that write ``capsnet_book/results/*.json``. ``harness`` is the list
of files (relative to the repository root) whose code the numbers depend on; its SHA-256 lets
``tests/test_recorded_results.py`` fail when that code changes after the numbers were made.

The hash is keyed to what computes the numbers, not to how the code is written down: a Python file
counts by its syntax tree with docstrings removed (:func:`code_fingerprint`), so a comment, a
docstring or a reformatted line leaves a recorded run current, while any change to a statement,
name, constant or argument makes it stale.
"""

from __future__ import annotations

import ast
import datetime
import hashlib
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


HASH_METHOD = "sha256 of names and Python syntax trees without docstrings"


def _without_docstrings(tree: ast.AST) -> ast.AST:
    """``tree`` with the docstring of every module, class and function taken out (in place)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def code_fingerprint(path: Path) -> bytes:
    """What of one file the recorded numbers depend on.

    A Python file: its syntax tree without docstrings, positions or comments (``ast.dump``), so only
    a change in what the code does changes it. Any other file: its bytes.
    """
    if path.suffix != ".py":
        return path.read_bytes()
    tree = _without_docstrings(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return ast.dump(tree, include_attributes=False).encode()


def harness_hash(harness: list[str], root: Path = ROOT) -> str:
    """SHA-256 over the harness files' names and :func:`code_fingerprint`, in the given order."""
    digest = hashlib.sha256()
    for name in harness:
        digest.update(name.encode() + b"\0")
        digest.update(code_fingerprint(root / name) + b"\0")
    return digest.hexdigest()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def provenance(script: str, argv: list[str], harness: list[str], seconds: float) -> dict:
    """The provenance block of a result file made by ``benchmarks/<script>`` with ``argv``."""
    import keras
    import numpy
    import tensorflow

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", *harness], cwd=ROOT,
                                    capture_output=True, text=True).stdout.strip())
    except OSError:
        commit, dirty = "unknown", True
    return {
        "command": f"python benchmarks/{script} " + " ".join(argv),
        "commit": commit, "harness_uncommitted_changes": dirty, "harness_sha256": harness_hash(harness),
        "harness_hash_method": HASH_METHOD,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"python": platform.python_version(), "tensorflow": tensorflow.__version__,
                     "keras": keras.__version__, "numpy": numpy.__version__},
        "machine": f"{_cpu_model()}, {os.cpu_count()} CPU cores, {platform.system()} {platform.machine()}",
        "wall_seconds": round(seconds, 1),
    }
