"""Book checks: notebook hygiene, ko/en parity, table of contents, badges, configuration.

These read files only (fast). nbval executes the chapters themselves (see conftest.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import nbtool  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
CHAPTERS = sorted({p.name for p in nbtool.chapter_paths()})
NOTEBOOKS = nbtool.chapter_paths()


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _markdown(nb: dict) -> str:
    return "\n\n".join(nbtool.cell_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def _toc_files(node) -> list[str]:
    """Every `file:` entry of the table of contents, depth first, root first."""
    if isinstance(node, dict):
        found = [node["file"]] if "file" in node else []
        if "root" in node:
            found.append(node["root"])
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []):
                found += _toc_files(child)
        return found
    return []


def test_there_are_chapters_in_both_languages():
    assert CHAPTERS, "no notebooks under notebooks/ko or notebooks/en"
    for lang in nbtool.LANGUAGES:
        assert sorted(p.name for p in (ROOT / "notebooks" / lang).glob("*.ipynb")) == CHAPTERS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_has_no_outputs(path):
    nb = _load(path)
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
    assert not dirty, f"{path.name}: code cells {dirty} hold outputs; run `python tools/nbtool.py normalize`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_canonical_and_valid(path):
    text = path.read_text(encoding="utf-8")
    nbformat.validate(nbformat.reads(text, as_version=4))
    assert text == nbtool.dumps(nbtool.normalize(json.loads(text), path)), (
        f"{path} is not in canonical form; run `python tools/nbtool.py normalize`"
    )
    assert _load(path)["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", CHAPTERS)
def test_editions_have_identical_code(name):
    ko, en = (_load(ROOT / "notebooks" / lang / name) for lang in ("ko", "en"))
    ko_code, en_code = nbtool.code_cells(ko), nbtool.code_cells(en)
    assert len(ko_code) == len(en_code), f"{name}: {len(ko_code)} code cells in ko, {len(en_code)} in en"
    for i, (a, b) in enumerate(zip(ko_code, en_code)):
        assert a == b, f"{name}: code cell {i} differs between ko and en:\n{a[0][:300]}\n---\n{b[0][:300]}"


def test_parity_check_catches_a_difference(tmp_path):
    """The parity rule is real: one changed character in a code cell is reported."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 2")])
    assert nbtool.code_cells(nb) != nbtool.code_cells(other)
    assert nbtool.code_cells(nb) == nbtool.code_cells(nbformat.v4.new_notebook(cells=list(nb.cells)))


