"""tools/setup_env.sh's dependency modes, run against a stand-in environment.

The stand-in ``bin/python`` records every pip command instead of running it (and answers the
version check as told), so each mode's steps and exported settings are checked in a second,
without a network or an install. tools/dep_modes.py, which the script calls, is tested here too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import dep_modes  # noqa: E402


def fake_env(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "activate").write_text("")
    python = venv / "bin" / "python"
    python.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo "$*" >> "$FAKE_LOG"
        if [ "$1" = -m ] && [ "$2" = pip ]; then exit 0; fi
        if [ "$1" = tools/dep_modes.py ] && [ "$2" = check ]; then exit "${{FAKE_CHECK_RC:-0}}"; fi
        exec {sys.executable} "$@"
        """))
    python.chmod(0o755)
    return venv


def setup(tmp_path: Path, deps: str, **extra: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    venv = fake_env(tmp_path)
    log = tmp_path / "calls.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOK_")}
    env.update(BOOK_DEPS=deps, BOOK_VENV=str(venv), PYTHON=str(venv / "bin" / "python"), FAKE_LOG=str(log), **extra)
    result = subprocess.run(
        ["bash", "-c", "source tools/setup_env.sh >/dev/null && env | grep '^BOOK_' | sort"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    calls = log.read_text().splitlines() if log.exists() else []
    return result, [c for c in calls if c.startswith("-m pip") or c.startswith("tools/")]


def test_unknown_mode_is_refused_with_the_modes_it_knows(tmp_path):
    venv = tmp_path / "never"
    result = subprocess.run(["bash", "tools/setup_env.sh"], cwd=ROOT, capture_output=True, text=True, timeout=30,
                            env={**os.environ, "BOOK_DEPS": "colabb", "BOOK_VENV": str(venv)})
    assert result.returncode == 2
    assert "BOOK_DEPS must be one of pinned, latest, colab, minimum; not 'colabb'" in result.stderr
    assert not venv.exists(), "nothing is installed for an unknown mode"


def test_pinned_mode_installs_the_pins_and_hides_warnings(tmp_path):
    result, calls = setup(tmp_path, "pinned")
    assert result.returncode == 0, result.stderr
    assert "-m pip install -q -r requirements.txt -c constraints.txt" in calls
    assert "BOOK_SHOW_WARNINGS" not in result.stdout and "BOOK_TESTS" not in result.stdout


def test_colab_mode_installs_colab_versions_then_the_package_as_the_chapters_do(tmp_path):
    result, calls = setup(tmp_path, "colab")
    assert result.returncode == 0, result.stderr
    installs = [c for c in calls if c.startswith("-m pip install") and "--upgrade pip" not in c]
    assert installs[0].startswith("-m pip install -q -r ") and installs[0].endswith("colab-requirements.txt")
    assert installs[1] == "-m pip install -q .", "a plain install of the package: not editable, nothing upgraded"
    assert calls.index(installs[1]) < calls.index("tools/dep_modes.py check colab-versions.txt")
    assert "BOOK_SHOW_WARNINGS=1" in result.stdout and "BOOK_TESTS=package" in result.stdout
    requirements = (tmp_path / "venv" / "colab-requirements.txt").read_text()
    assert "tensorflow==2.20.0" in requirements.splitlines()


def test_colab_mode_fails_when_installing_the_package_changed_a_colab_version(tmp_path):
    result, _ = setup(tmp_path, "colab", FAKE_CHECK_RC="1")
    assert result.returncode != 0
    assert not (tmp_path / "venv" / ".book-installed").exists(), "a failed install is not stamped as done"


def test_minimum_mode_holds_every_dependency_at_its_lower_bound(tmp_path):
    result, calls = setup(tmp_path, "minimum")
    assert result.returncode == 0, result.stderr
    constraints = (tmp_path / "venv" / "minimum-constraints.txt").read_text().split()
    assert constraints == dep_modes.minimum_pins(ROOT / "pyproject.toml")
    install = [c for c in calls if "-c " in c]
    assert install and install[0].startswith(f"-m pip install -q -c {tmp_path / 'venv' / 'minimum-constraints.txt'} . ")
    assert "BOOK_SHOW_WARNINGS=1" in result.stdout and "BOOK_TESTS=package" in result.stdout


def test_colab_versions_file_names_its_source_and_date():
    versions = dep_modes.read_versions(ROOT / "colab-versions.txt")
    assert versions.source.startswith("https://github.com/googlecolab/backend-info/") and "pip-freeze" in versions.source
    assert versions.date[:4].isdigit() and versions.python.startswith("3.13")
    assert {"tensorflow", "keras", "numpy", "pandas", "matplotlib", "mlxtend"} <= set(versions.pins)
    assert not {"tensorflow", "keras", "numpy", "pandas", "matplotlib", "mlxtend"} & set(versions.assumed), \
        "the versions the source gives are not marked assumed"


def test_read_versions_rejects_what_it_does_not_understand(tmp_path):
    good = "# source: https://example.org/x\n# date: 2026-08\n# python: 3.13\n"
    for body, message in [("numpy>=2\n", "expected 'name==version"), ("numpy==1\nNumPy==2\n", "pinned twice")]:
        (tmp_path / "v.txt").write_text(good + body)
        with pytest.raises(ValueError, match=message):
            dep_modes.read_versions(tmp_path / "v.txt")
    (tmp_path / "v.txt").write_text("# date: 2026-08\nnumpy==2.1.3\n")
    with pytest.raises(ValueError, match="lacks source, python"):
        dep_modes.read_versions(tmp_path / "v.txt")


def test_version_check_names_what_changed(tmp_path):
    pins = {"numpy": "2.1.3", "keras": "3.13.2", "absent": "1.0"}
    installed = {"numpy": "2.1.3", "keras": "3.15.1"}
    assert dep_modes.installed_mismatches(pins, installed) == [
        "absent: 1.0 expected, not installed", "keras: 3.13.2 expected, 3.15.1 installed"]
    (tmp_path / "v.txt").write_text("# source: s\n# date: d\n# python: 3\npytest==0.0.1\n")
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "dep_modes.py"), "check", str(tmp_path / "v.txt")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "pytest: 0.0.1 expected" in result.stderr


def test_minimum_pins_need_a_lower_bound_for_every_dependency(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["numpy>=1.26.0", "pandas"]\n')
    with pytest.raises(ValueError, match="'pandas' has no '>=' lower bound"):
        dep_modes.minimum_pins(tmp_path / "pyproject.toml")


def test_every_library_the_package_imports_is_a_declared_dependency():
    """A library the package imports but pyproject.toml does not declare (pandas was one) would be
    missing from a fresh install and untested by the minimum mode."""
    import ast
    from importlib import metadata

    declared = {dep_modes.canonical(re.match(r"[A-Za-z0-9_.-]+", d).group(0))
                for d in dep_modes.project_dependencies(ROOT / "pyproject.toml")}
    providers = metadata.packages_distributions()
    missing = {}
    for path in sorted((ROOT / "capsnet_book").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        optional = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try)  # try: import x / except ImportError
                    if any("ImportError" in ast.dump(h.type or ast.Name("ImportError")) for h in t.handlers)
                    for stmt in t.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                     else [])
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "capsnet_book":
                    continue
                dists = {dep_modes.canonical(d) for d in providers.get(top, [top])}
                if not dists & declared:
                    missing.setdefault(top, path.name)
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
