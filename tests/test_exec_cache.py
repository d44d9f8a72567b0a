"""The execution cache is emptied when the companion package changes (tools/exec_cache.py).

jupyter-cache keys on code cells only; these checks run the guard on a temporary copy of the
package and a stand-in cache folder, not a book build.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import exec_cache  # noqa: E402

INSTALLED = ["keras==3.15.1", "numpy==2.4.6"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the package and pyproject.toml, and a cache holding one executed notebook."""
    shutil.copytree(ROOT / "capsnet_book", tmp_path / "capsnet_book", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def fill(cache: Path) -> Path:
    record = cache / "executed" / "abc" / "base.ipynb"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text("{}")
    return record


def test_unchanged_package_keeps_the_cache(project):
    cache = project / "_build" / ".jupyter_cache"
    assert exec_cache.guard(cache, exec_cache.fingerprint(project, INSTALLED)) is False  # nothing there yet: nothing cleared
    record = fill(cache)
    assert exec_cache.guard(cache, exec_cache.fingerprint(project, INSTALLED)) is False
    assert record.exists()


@pytest.mark.parametrize("change", ["edit a module", "add a module", "pyproject", "installed versions"])
def test_a_change_in_the_package_clears_the_cache(project, change):
    cache = project / "_build" / ".jupyter_cache"
    exec_cache.guard(cache, exec_cache.fingerprint(project, INSTALLED))
    record = fill(cache)
    installed = INSTALLED
    if change == "edit a module":
        module = project / "capsnet_book" / "transforms.py"
        module.write_text(module.read_text() + "\n# a changed line\n")
    elif change == "add a module":
        (project / "capsnet_book" / "extra.py").write_text("X = 1\n")
    elif change == "pyproject":
        (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text() + "\n")
    else:
        installed = ["keras==3.16.0", "numpy==2.4.6"]
    assert exec_cache.guard(cache, exec_cache.fingerprint(project, installed)) is True
    assert not record.exists(), "outputs computed by the old package must not be served"
    assert (cache / exec_cache.STAMP).read_text().strip() == exec_cache.fingerprint(project, installed)


def test_a_cache_without_a_recorded_fingerprint_is_cleared(project):
    """A cache from before the guard existed (or restored from elsewhere) cannot be trusted."""
    cache = project / ".jupyter_cache"
    record = fill(cache)
    assert exec_cache.guard(cache, exec_cache.fingerprint(project, INSTALLED)) is True
    assert not record.exists()


def test_build_script_guards_the_cache_before_building():
    lines = (ROOT / "tools" / "build_book.sh").read_text().splitlines()
    guard = next(i for i, line in enumerate(lines) if line.startswith("python tools/exec_cache.py"))
    build = next(i for i, line in enumerate(lines) if line.startswith("jupyter-book build"))
    assert guard < build and "_build/.jupyter_cache" in lines[guard]


def test_workflow_restores_only_caches_of_the_same_package():
    """The restore-keys prefix must pin the package's hash: a cache of another package never comes back."""
    steps = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())["jobs"]["build"]["steps"]
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))["with"]
    assert cache["path"] == "_build/.jupyter_cache"
    restore = [k for k in str(cache.get("restore-keys", "")).splitlines() if k.strip()]
    for key in [cache["key"], *restore]:
        assert "hashFiles('capsnet_book/**/*.py'" in key and "pyproject.toml" in key, key
    for prefix in restore:
        assert cache["key"].startswith(prefix.strip()), prefix


def test_a_cleared_cache_also_makes_sphinx_read_every_chapter_again(tmp_path, monkeypatch):
    """Sphinx re-reads only changed sources: its saved environment must go with the cache."""
    cache = tmp_path / "_build" / ".jupyter_cache"
    doctrees = tmp_path / "_build" / ".doctrees"
    cache.mkdir(parents=True)
    doctrees.mkdir()
    (doctrees / "environment.pickle").write_bytes(b"old")
    (cache / exec_cache.STAMP).write_text("another package\n", encoding="utf-8")
    monkeypatch.setattr(exec_cache, "fingerprint", lambda: "this package")
    exec_cache.main([str(cache)])
    assert not doctrees.exists(), "outputs read from the old package would be served again"
    exec_cache.main([str(cache)])  # unchanged now: nothing is cleared
    assert (cache / exec_cache.STAMP).read_text(encoding="utf-8").strip() == "this package"
