"""How a recorded result was made: command, commit, date, versions, machine and a code hash.

Used by every benchmark script that writes ``capsnet_book/results/*.json``: :func:`write_result`
writes a result file with its provenance block, and :func:`save_stored_models` the float16
weights of trained models beside it. ``harness`` is the list
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
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "capsnet_book" / "results"


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


def write_result(path: Path, script: str, argv: list[str], harness: list[str], started: float,
                 sections: dict[str, Any]) -> dict:
    """Write a result file: the provenance block (timed from ``started``, a ``time.perf_counter()``
    value) and then ``sections``, as indented JSON. Returns what was written."""
    output = {"provenance": provenance(script, argv, harness, time.perf_counter() - started), **sections}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(output, indent=1) + "\n", encoding="utf-8")
    return output


def float16_weights(model: Any) -> list:
    """``model``'s weights rounded to float16, as they are stored; the model is set to the rounded
    values, so that what it scores next is what ships."""
    import numpy as np

    weights = [w.astype(np.float16) for w in model.get_weights()]
    model.set_weights([w.astype(np.float32) for w in weights])
    return weights


def save_stored_models(script: str, argv: list[str], harness: list[str], started: float, *, source: str,
                       seed: int, weights: dict[str, list], models: dict[str, dict]) -> None:
    """Write ``capsnet_book/results/<script>.npz`` (keys ``"<model>/000"``, ... in ``get_weights()``
    order) and ``<script>.json`` (provenance, the protocol they come from, and ``models``: what was
    measured of each), as :mod:`capsnet_book.stored_weights` reads them."""
    import numpy as np

    stem = Path(script).stem
    npz = RESULTS / f"{stem}.npz"
    np.savez_compressed(npz, **{f"{name}/{i:03d}": w for name, ws in weights.items() for i, w in enumerate(ws)})
    protocol = {"source": source, "seed": seed, "dtype": "float16", "weights_file": npz.name,
                "weights_bytes": npz.stat().st_size}
    output = write_result(RESULTS / f"{stem}.json", script, argv, harness, started,
                          {"protocol": protocol, "models": models})
    print(f"wrote {npz} ({npz.stat().st_size / 1e6:.1f} MB) and {stem}.json in "
          f"{output['provenance']['wall_seconds']:.0f} s")