def test_toc_lists_every_notebook_and_every_entry_exists():
    listed = _toc_files(TOC)
    for entry in listed:
        matches = [p for p in (ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb")) if p.exists()]
        assert matches, f"_toc.yml lists {entry!r} but neither {entry}.md nor {entry}.ipynb exists"
    for path in NOTEBOOKS:
        entry = path.relative_to(ROOT).with_suffix("").as_posix()
        assert entry in listed, f"{entry} is not listed in _toc.yml"
    assert len(listed) == len(set(listed)), "_toc.yml lists a file twice"


def test_toc_orders_chapters_the_same_way_in_both_languages():
    """Each language's chapters sit in one numbered part, in file-name order, the same in both."""
    chapters = {}
    for part in TOC["parts"]:
        files = [c["file"] for c in part["chapters"]]
        for lang in nbtool.LANGUAGES:
            mine = [f.split("/")[-1] for f in files if f.startswith(f"notebooks/{lang}/")]
            if mine:
                assert lang not in chapters, f"the {lang} chapters are split over several parts"
                assert part.get("numbered") is True, f"the part holding the {lang} chapters must be numbered"
                assert len(mine) == len(files), f"part {part['caption']!r} mixes chapters with other pages"
                chapters[lang] = mine
    assert chapters["ko"] == chapters["en"] == sorted(chapters["ko"])


def _recorded_chapter_times(lang: str = "en") -> dict[str, tuple[float, float, float, float]]:
    """``{chapter: (seconds, x ref, longest cell seconds, x ref)}`` from book/<lang>/_chapter_times.md."""
    text = (ROOT / f"book/{lang}/_chapter_times.md").read_text(encoding="utf-8")
    row = r"^\| \d+\S* `(\w+)` \| (\d+) ?\S+ \| ([\d.]+) \| (\d+) ?\S+ \| ([\d.]+) \|$"
    return {name: tuple(float(v) for v in values) for name, *values in re.findall(row, text, re.M)}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_chapter_runs_well_inside_the_execution_timeout(lang):
    """The measured times (benchmarks/run_chapters.py --record) meet the quick setting's budgets, in
    seconds or in reference units, and the longest cell leaves a 5x margin under the build's per-cell
    timeout, so a machine several times slower still builds the book."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import run_chapters

    times = _recorded_chapter_times(lang)
    assert set(times) == {p.stem for p in (ROOT / "notebooks/en").glob("*.ipynb")}, \
        f"book/{lang}/_chapter_times.md should list every chapter: run benchmarks/run_chapters.py --record"
    ref = run_chapters.REFERENCE_S_WHEN_SET
    for name, (seconds, x_ref, cell, cell_x_ref) in times.items():
        assert seconds <= run_chapters.BUDGET_CHAPTER_S or x_ref <= run_chapters.BUDGET_CHAPTER_S / ref, name
        assert cell <= run_chapters.BUDGET_CELL_S or cell_x_ref <= run_chapters.BUDGET_CELL_S / ref, name
        assert 5 * cell <= CONFIG["execute"]["timeout"], f"{name}: a cell takes {cell:.0f} s; raise execute.timeout"
    text = (ROOT / f"book/{lang}/_chapter_times.md").read_text(encoding="utf-8")
    book = re.search(r"^\| [^`|]+ \| (\d+) ?\S+ \| ([\d.]+) \| \| \|$", text, re.M)
    assert book, f"book/{lang}/_chapter_times.md should end with the whole book's row"
    seconds, x_ref = float(book.group(1)), float(book.group(2))
    assert abs(seconds - sum(t[0] for t in times.values())) <= len(times), "the whole book's row is the chapters' sum"
    assert seconds <= run_chapters.BUDGET_BOOK_S or x_ref <= run_chapters.BUDGET_BOOK_S / ref, f"the book takes {seconds:.0f} s"


def test_every_citation_is_in_the_bibliography():
    bib = "\n".join((ROOT / path).read_text(encoding="utf-8") for path in CONFIG["bibtex_bibfiles"])
    defined = set(re.findall(r"^@\w+\{([^,]+),", bib, re.M))
    for path in NOTEBOOKS:
        for keys in re.findall(r"\{cite:[tp]\}`([^`]+)`", _markdown(_load(path))):
            missing = {key.strip() for key in keys.split(",")} - defined
            assert not missing, f"{path}: cites {sorted(missing)}, which {CONFIG['bibtex_bibfiles']} do not define"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_chapter_skeleton(path):
    """One H1 with the badge row under it, the Colab cell, parameters, >= 3 exercises, references."""
    nb = _load(path)
    lang, other = path.parent.name, "en" if path.parent.name == "ko" else "ko"
    first = nbtool.cell_source(nb["cells"][0])
    assert first.startswith("# "), f"{path.name}: the first cell must start with the chapter's H1"
    markdown = _markdown(nb)
    assert len(re.findall(r"^# ", markdown, flags=re.M)) == 1, f"{path}: exactly one H1 expected"
    repo, branch = CONFIG["repository"]["url"], CONFIG["repository"]["branch"]
    colab = f"https://colab.research.google.com/github/{repo.removeprefix('https://github.com/')}/blob/{branch}/notebooks/{lang}/{path.name}"
    assert colab in first, f"{path}: the badge row must link to Colab at {colab}"
    assert f"](../{other}/{path.name})" in first, f"{path}: the badge row must link to the {other} edition"
    code = [nbtool.cell_source(c) for c in nb["cells"] if c["cell_type"] == "code"]
    assert 'if "google.colab" in sys.modules:' in code[0], f"{path}: the first code cell installs on Colab only"
    install = f"git+{repo}@{branch}\""
    assert install in code[0], f"{path}: the Colab cell must install {install}; run `python tools/set_repository.py`"
    tags = [c.get("metadata", {}).get("tags", []) for c in nb["cells"] if c["cell_type"] == "code"]
    assert any("parameters" in t for t in tags), f"{path}: no parameters cell"
    exercises = re.findall(r"```\{exercise\}", markdown)
    solutions = re.findall(r"```\{solution\}", markdown)
    assert len(exercises) >= 3 and len(solutions) == len(exercises), f"{path}: >= 3 exercises, each with a solution"
    assert re.search(r"\{cite(:[pt])?\}`", markdown), f"{path}: cite at least one reference"


def test_every_cited_key_is_in_the_bibliography():
    bib = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, flags=re.M))
    sources = [_markdown(_load(p)) for p in NOTEBOOKS] + [p.read_text(encoding="utf-8") for p in (ROOT / "book").rglob("*.md")]
    cited = {k.strip() for text in sources for group in re.findall(r"\{cite(?::[pt])?\}`([^`]+)`", text) for k in group.split(",")}
    assert cited <= keys, f"cited but not in references.bib: {sorted(cited - keys)}"


def _run_nbval(notebook: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
         "--nbval-lax", "--nbval-current-env", "--rootdir", str(notebook.parent), str(notebook)],
        capture_output=True, text=True, timeout=300, cwd=notebook.parent,
    )


@pytest.mark.slow
def test_nbval_fails_on_a_broken_notebook(tmp_path):
    """The test command catches a chapter that raises, and a checked output that changed."""
    good = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 21 * 2"),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(x)", execution_count=2, outputs=[nbformat.v4.new_output("stream", text="42\n")]),
    ])
    broken = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 21 * 2"),
        nbformat.v4.new_code_cell(textwrap.dedent("""\
            assert x == 43, "the chapter's claim does not hold"
        """)),
    ])
    drifted = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(41)", execution_count=1, outputs=[nbformat.v4.new_output("stream", text="42\n")]),
    ])
    for name, nb in (("good", good), ("broken", broken), ("drifted", drifted)):
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    assert _run_nbval(tmp_path / "good.ipynb").returncode == 0
    result = _run_nbval(tmp_path / "broken.ipynb")
    assert result.returncode == 1 and "the chapter's claim does not hold" in result.stdout
    assert _run_nbval(tmp_path / "drifted.ipynb").returncode == 1


def test_glossary_pages_are_generated_from_the_yaml():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "make_glossary.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_glossary_terms_appear_in_the_korean_chapters():
    """The glossary's Korean words are the ones the chapters actually use (one word per idea)."""
    entries = yaml.safe_load((ROOT / "book" / "glossary.yml").read_text(encoding="utf-8"))
    korean_text = "\n".join(_markdown(_load(p)) for p in NOTEBOOKS if p.parent.name == "ko")
    korean_text += re.sub(r"\([^)]*\)", "", korean_text)  # 군(그룹) 등변 CNN is also 군 등변 CNN
    missing = []
    for entry in entries:
        for word in re.split(r",\s*|\s*/\s*", re.sub(r"\([^)]*\)", "", entry["ko"])):
            if word.strip() and word.strip() not in korean_text:
                missing.append(word.strip())
    assert not missing, f"glossary terms no chapter uses: {missing}"
