"""The smoke mode (BOOK_SMOKE=1): the package helpers, tools/smoke.sh and its CI stage."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from capsnet_book import notebook

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False), ("", False)])
def test_smoke_run_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("BOOK_SMOKE", value)
    assert notebook.smoke_run() is expected


def test_size_is_the_settings_value_unless_smoke(monkeypatch):
    monkeypatch.delenv("BOOK_SMOKE", raising=False)
    assert notebook.size(60_000, smoke=256) == 60_000 and notebook.size(None, smoke=200) is None
    monkeypatch.setenv("BOOK_SMOKE", "1")
    assert notebook.size(60_000, smoke=256) == 256 and notebook.size(None, smoke=200) == 200


def test_check_setting_announces_a_smoke_run(monkeypatch, capsys):
    monkeypatch.setenv("BOOK_SMOKE", "1")
    assert notebook.check_setting("paper") == "paper"
    assert "Smoke run (BOOK_SMOKE=1): the paper setting" in capsys.readouterr().out
    monkeypatch.setenv("BOOK_SMOKE", "0")
    notebook.check_setting("paper")
    assert capsys.readouterr().out == ""


def _smoke_chapters() -> list[str]:
    match = re.search(r"^SMOKE_CHAPTERS=\(([^)]*)\)", (ROOT / "tools/smoke.sh").read_text(), re.M)
    assert match, "tools/smoke.sh should list its chapters in SMOKE_CHAPTERS=(...)"
    return match.group(1).split()


def test_smoke_chapters_exist():
    for chapter in _smoke_chapters():
        found = list((ROOT / "notebooks/en").glob(f"{chapter}_*.ipynb"))
        assert len(found) == 1, f"tools/smoke.sh lists chapter {chapter}, which notebooks/en/ does not hold"


CI_RUN = ROOT / ".ci/run"


def test_ci_runs_the_tests_and_the_smoke_run_of_every_listed_chapter(tmp_path):
    """Run .ci/run with every command it starts replaced by a stub that records its arguments."""
    stubs, log = tmp_path / "bin", tmp_path / "calls.log"
    stubs.mkdir()
    for name in ("bash", "chromium", "chromedriver", "apt-get", "python", "jupyter-book"):
        (stubs / name).write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n'
                                  f'echo "{name} $* reuse=$BOOK_REUSE_BUILD" >> "{log}.env"\n')
        (stubs / name).chmod(0o755)
    result = subprocess.run(["/bin/bash", str(CI_RUN)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr
    calls = [line.split()[1:] for line in log.read_text().splitlines() if line.startswith("bash ")]
    scripts = [call[0] for call in calls if call]
    assert "tools/test.sh" in scripts, f".ci/run should run the tests; it ran {scripts}"
    # The tests reuse the book stage's execution of the chapters instead of running them again.
    assert "bash tools/test.sh -ra reuse=1" in Path(f"{log}.env").read_text().splitlines()
    smoke = [call for call in calls if call and call[0] == "tools/smoke.sh"]
    assert smoke, f".ci/run should run the smoke stage; it ran {scripts}"
    # With no chapter named, tools/smoke.sh runs every chapter in SMOKE_CHAPTERS.
    assert all(arg.startswith("-") for arg in smoke[0][1:]), smoke[0]
    assert not any(line.startswith("apt-get") for line in log.read_text().splitlines())
