"""The authoring tools: notebook normalisation, slide metadata, slide markdown, page language."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import bilingual  # noqa: E402
import edition_labels  # noqa: E402
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


def _chapter(lang: str = "ko", **kwargs) -> "slides.Chapter":
    markdown = [
        "```{figure} ../../images/cnn_pipeline.svg\n:name: fig-ko-01-pipeline\n\nThe pipeline.\n```",
        "```{glue:figure} fig_x\n:name: fig-ko-01-x\n\nThe caption. More caption.\n```",
        "````{exercise}\n:label: ko-01-ex-a\n\nDo this.\n````\n\n"
        "````{solution} ko-01-ex-a\n:class: dropdown\n\nSecret.\n````\n\n"
        "````{exercise}\n:label: ko-01-ex-b\n\nDo that.\n````",
    ]
    return slides.Chapter.of(markdown, lang=lang, number=1, **kwargs)


def test_chapter_numbers_figures_and_exercises_in_order():
    chapter = _chapter()
    assert chapter.figures == {"fig-ko-01-pipeline": "1.1", "fig-ko-01-x": "1.2"}
    assert chapter.exercises == {"ko-01-ex-a": "1.1", "ko-01-ex-b": "1.2"}


def test_numref_renders_as_the_page_does():
    slide = slides.markdown_slide("{numref}`fig-ko-01-x`의 왼쪽과 {numref}`ko-01-ex-b`를 보세요.", _chapter())
    assert "그림 1.2의 왼쪽과 연습 문제 1.2를 보세요." in slide.html()
    assert "fig-ko-01" not in slide.html()
    english = slides.markdown_slide("See {numref}`fig-ko-01-pipeline`.", _chapter("en"))
    assert "See Fig. 1.1." in english.html()
    custom = slides.markdown_slide("See {numref}`panel %s <fig-ko-01-x>`.", _chapter("en"))
    assert "See panel 1.2." in custom.html()


def test_citations_render_author_year():
    assert slides.cite("cite:t", "sabour2017dynamic") == "Sabour et al. (2017)"
    assert slides.cite("cite:p", "sabour2017dynamic") == "(Sabour et al., 2017)"
    assert slides.cite("cite:p", "dumoulin2016guide, zhang2019making") == "(Dumoulin and Visin, 2016; Zhang, 2019)"
    slide = slides.markdown_slide("Capsules {cite:p}`sabour2017dynamic`. {cite:t}`lecun1998gradient` trained.",
                                  _chapter("en"))
    assert "Capsules (Sabour et al., 2017)." in slide.html() and "LeCun et al. (1998) trained." in slide.html()
    assert "{cite" not in slide.html()


def test_glued_numbers_are_filled_in():
    slide = slides.markdown_slide("Error {glue:text}`err:.1e` and {glue}`n` digits.",
                                  _chapter("en", values={"err": 0.000123, "n": 7}))
    assert "Error 1.2e-04 and 7 digits." in slide.html()


PROSE = (
    "## 개요\n\n"
    "합성곱 신경망은 작은 커널 하나를 이미지 전체에 미끄러뜨리며 계산합니다. 모든 위치에서 같은 가중치를 씁니다.\n"
    "이를 가중치 공유라고 합니다. 이 책의 출발점은 그 결과인 평행 이동 등변성입니다. 입력을 옮기면 특성 맵도\n"
    "그만큼 따라 옮겨 간다는 성질입니다. 이 장에서는 이 명제를 정확히 쓰고 증명한 다음, 언제 성립하는지 측정합니다.\n\n"
    "$$\nf(T x) = T f(x)\n$$\n\n"
    "첫 번째 실험에서 오차는 {glue:text}`err:.1e`입니다. 그 다음 문장은 길고 중요하지 않습니다.\n\n"
    "- 첫째 항목은 " + "아주 " * 40 + "깁니다.\n- 둘째 항목.\n- 셋째 항목.\n- 넷째 항목.\n"
)


def test_slide_holds_a_few_short_lines_and_the_notes_hold_the_prose():
    slide = slides.markdown_slide(PROSE, _chapter(values={"err": 3e-16}))
    assert slide.heading == "<h2>개요</h2>"
    assert len(slide.lines) <= slides.MAX_LINES
    assert slide.lines[0] == "합성곱 신경망은 작은 커널 하나를 이미지 전체에 미끄러뜨리며 계산합니다."
    assert any("3.0e-16" in line for line in slide.lines), "a sentence with a glued number is a key line"
    for line in slide.lines:
        assert slides.text_width(line) <= slides.LINE_WIDTH + 1, line
    assert len(slide.visuals) == 1 and "\\[f(T x) = T f(x)\\]" in slide.visuals[0]
    # The speaker notes hold every sentence of the cell, the slide only a few.
    notes = slide.notes
    for sentence in ("모든 위치에서 같은 가중치를 씁니다.", "이 장에서는 이 명제를 정확히 쓰고 증명한 다음",
                     "그 다음 문장은 길고 중요하지 않습니다.", "넷째 항목."):
        assert sentence in notes and sentence not in "".join(slide.lines)
    html = slide.html()
    assert '<aside class="notes">' in html and html.index("<aside") > html.index("<h2>")


def test_long_lines_are_cut_at_a_word_with_an_ellipsis():
    chapter = _chapter()
    tokens = slides.markdown_parser().parse("짧은 말 " * 60)[1].children
    cut = slides.visible_text(slides.shorten(tokens, chapter, 20), chapter)
    assert cut.endswith("…") and slides.text_width(cut) <= 20 and "짧은 말 짧은" in cut


def test_figure_slide_shows_number_image_and_short_caption():
    chapter = _chapter("en", images={"fig_x": "data:image/png;base64,AAAA"})
    slide = slides.markdown_slide(
        "```{glue:figure} fig_x\n:name: fig-ko-01-x\n\nThe caption. More caption.\n```\n\n"
        "The answer is in {numref}`fig-ko-01-x`. Errors reach {glue:text}`e`.", chapter)
    assert slide.has_figure and 'src="data:image/png;base64,AAAA"' in slide.visuals[0]
    caption = slide.visuals[0].split("<figcaption>")[1]
    assert "Fig. 1.2</span> The caption." in caption and "More caption" not in caption
    assert "More caption." in slide.notes
    assert not any("The answer is in" in line for line in slide.lines)


def test_svg_figures_carry_their_korean_font():
    slide = slides.markdown_slide("```{figure} ../../images/cnn_pipeline.svg\n:name: fig-ko-01-pipeline\n\n캡션.\n```",
                                  _chapter(folder=ROOT / "notebooks" / "ko"))
    src = slide.visuals[0].split('src="', 1)[1].split('"', 1)[0]
    import base64

    svg = base64.b64decode(src.split(",", 1)[1]).decode()
    assert "data:font/woff2;base64," in svg and 'font-family: "NanumGothic"' in svg


def test_exercises_get_numbers_and_solutions_stay_out():
    text = "## 연습 문제\n\n" + "````{exercise}\n:label: ko-01-ex-a\n\nDo this. Then that.\n````\n\n" \
           "````{solution} ko-01-ex-a\n:class: dropdown\n\nSecret.\n````\n\n" \
           "````{exercise}\n:label: ko-01-ex-b\n\nDo that.\n````"
    slide = slides.markdown_slide(text, _chapter())
    assert [line.split("</strong>")[0] for line in slide.lines] == ["<strong>연습 문제 1.1", "<strong>연습 문제 1.2"]
    assert [extra.heading for extra in slide.extra] == ["<h3>연습 문제 1.1</h3>", "<h3>연습 문제 1.2</h3>"]
    everything = slide.html() + "".join(extra.html() for extra in slide.extra)
    assert "Secret." not in everything and ":label:" not in everything
    assert "Then that." in slide.extra[0].notes


def test_title_slide_drops_the_badges():
    text = "# 합성곱\n\n[![Open in Colab](../../images/badge_colab.svg)](https://colab.example)\n"
    slide = slides.markdown_slide(text, _chapter())
    assert slide.title_slide and slide.heading == "<h1>합성곱</h1>" and "1장" in slide.subtitle
    assert "badge" not in slide.html() and not slide.lines


def test_prepare_cuts_long_logs_and_keeps_slide_metadata():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## Section\n\nProse."),
        nbformat.v4.new_code_cell("import sys\nif \"google.colab\" in sys.modules:\n    pass"),
        nbformat.v4.new_code_cell("train()", outputs=[nbformat.v4.new_output("stream", text="epoch\n" * 100)]),
        nbformat.v4.new_markdown_cell("More prose."),
    ])
    out = slides.prepare(nbformat.from_dict(nb), _chapter("en"))
    types = [c["metadata"]["slideshow"]["slide_type"] for c in out["cells"]]
    assert types == ["slide", "skip", "subslide", "subslide"]
    assert out["cells"][2]["outputs"][0]["text"].count("\n") == slides.MAX_OUTPUT_LINES
    assert out["cells"][2]["metadata"]["book_context"] == "Section"  # the section's name heads its sub-slides
    assert "Section" in out["cells"][3]["metadata"]["book_slide"]


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
    """The Korean numfig formats replace the English ones for their types only (the labels in
    built pages: tests/test_bilingual.py)."""
    class Config:
        numfig_format = {"figure": "Fig. %s", "section": "Section %s", "exercise": "Exercise %s"}
        korean_numfig_format = dict(edition_labels.KOREAN_NUMFIG_FORMAT)

    formats = edition_labels.korean_numfig_format(Config)
    assert formats["figure"] == "그림 %s" and formats["exercise"] == "연습 문제 %s"
    assert formats["section"] == "Section %s"
    assert edition_labels._explicit_title("그림 %s") == "그림 {number}"  # for a Korean page's numrefs
    assert edition_labels._explicit_title("그림 {number}") == "그림 {number}"
    assert edition_labels.KOREAN_SOLUTION_TITLES["Solution to"] == "풀이:"


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
    edition_labels.restart_numbers_per_chapter(numbers)
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
