"""The smoke mode (BOOK_SMOKE=1): the package helpers, tools/smoke.sh and its CI stage."""

from __future__ import annotations

import re
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


def test_ci_runs_the_smoke_stage():
    assert re.search(r"^stage smoke bash tools/smoke\.sh", (ROOT / ".ci/run").read_text(), re.M), (
        ".ci/run should run the smoke stage"
    )
