"""quiet_logs keeps deprecation and future warnings off the pages, unless BOOK_SHOW_WARNINGS=1.

Each case runs in a fresh Python (warning filters are global), with a stand-in module for
TensorFlow so that quiet_logs does not spend seconds importing the real one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from capsnet_book import notebook

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """
import sys, types, warnings
sys.modules["tensorflow"] = types.ModuleType("tensorflow")
from capsnet_book import notebook
notebook.quiet_logs()
warnings.warn("old API", DeprecationWarning)
warnings.warn("will change", FutureWarning)
warnings.warn("about oneDNN custom operations", UserWarning)
print("done")
"""


def run(show: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("BOOK_SHOW_WARNINGS", "PYTHONWARNINGS")}
    if show is not None:
        env["BOOK_SHOW_WARNINGS"] = show
    # -W default: show DeprecationWarning from __main__ too, as a notebook cell shows it.
    return subprocess.run([sys.executable, "-W", "default", "-c", SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("show", [None, "0"])
def test_warnings_are_hidden_by_default(show):
    result = run(show)
    assert result.returncode == 0, result.stderr
    assert "old API" not in result.stderr and "will change" not in result.stderr
    assert "oneDNN" not in result.stderr


@pytest.mark.parametrize("show", ["1", "true"])
def test_book_show_warnings_lets_them_through(show):
    result = run(show)
    assert result.returncode == 0, result.stderr
    assert "DeprecationWarning: old API" in result.stderr
    assert "FutureWarning: will change" in result.stderr
    assert "oneDNN" not in result.stderr, "start-up noise stays silenced either way"


def test_warnings_shown_reads_the_environment(monkeypatch):
    monkeypatch.setenv("BOOK_SHOW_WARNINGS", "1")
    assert notebook.warnings_shown()
    monkeypatch.setenv("BOOK_SHOW_WARNINGS", "0")
    assert not notebook.warnings_shown()

