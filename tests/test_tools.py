"""The authoring tools: notebook normalisation, slide metadata, slide markdown, page language."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import bilingual  # noqa: E402
import nbtool  # noqa: E402
import slides  # noqa: E402


def _notebook() -> dict:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\n\nbadges"),
        nbformat.v4.new_code_cell('import sys\n\nif "google.colab" in sys.modules:\n    pass'),
        nbformat.v4.new_code_cell("SEED = 0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_markdown_cell("## Section"),
        nbformat.v4.new_markdown_cell("Some prose."),
        nbformat.v4.new_code_cell("x = 1", outputs=[nbformat.v4.new_output("stream", text="1\n")], execution_count=3),
    ])
    return nbformat.from_dict(nb)


def test_normalize_strips_outputs_and_sets_slides_by_rule():
    nb = nbtool.normalize(_notebook(), Path("x.ipynb"))
    types = [c["metadata"]["slideshow"]["slide_type"] for c in nb["cells"]]
    assert types == ["slide", "skip", "skip", "slide", "subslide", "subslide"]
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert all(c["id"] for c in nb["cells"])
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_normalize_is_idempotent_and_keeps_manual_slide_types():
    nb = _notebook()
    nb["cells"][4]["metadata"]["slideshow"] = {"slide_type": "fragment"}
    once = nbtool.dumps(nbtool.normalize(nb, Path("x.ipynb")))
    twice = nbtool.dumps(nbtool.normalize(nbformat.reads(once, as_version=4), Path("x.ipynb")))
    assert once == twice and '"fragment"' in once


def test_slide_markdown_fills_glue_hides_solutions_and_names_citations():
    text = (
        "Error {glue:text}`err:.1e` and {glue}`n`, see {cite:t}`sabour2017dynamic`.\n\n"
        "```{exercise}\n:label: en-01-ex\n\nDo this.\n```\n\n"
        "```{solution} en-01-ex\n:class: dropdown\n\nSecret.\n```\n\n"
        "```{glue:figure} fig_x\n:name: fig-en-x\n\nThe caption.\n```\n"
    )
    out = slides.to_slide_markdown(text, {"err": 0.000123, "n": 7})
    assert "Error 1.2e-04 and 7" in out
    assert "(Sabour et al. 2017)" in out
    assert "Do this." in out and "Secret." not in out and ":label:" not in out
    assert "*The caption.*" in out


def test_glued_values_reads_myst_nb_records():
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "metadata": {"scrapbook": {"name": "acc", "mime_prefix": ""}},
         "data": {"text/plain": "0.975"}},
        {"output_type": "display_data", "metadata": {"scrapbook": {"name": "n", "mime_prefix": ""}},
         "data": {"text/plain": "4000"}},
    ]}]}
    assert slides.glued_values(nb) == {"acc": 0.975, "n": 4000}


def test_page_language():
    assert bilingual.page_language("notebooks/ko/01_convolution_equivariance") == "ko"
    assert bilingual.page_language("book/ko/intro") == "ko"
    assert bilingual.page_language("notebooks/en/01_convolution_equivariance") == "en"
    assert bilingual.page_language("book/index") == "en"


def test_korean_pages_get_korean_labels():
    html = ('<span class="caption-number">Fig. 1.2 </span> see <span class="std std-numref">Fig. 1.2</span>'
            '<span class="caption-number">Exercise 1.1 </span>'
            '<p class="admonition-title">Solution to<a class="reference internal" href="#x"> Exercise 1.1</a></p>')
    out = bilingual.localise_labels(html)
    assert "Fig." not in out and "Exercise" not in out and "Solution" not in out
    assert out.count("그림 1.2") == 2 and out.count("연습 문제 1.1") == 2 and "풀이: <a" in out


def test_korean_search_indexes_word_stems():
    assert bilingual.hangul_prefixes("합성곱은") == ["합성", "합성곱"]
    assert bilingual.hangul_prefixes("convolution") == []
    words = bilingual.SearchEnglishAndKorean({}).split("합성곱은 등변입니다 and pooling")
    assert "합성곱" in words and "등변" in words and "pooling" in words


def test_figure_numbers_restart_in_every_chapter():
    numbers = {
        "notebooks/ko/07_x": {"figure": {"a": (7, 1), "b": (7, 2)}, "exercise": {"e": (7, 1)}},
        "notebooks/en/07_x": {"figure": {"a": (7, 5), "b": (7, 6)}, "exercise": {"e": (7, 4)}},
        "book/en/intro": {},
    }
    bilingual.restart_numbers_per_chapter(numbers)
    assert numbers["notebooks/en/07_x"] == {"figure": {"a": (7, 1), "b": (7, 2)}, "exercise": {"e": (7, 1)}}
    assert numbers["notebooks/ko/07_x"]["figure"] == {"a": (7, 1), "b": (7, 2)}


def test_glued_values_of_a_book_build(tmp_path):
    built = tmp_path / "06_x.ipynb"
    (tmp_path / "06_x.glue.json").write_text(
        '{"acc": {"data": {"text/plain": "98.2"}, "metadata": {"scrapbook": {"name": "acc"}}}}')
    assert slides.glued_values_of_build(built) == {"acc": 98.2}
    assert slides.glued_values_of_build(tmp_path / "missing.ipynb") == {}


def test_slides_take_outputs_from_the_edition_that_was_executed(tmp_path, monkeypatch):
    """The build executes one edition and serves the other from its cache: either copy will do."""
    def chapter(markdown: str, outputs: list) -> dict:
        return nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell(markdown),
            nbformat.v4.new_code_cell("print(1)", outputs=outputs),
        ])

    printed = [nbformat.v4.new_output("stream", text="1\n")]
    for lang, markdown, outputs in (("ko", "# 한국어", []), ("en", "# English", printed)):
        (tmp_path / "src" / lang).mkdir(parents=True)
        (tmp_path / "built" / lang).mkdir(parents=True)
        nbformat.write(chapter(markdown, []), tmp_path / "src" / lang / "01_x.ipynb")
        nbformat.write(chapter(markdown, outputs), tmp_path / "built" / lang / "01_x.ipynb")
    monkeypatch.setattr(slides, "EXECUTED_DIR", tmp_path / "built")
    nb, _ = slides.executed_notebook(tmp_path / "src" / "ko" / "01_x.ipynb")
    assert nb["cells"][0]["source"] == "# 한국어"
    assert nb["cells"][1]["outputs"][0]["text"] == "1\n"
