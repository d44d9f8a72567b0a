"""How a recorded result was made: command, commit, date, versions, machine and a code hash.

Used by the benchmark scripts that write ``capsnet_book/results/*.json``. ``harness`` is the list
of files (relative to the repository root) whose code the numbers depend on; its SHA-256 lets
``tests/test_recorded_results.py`` fail when that code changes after the numbers were made.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def harness_hash(harness: list[str]) -> str:
    """SHA-256 over the harness files' names and contents, in the given order."""
    digest = hashlib.sha256()
    for name in harness:
        digest.update(name.encode())
        digest.update((ROOT / name).read_bytes())
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
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"python": platform.python_version(), "tensorflow": tensorflow.__version__,
                     "keras": keras.__version__, "numpy": numpy.__version__},
        "machine": f"{_cpu_model()}, {os.cpu_count()} CPU cores, {platform.system()} {platform.machine()}",
        "wall_seconds": round(seconds, 1),
    }
