"""With BOOK_REUSE_BUILD=1, the chapters are checked through the book build's execution, not run again.

The book build executes every chapter with ``allow_errors: false`` (a failing cell or assert fails
the build) and keeps each execution in its cache, ``_build/.jupyter_cache`` (jupyter-cache keys a
record on the code cells, so the Korean and English editions of a chapter share one). CI builds the
book first, then runs the tests with ``BOOK_REUSE_BUILD=1`` (see conftest.py): nbval then executes
nothing, and this module checks that what the build executed is what the tests would have run.
For every chapter in both languages, the cache must hold an execution of today's code cells that
ran every code cell without an error, made with today's companion package and installed versions
(the cache's fingerprint, tools/exec_cache.py), and the build must have rendered the chapter
(``_build/jupyter_execute/``). Without BOOK_REUSE_BUILD=1 these tests are skipped and nbval
executes the chapters itself.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("BOOK_BUILD_DIR", ROOT / "_build"))
CHAPTERS = sorted(ROOT.glob("notebooks/*/*.ipynb"))
REUSING = os.environ.get("BOOK_REUSE_BUILD", "0").strip() == "1"
reusing_the_build = pytest.mark.skipif(not REUSING, reason="BOOK_REUSE_BUILD is not 1: nbval executes the chapters")


def _exec_cache():
    spec = importlib.util.spec_from_file_location("exec_cache", ROOT / "tools" / "exec_cache.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def problems_with_execution(source: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> list[str]:
    """What keeps ``executed`` from standing for a run of ``source``'s code today (empty: nothing)."""
    code = [c for c in source.cells if c.cell_type == "code"]
    ran = [c for c in executed.cells if c.cell_type == "code"]
    if [c.source for c in code] != [c.source for c in ran]:
        return ["its code cells differ from the chapter's: the build is older than the chapter"]
    problems = []
    for index, cell in enumerate(ran):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            problems.append(f"code cell {index} raised {errors[0].get('ename')}: {errors[0].get('evalue', '')[:200]}")
        elif cell.get("execution_count") is None:
            problems.append(f"code cell {index} was not executed")
    return problems


@reusing_the_build
def test_the_build_ran_with_todays_package_and_versions():
    stamp = BUILD / ".jupyter_cache" / _exec_cache().STAMP
    assert stamp.exists(), f"{stamp} is missing: build the book first (bash tools/build_book.sh)"
    assert stamp.read_text(encoding="utf-8").strip() == _exec_cache().fingerprint(), (
        "the companion package, pyproject.toml or the installed versions changed since the book was built: "
        "run bash tools/build_book.sh again")


@reusing_the_build
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_build_executed_the_chapter_without_error(path):
    from jupyter_cache import get_cache

    rendered = BUILD / "jupyter_execute" / path.relative_to(ROOT)
    assert rendered.exists(), f"{rendered} is missing: build the book first (bash tools/build_book.sh)"
    source = nbformat.read(path, as_version=4)
    cache = get_cache(BUILD / ".jupyter_cache")
    try:
        record = cache.match_cache_notebook(source)
    except KeyError:
        pytest.fail(f"the execution cache holds no run of today's code of {path.relative_to(ROOT)}: "
                    "the build is older than the chapter, or its execution failed (bash tools/build_book.sh)")
    problems = problems_with_execution(source, cache.get_cache_bundle(record.pk).nb)
    assert not problems, f"{path.relative_to(ROOT)} (cached run {record.pk}): " + "; ".join(problems)


def _notebook(*cells: tuple[str, str]) -> nbformat.NotebookNode:
    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}
    return nbformat.v4.new_notebook(cells=[make[kind](text) for kind, text in cells])


def test_the_check_finds_a_stale_a_failed_and_an_unfinished_execution():
    """Each way an execution can fail to stand for today's chapter is reported (and a good one is not)."""
    source = _notebook(("markdown", "# A"), ("code", "x = 1"), ("code", "assert x == 1"))
    good = _notebook(("markdown", "# A, older prose"), ("code", "x = 1"), ("code", "assert x == 1"))
    for number, cell in enumerate(c for c in good.cells if c.cell_type == "code"):
        cell.execution_count = number + 1
    assert problems_with_execution(source, good) == []

    stale = nbformat.from_dict(good)
    stale.cells[1].source = "x = 2"
    assert "differ" in problems_with_execution(source, stale)[0]

    failed = nbformat.from_dict(good)
    failed.cells[2].outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="the claim", traceback=[])]
    assert problems_with_execution(source, failed) == ["code cell 1 raised AssertionError: the claim"]

    unfinished = nbformat.from_dict(good)
    unfinished.cells[2].execution_count = None
    assert problems_with_execution(source, unfinished) == ["code cell 1 was not executed"]
