"""Export chapters to reveal.js slide decks an instructor can project, and that open offline.

    python tools/slides.py                 # every chapter, both languages -> _build/slides/
    python tools/slides.py 01 --lang ko    # one chapter, one language

Each deck is one HTML file per chapter (``_build/slides/<lang>/<chapter>.slides.html``) beside
an ``assets/`` folder holding reveal.js, MathJax and the Korean web font (WOFF2 subsets of
NanumGothic made for that deck's text, ``assets/fonts/<chapter>/``), so it opens from disk with
no network and shows Korean on machines without a Korean font. Slides follow the cells'
``slideshow`` metadata (see tools/nbtool.py); set-up cells are skipped.

A slide is what a lecturer projects, not the page: the heading, the figure, the key equation or
table, and at most a few short lines (the first sentence of the cell, the sentences that carry a
glued number, bullet items), each cut to a line or two. The cell's full prose goes into the
slide's speaker notes (press ``S`` in the deck). MyST markup is read with markdown-it-py (the
parser myst-parser uses) and rendered as the site renders it: glued numbers filled in, figures
and exercises numbered per chapter ("그림 1.2" / "Fig. 1.2", "연습 문제 1.1" / "Exercise 1.1"),
citations in author-year form ("Sabour et al. (2017)", "(Sabour et al., 2017)"). Exercise
solutions are left out (they stay in the book).

Outputs come from the book build (``_build/jupyter_execute``) when it is there and its code is
current; otherwise the chapter is executed first in the quick setting.
"""

from __future__ import annotations

import argparse
import base64
import functools
import html
import json
import os
import re
import shutil
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from nbconvert import SlidesExporter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import bilingual  # noqa: E402
import nbtool  # noqa: E402
import webfont  # noqa: E402

TEMPLATE_DIR = ROOT / "tools" / "slides_template"
EXECUTED_DIR = ROOT / "_build" / "jupyter_execute" / "notebooks"

# What a slide may hold besides its heading and visuals: at most MAX_LINES short lines (two when a
# figure takes the room), each at most LINE_WIDTH wide, in ems of the slide's font (a Hangul
# letter is about 1 em, a Latin letter or digit about half of one).
MAX_LINES = 3
MAX_LINES_WITH_FIGURE = 2
LINE_WIDTH = 64
MAX_EQUATIONS = 2
MAX_EQUATION_TEX = 170  # longer display math (a proof's chain of equalities) goes to the notes
MAX_OUTPUT_LINES = 12  # a longer printed output is cut on the slide

WORDS = {
    "ko": {"figure": "그림", "exercise": "연습 문제", "chapter": "{}장", "book": "CNN 등변성에서 캡슐 네트워크까지",
           "more": "… ({} 줄 더)"},
    "en": {"figure": "Fig.", "exercise": "Exercise", "chapter": "Chapter {}",
           "book": "From CNN equivariance to Capsule Networks", "more": "… ({} more lines)"},
}
ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "vs.", "cf.", "Fig.", "Eq.", "approx.", "No.")


# --------------------------------------------------------------------------------------------
# Glued values and the executed chapter


def _record_value(output: dict) -> object:
    """The value of one glue record: its text/plain, read as a number where it is one."""
    text = output.get("data", {}).get("text/plain", "")
    text = text if isinstance(text, str) else "".join(text)
    try:
        return float(text) if "." in text or "e" in text else int(text)
    except ValueError:
        return text.strip("'\"")


def _records(nb: dict) -> dict[str, dict]:
    return {
        output["metadata"]["scrapbook"]["name"]: output
        for cell in nb["cells"] for output in cell.get("outputs", [])
        if "name" in output.get("metadata", {}).get("scrapbook", {})
    }


def _records_of_build(built: Path) -> dict[str, dict]:
    records = built.with_suffix(".glue.json")
    return json.loads(records.read_text(encoding="utf-8")) if records.exists() else {}


def glued_values(nb: dict) -> dict[str, object]:
    """``name -> value`` of every ``glue`` output still in an executed notebook."""
    return {name: _record_value(output) for name, output in _records(nb).items()}


def glued_values_of_build(built: Path) -> dict[str, object]:
    """The book build moves glue records out of the notebook into ``<name>.glue.json``."""
    return {name: _record_value(output) for name, output in _records_of_build(built).items()}


def glued_images(records: dict[str, dict]) -> dict[str, str]:
    """``name -> data URI`` of every glued figure (PNG or SVG)."""
    images = {}
    for name, output in records.items():
        data = output.get("data", {})
        if "image/png" in data:
            png = data["image/png"]
            images[name] = "data:image/png;base64," + ("".join(png) if isinstance(png, list) else png).replace("\n", "")
        elif "image/svg+xml" in data:
            svg = data["image/svg+xml"]
            images[name] = svg_data_uri("".join(svg) if isinstance(svg, list) else svg)
    return images


def svg_data_uri(svg: str) -> str:
    """An SVG as a data URI for ``<img>``, with the Hangul it shows embedded as a web font."""
    return "data:image/svg+xml;base64," + base64.b64encode(webfont.embed_font_in_svg(svg).encode()).decode()


def _has_outputs(nb: dict) -> bool:
    return any(cell.get("outputs") for cell in nb["cells"] if cell["cell_type"] == "code")


def executed_notebook(source: Path) -> tuple[dict, dict[str, object]]:
    """The chapter with outputs, and its glued values: from the book build if current, else
    executed now.

    The build executes each chapter once and serves the other edition from its cache, so the
    outputs may sit in either language's executed copy; the code cells are the same, so the
    outputs of one fit the other.
    """
    nb, records = executed_notebook_and_records(source)
    return nb, {name: _record_value(output) for name, output in records.items()}


def executed_notebook_and_records(source: Path) -> tuple[dict, dict[str, dict]]:
    nb = nbformat.read(source, as_version=4)
    code = [c for c, _ in nbtool.code_cells(nb)]
    other = "en" if source.parent.name == "ko" else "ko"
    for lang in (source.parent.name, other):
        built = EXECUTED_DIR / lang / source.name
        if not built.exists():
            continue
        executed = nbformat.read(built, as_version=4)
        if [c for c, _ in nbtool.code_cells(executed)] != code or not _has_outputs(executed) and not _records_of_build(built):
            continue
        ours = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
        theirs = [cell for cell in executed["cells"] if cell["cell_type"] == "code"]
        for mine, done in zip(ours, theirs):
            mine["outputs"] = done.get("outputs", [])
        return nb, _records(executed) | _records_of_build(built)
    from nbclient import NotebookClient

    print(f"  executing {source.relative_to(ROOT)} (no current build output) ...", flush=True)
    os.environ.setdefault("BOOK_SETTING", "quick")
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}}).execute()
    return nb, _records(nb)


# --------------------------------------------------------------------------------------------
# MyST markdown, read with markdown-it-py


@functools.lru_cache(maxsize=1)
def markdown_parser():
    """myst-parser's markdown-it parser (roles, directives as fences, dollar math, tables)."""
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    md = create_md_parser(MdParserConfig(enable_extensions={"dollarmath", "amsmath", "colon_fence", "deflist"}),
                          RendererHTML)
    md.add_render_rule("myst_role", lambda self, tokens, i, options, env: html.escape(env["ctx"].role(tokens[i])))
    md.add_render_rule("math_inline", lambda self, tokens, i, options, env: _math(tokens[i].content, False))
    md.add_render_rule("math_block", lambda self, tokens, i, options, env: _math(tokens[i].content, True))
    md.add_render_rule("math_block_label", lambda self, tokens, i, options, env: _math(tokens[i].content, True))
    md.add_render_rule("amsmath", lambda self, tokens, i, options, env: _math(tokens[i].content, True, delimit=False))
    md.add_render_rule("myst_target", lambda self, tokens, i, options, env: "")
    md.add_render_rule("myst_line_comment", lambda self, tokens, i, options, env: "")
    return md


def _math(tex: str, display: bool, delimit: bool = True) -> str:
    tex = html.escape(tex.strip())
    if not delimit:
        return f'<div class="math display">{tex}</div>\n'
    return f'<div class="math display">\\[{tex}\\]</div>\n' if display else f'<span class="math">\\({tex}\\)</span>'


@dataclass
class Directive:
    name: str
    argument: str
    options: dict[str, str]
    body: str


def directive(token: Token) -> Directive | None:
    """A MyST directive (a ``{name}`` fence): its name, argument, ``:key: value`` options, body."""
    info = token.info.strip()
    if token.type not in ("fence", "colon_fence") or not info.startswith("{") or "}" not in info:
        return None
    name, argument = info[1:].split("}", 1)
    options, lines = {}, token.content.splitlines()
    while lines and lines[0].startswith(":") and lines[0].count(":") >= 2:
        key, value = lines.pop(0)[1:].split(":", 1)
        options[key.strip()] = value.strip()
    return Directive(name.strip(), argument.strip(), options, "\n".join(lines).strip())


def _walk_directives(text: str):
    """Every directive in ``text``, nested ones included, in document order."""
    for token in markdown_parser().parse(text):
        found = directive(token)
        if found:
            yield found
            yield from _walk_directives(found.body)


@functools.lru_cache(maxsize=1)
def citation_labels() -> dict[str, tuple[str, str]]:
    """BibTeX key -> (authors, year), as sphinxcontrib-bibtex's author_year style names them:
    ("LeCun et al.", "1998"), ("Dumoulin and Visin", "2016"), ("Zhang", "2019")."""
    from pybtex.database import parse_file

    labels = {}
    for key, entry in parse_file(str(ROOT / "book" / "references.bib")).entries.items():
        authors = [" ".join(p.last_names) for p in entry.persons.get("author", []) if p.last_names]
        if len(authors) > 2:
            who = f"{authors[0]} et al."
        else:
            who = " and ".join(authors) or key
        labels[key] = (who, entry.fields.get("year", ""))
    return labels


def cite(role: str, keys: str) -> str:
    """``{cite:t}`a,b``` -> "A et al. (2017), B (2019)"; ``{cite:p}`` -> "(A et al., 2017; B, 2019)"."""
    labels = citation_labels()
    found = [labels.get(k.strip(), (k.strip(), "")) for k in keys.split(",") if k.strip()]
    if role == "cite:t":
        return ", ".join(f"{who} ({year})" if year else who for who, year in found)
    return "(" + "; ".join(f"{who}, {year}" if year else who for who, year in found) + ")"


@dataclass
class Chapter:
    """What the markdown of one chapter needs to render: its numbers, glued values and images."""

    lang: str
    number: int
    values: dict[str, object] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)  # label -> "1.2"
    exercises: dict[str, str] = field(default_factory=dict)
    folder: Path = ROOT / "notebooks" / "en"

    @classmethod
    def of(cls, markdown_cells: list[str], lang: str, number: int, **kwargs) -> Chapter:
        """Number the chapter's figures and exercises in document order, from 1, as the site does."""
        chapter = cls(lang=lang, number=number, **kwargs)
        for text in markdown_cells:
            for found in _walk_directives(text):
                if found.name in ("figure", "glue:figure") and "name" in found.options:
                    chapter.figures[found.options["name"]] = f"{number}.{len(chapter.figures) + 1}"
                elif found.name == "exercise" and "label" in found.options:
                    chapter.exercises[found.options["label"]] = f"{number}.{len(chapter.exercises) + 1}"
        return chapter

    def word(self, key: str) -> str:
        return WORDS[self.lang][key]

    def reference(self, label: str) -> str | None:
        if label in self.figures:
            return f"{self.word('figure')} {self.figures[label]}"
        if label in self.exercises:
            return f"{self.word('exercise')} {self.exercises[label]}"
        return None

    def glue(self, content: str) -> str:
        name, _, fmt = content.partition(":")
        name = name.strip()
        if name not in self.values:
            return name
        value = self.values[name]
        try:
            return format(value, fmt) if fmt else str(value)
        except (TypeError, ValueError):
            return str(value)

    def role(self, token: Token) -> str:
        """The plain text a role shows on the page."""
        name, content = token.meta.get("name", ""), token.content
        if name.startswith("glue"):
            return self.glue(content)
        if name.startswith("cite"):
            return cite(name if name in ("cite:t", "cite:p") else "cite:p", content)
        if name in ("numref", "ref", "eq"):
            title, label = content, content
            if content.endswith(">") and "<" in content:
                title, label = content[:-1].split("<", 1)
                title, label = title.strip(), label.strip()
            number = self.reference(label)
            if number and title != label:
                return title.replace("%s", number.split(" ")[-1]).replace("{number}", number.split(" ")[-1])
            return number or title
        return content


# --------------------------------------------------------------------------------------------
# From one markdown cell to one slide (and its speaker notes)


def text_width(text: str) -> float:
    """Width in ems of the slide font: Hangul and other wide letters 1, the rest about 0.55."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.55 for ch in text)


def _visible(token: Token, chapter: Chapter) -> str:
    if token.type in ("text", "code_inline"):
        return token.content
    if token.type == "math_inline":
        return token.content[: max(4, len(token.content) // 2)]  # typeset math is narrower than TeX
    if token.type == "myst_role":
        return chapter.role(token)
    if token.type in ("softbreak", "hardbreak"):
        return " "
    return ""


def visible_text(children: list[Token], chapter: Chapter) -> str:
    return "".join(_visible(t, chapter) for t in children)


def _text_token(content: str) -> Token:
    return Token("text", "", 0, content=content)


def _sentence_end(text: str, i: int) -> bool:
    """Is ``text[i]`` ('.', '?', '!') the end of a sentence (followed by a space or the end)?"""
    if text[i] not in ".?!" or (i + 1 < len(text) and not text[i + 1].isspace()):
        return False
    return not any(text[: i + 1].endswith(abbreviation) for abbreviation in ABBREVIATIONS)


def sentences(children: list[Token]) -> list[list[Token]]:
    """An inline token list cut into sentences (never inside bold, italics, links or code)."""
    found, current, depth = [], [], 0
    for token in children:
        if token.type.endswith("_open"):
            depth += 1
        elif token.type.endswith("_close"):
            depth -= 1
        if token.type != "text" or depth:
            current.append(token)
            continue
        text, start = token.content, 0
        for i in range(len(text)):
            if _sentence_end(text, i):
                current.append(_text_token(text[start: i + 1]))
                found.append(current)
                current, start = [], i + 1
        if text[start:]:
            current.append(_text_token(text[start:]))
    if current:
        found.append(current)
    cleaned = []
    for sentence in found:
        while sentence and sentence[0].type in ("softbreak", "hardbreak") or (
                sentence and sentence[0].type == "text" and not sentence[0].content.strip()):
            sentence = sentence[1:]
        if sentence and sentence[0].type == "text":
            sentence = [_text_token(sentence[0].content.lstrip()), *sentence[1:]]
        if sentence:
            cleaned.append(sentence)
    return cleaned


def shorten(children: list[Token], chapter: Chapter, width: float = LINE_WIDTH) -> list[Token]:
    """The tokens cut at a word boundary so that they show at most ``width`` ems, with "…"
    added where something was cut; tags left open by the cut are closed."""
    if text_width(visible_text(children, chapter)) <= width:
        return children
    kept, used, opened = [], 0.0, []
    for token in children:
        size = text_width(_visible(token, chapter))
        if used + size <= width - 1:
            kept.append(token)
            used += size
        elif token.type == "text":
            room, cut = width - 1 - used, 0
            for i, ch in enumerate(token.content):
                room -= text_width(ch)
                if room < 0:
                    break
                if ch == " ":
                    cut = i
            if cut:
                kept.append(_text_token(token.content[:cut]))
            break
        else:
            break
        if token.type.endswith("_open"):
            opened.append(token)
        elif token.type.endswith("_close") and opened:
            opened.pop()
    kept.append(_text_token("…"))
    for token in reversed(opened):
        kept.append(Token(token.type.replace("_open", "_close"), token.tag, -1))
    return kept


@dataclass
class Slide:
    """One markdown cell as a slide: what is projected, and the speaker notes."""

    heading: str = ""  # HTML of the heading element
    visuals: list[str] = field(default_factory=list)  # figures, display equations, tables
    lines: list[str] = field(default_factory=list)  # short lines of text (HTML)
    items: list[bool] = field(default_factory=list)  # which lines are bullet items
    notes: str = ""  # HTML
    title_slide: bool = False
    subtitle: str = ""
    compact: bool = False  # many one-line items (exercise or reference lists), set small
    extra: list[Slide] = field(default_factory=list)  # further slides made from this cell

    @property
    def has_figure(self) -> bool:
        return any(v.startswith("<figure") for v in self.visuals)

    def html(self) -> str:
        parts = [self.heading]
        if self.subtitle:
            parts.append(f'<p class="subtitle">{self.subtitle}</p>')
        if self.visuals:
            parts.append('<div class="visuals">' + "".join(self.visuals) + "</div>")
        if self.lines:
            out, in_list = [], False
            for line, item in zip(self.lines, self.items or [False] * len(self.lines)):
                if item != in_list:
                    out.append("<ul>" if item else "</ul>")
                    in_list = item
                out.append(f"<li>{line}</li>" if item else f"<p>{line}</p>")
            out.append("</ul>" if in_list else "")
            parts.append(f'<div class="points{" compact" if self.compact else ""}">' + "".join(out) + "</div>")
        if self.notes.strip():
            parts.append(f'<aside class="notes">{self.notes}</aside>')
        return "\n".join(p for p in parts if p)


def _blocks(tokens: list[Token]):
    """Top-level blocks of a token stream: (kind, tokens) with kind paragraph, list, heading,
    math, table, directive or other."""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.nesting == 1:
            depth, j = 0, i
            while True:
                depth += tokens[j].nesting
                if depth == 0:
                    break
                j += 1
            kind = {"paragraph_open": "paragraph", "bullet_list_open": "list", "ordered_list_open": "list",
                    "heading_open": "heading", "table_open": "table", "blockquote_open": "other"}.get(token.type, "other")
            yield kind, tokens[i: j + 1]
            i = j + 1
        else:
            kind = "directive" if directive(token) else "math" if token.type.startswith(("math_block", "amsmath")) else "other"
            yield kind, [token]
            i += 1


def _render(tokens: list[Token], chapter: Chapter) -> str:
    md = markdown_parser()
    return md.renderer.render(tokens, md.options, {"ctx": chapter})


def _render_inline(children: list[Token], chapter: Chapter) -> str:
    md = markdown_parser()
    return md.renderer.renderInline(children, md.options, {"ctx": chapter})


def _inline_of(block: list[Token]) -> list[Token]:
    return next((t.children or [] for t in block if t.type == "inline"), [])


def _list_items(block: list[Token]) -> list[list[Token]]:
    """The inline tokens of each item of a list (its first paragraph)."""
    items, depth = [], 0
    for token in block:
        if token.type == "list_item_open":
            depth += 1
            if depth == 1:
                items.append(None)
        elif token.type == "list_item_close":
            depth -= 1
        elif token.type == "inline" and depth == 1 and items and items[-1] is None:
            items[-1] = token.children or []
    return [item or [] for item in items]


def _image(src: str, chapter: Chapter) -> str:
    """A figure's source as something an offline deck can show: a data URI."""
    if src.startswith(("data:", "http:", "https:")):
        return src
    path = (chapter.folder / src).resolve()
    if not path.is_file():
        return src
    if path.suffix == ".svg":
        return svg_data_uri(path.read_text(encoding="utf-8"))
    mime = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}[path.suffix.lower()]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _caption_children(body: str) -> list[Token]:
    for kind, block in _blocks(markdown_parser().parse(body)):
        if kind == "paragraph":
            return _inline_of(block)
    return []


def _figure(found: Directive, chapter: Chapter) -> tuple[str, str]:
    """(slide HTML, notes HTML) of a figure directive: the image, its number and a short caption."""
    src = chapter.images.get(found.argument, "") if found.name == "glue:figure" else _image(found.argument, chapter)
    number = chapter.reference(found.options.get("name", "")) or ""
    caption = _caption_children(found.body)
    first = sentences(caption)[:1]
    short = _render_inline(shorten(first[0], chapter, LINE_WIDTH * 1.3), chapter) if first else ""
    alt = html.escape(found.options.get("alt", "") or visible_text(caption, chapter))
    label = f'<span class="caption-number">{html.escape(number)}</span> ' if number else ""
    img = f'<img src="{src}" alt="{alt}">' if src else ""
    figure = f'<figure>{img}<figcaption>{label}{short}</figcaption></figure>'
    notes = f"<p>{label}{_render_inline(caption, chapter)}</p>" if caption else ""
    return figure, notes


def _directive_notes(found: Directive, chapter: Chapter) -> str:
    """A directive in the speaker notes: exercises and admonitions with their text; solutions
    and bibliographies not at all."""
    if found.name in ("solution", "bibliography", "glue:figure", "figure"):
        return ""
    inner = render_notes(found.body, chapter)
    if found.name == "exercise":
        number = chapter.reference(found.options.get("label", "")) or chapter.word("exercise")
        return f'<div class="exercise"><p><strong>{html.escape(number)}</strong></p>{inner}</div>'
    title = html.escape(found.argument or found.name.split(":")[-1].capitalize())
    return f'<div class="admonition"><p><strong>{title}</strong></p>{inner}</div>'


def render_notes(text: str, chapter: Chapter) -> str:
    """The cell's prose as HTML for the speaker notes: everything but headings and images."""
    out = []
    for kind, block in _blocks(markdown_parser().parse(text)):
        if kind == "heading":
            continue
        if kind == "directive":
            found = directive(block[0])
            out.append(_figure(found, chapter)[1] if found.name in ("figure", "glue:figure")
                       else _directive_notes(found, chapter))
            continue
        if kind == "paragraph" and all(t.type in ("image", "softbreak", "link_open", "link_close", "text")
                                       and (t.type != "text" or not t.content.strip()) for t in _inline_of(block)):
            continue  # a row of badges
        out.append(_render(block, chapter))
    return "".join(out)


def _is_badge_row(block: list[Token]) -> bool:
    children = _inline_of(block)
    return any(t.type == "image" for t in children) and not any(
        t.type == "text" and t.content.strip() for t in children if t.type == "text")


def _starts_with_label(children: list[Token]) -> bool:
    """A paragraph opening with a bold label such as "**Proposition.**" or "**명제.**"."""
    return len(children) > 2 and children[0].type == "strong_open" and children[1].content.strip().endswith((".", ":"))


def _only_points_at_a_figure(sentence: list[Token], chapter: Chapter) -> bool:
    refs = [t for t in sentence if t.type == "myst_role" and t.meta.get("name") == "numref"]
    return bool(refs) and text_width(visible_text(sentence, chapter)) < 24


def _has_glue(children: list[Token]) -> bool:
    return any(t.type == "myst_role" and t.meta.get("name", "").startswith("glue") for t in children)


def markdown_slide(text: str, chapter: Chapter, context: str = "", max_lines: int | None = None) -> Slide:
    """One markdown cell as a slide.

    Args:
        text: the cell's MyST markdown.
        chapter: numbers, glued values and images of the chapter.
        context: the section the cell sits in (heading text), shown when the cell has no heading.
        max_lines: how many lines of text at most (default: MAX_LINES, fewer beside a figure or box).
    """
    slide = Slide(notes=render_notes(text, chapter))
    candidates = []  # (priority, order, inline tokens or HTML, is list item); priority 0: always shown
    have_first = False
    blocks = list(_blocks(markdown_parser().parse(text)))
    for order, (kind, block) in enumerate(blocks):
        if kind == "heading" and not slide.heading:
            tag = block[0].tag
            inner = _render_inline(_inline_of(block), chapter)
            if tag == "h1":
                slide.title_slide = True
                slide.subtitle = html.escape(f"{chapter.word('book')} · {chapter.word('chapter').format(chapter.number)}")
            slide.heading = f"<{tag}>{inner}</{tag}>"
        elif kind == "heading":
            continue  # a sub-heading inside the cell: the slide keeps the first heading only
        elif kind == "math" and len([v for v in slide.visuals if "math" in v]) < MAX_EQUATIONS:
            if len(block[0].content) <= MAX_EQUATION_TEX:
                slide.visuals.append(_render(block, chapter))
        elif kind == "table":
            slide.visuals.append(_render(block, chapter))
        elif kind == "directive":
            found = directive(block[0])
            if found.name in ("figure", "glue:figure"):
                slide.visuals.append(_figure(found, chapter)[0])
            elif found.name == "exercise":
                number = chapter.reference(found.options.get("label", "")) or chapter.word("exercise")
                body = _caption_children(found.body)
                first = sentences(body)[:1]
                line = f"<strong>{html.escape(number)}</strong> "
                line += _render_inline(shorten(first[0], chapter, LINE_WIDTH * 0.6), chapter) if first else ""
                candidates.append((0, order, line, False))
                extra = markdown_slide(found.body, chapter)
                extra.heading = f"<h3>{html.escape(number)}</h3>"
                extra.notes = _directive_notes(found, chapter)
                slide.extra.append(extra)
            elif found.name == "admonition":  # a boxed aside: its title, table or labelled lines
                inner = markdown_slide(found.body, chapter, max_lines=0 if "<table" in "".join(
                    markdown_slide(found.body, chapter).visuals) else MAX_LINES_WITH_FIGURE)
                inner.heading = f'<p class="admonition-title">{_render_inline(_caption_children(found.argument), chapter)}</p>'
                inner.notes = ""
                slide.visuals.append(f'<div class="admonition">{inner.html()}</div>')
        elif kind == "other" and block[0].type == "html_block" and DEMO_MARK in block[0].content:
            slide.visuals.append(block[0].content.strip())  # an interactive figure: the deck runs it too
            # In the speaker notes, its text alternative only (one running copy of the figure per slide).
            slide.notes = re.sub(r'<figure class="capsdemo".*?<figcaption class="capsdemo-alt">(.*?)</figcaption>\s*</figure>',
                                 r"<p>\1</p>", slide.notes, flags=re.S)
        elif kind == "paragraph" and _is_badge_row(block):
            continue
        elif kind == "paragraph":
            children = _inline_of(block)
            parts = sentences(children)
            if _starts_with_label(children):
                candidates.append((1, order, children, False))
                have_first = True
                continue
            for k, sentence in enumerate(parts):
                if not have_first and _only_points_at_a_figure(sentence, chapter):
                    continue  # "The answer is in Fig. 1.3.": the figure is on the slide already
                if not have_first:
                    candidates.append((2, (order, k), sentence, False))
                    have_first = True
                elif _has_glue(sentence):
                    candidates.append((3, (order, k), sentence, False))
        elif kind == "list":
            items = _list_items(block)
            if items and all(i and i[0].type == "myst_role" and i[0].meta.get("name", "").startswith("cite") for i in items):
                # a reading list: every item, each a line
                for n, item in enumerate(items):
                    candidates.append((0, (order, n), shorten(item, chapter, LINE_WIDTH * 0.75), True))
                continue
            for n, item in enumerate(items):
                lead = sentences(item)[:1]
                if lead:
                    candidates.append((4, (order, n), lead[0], True))
    boxed = any(v.startswith('<div class="admonition"') for v in slide.visuals)
    limit = 1 if boxed else MAX_LINES_WITH_FIGURE if slide.has_figure else MAX_LINES
    limit = limit if max_lines is None else max_lines
    if any(c[0] == 0 for c in candidates):
        slide.compact = True
        chosen = [c for c in candidates if c[0] == 0]  # one line per exercise or per reference
    else:
        chosen = sorted(candidates, key=lambda c: (c[0], _order_key(c[1])))[:limit]
    chosen.sort(key=lambda c: _order_key(c[1]))
    for _, _, tokens, item in chosen:
        slide.items.append(item)
        slide.lines.append(tokens if isinstance(tokens, str) else _render_inline(shorten(tokens, chapter), chapter))
    if not slide.heading and context:
        slide.heading = f'<h3 class="context">{html.escape(context)}</h3>'
    return slide


def _order_key(order) -> tuple:
    return order if isinstance(order, tuple) else (order, 0)


def headings_of(text: str) -> list[tuple[int, str]]:
    """(level, plain text) of each heading in a markdown cell."""
    tokens = markdown_parser().parse(text)
    return [(int(t.tag[1]), "".join(c.content for c in (tokens[i + 1].children or []) if c.type in ("text", "code_inline")))
            for i, t in enumerate(tokens) if t.type == "heading_open"]


# --------------------------------------------------------------------------------------------
# The deck


def _shorten_output(output: dict, chapter: Chapter) -> dict:
    if output.get("output_type") != "stream":
        return output
    lines = output["text"].splitlines()
    if len(lines) <= MAX_OUTPUT_LINES:
        return output
    kept = lines[: MAX_OUTPUT_LINES - 1] + [chapter.word("more").format(len(lines) - MAX_OUTPUT_LINES + 1)]
    return {**output, "text": "\n".join(kept) + "\n"}


def prepare(nb: dict, chapter: Chapter) -> dict:
    """The chapter as nbconvert's slide exporter should see it: markdown cells rendered into
    slide HTML (``metadata.book_slide``), glue records and cut outputs out of the code cells."""
    cells, section, subsection = [], "", ""
    for cell in nb["cells"]:
        cell.setdefault("metadata", {}).setdefault("slideshow", {"slide_type": nbtool.slide_type(cell)})
        tags = cell["metadata"].get("tags", [])
        if "remove-cell" in tags:
            continue
        if cell["cell_type"] == "code":
            outputs = [o for o in cell.get("outputs", []) if "scrapbook" not in o.get("metadata", {})]
            if "remove-output" in tags:
                outputs = []
            cell["outputs"] = [_shorten_output(o, chapter) for o in outputs]
            if section:
                cell["metadata"]["book_context"] = " · ".join(h for h in (section, subsection) if h)
            cells.append(cell)
            continue
        if cell["cell_type"] != "markdown":
            cells.append(cell)
            continue
        text = nbtool.cell_source(cell)
        context = " · ".join(h for h in (section, subsection) if h)
        slide = markdown_slide(text, chapter, context=context)
        for level, title in headings_of(text):
            if level <= 2:
                section, subsection = title, ""
            elif level == 3:
                subsection = title
        cell["metadata"]["book_slide"] = slide.html()
        cells.append(cell)
        for extra in slide.extra:
            cells.append(nbformat.v4.new_markdown_cell("", metadata={
                "slideshow": {"slide_type": "subslide"}, "book_slide": extra.html()}))
    nb["cells"] = cells
    return nb


DEMO_MARK = '<figure class="capsdemo"'
DEMOS_DIR = ROOT / "_static" / "demos"


def add_demos(body: str, assets: Path, lang: str) -> str:
    """A deck that shows an interactive figure runs it as the site does: the figure's data, the
    forward passes and its module, copied under ``assets/demos/`` and loaded at the end of the page.
    The figure is marked with the deck's language (``lang``), which labels its controls."""
    names = list(dict.fromkeys(re.findall(r'<figure class="capsdemo" data-demo="([a-z_]+)"', body)))
    if not names:
        return body
    (assets / "demos" / "data").mkdir(parents=True, exist_ok=True)
    files = [f"data/{n}.js" for n in names] + ["capsdemo_nn.js", "capsdemo_ui.js"] + [f"{n}.js" for n in names]
    for name in files + ["capsdemo.css"]:
        shutil.copyfile(DEMOS_DIR / name, assets / "demos" / name)
    body = body.replace('<figure class="capsdemo"', f'<figure lang="{lang}" class="capsdemo"')
    tags = '<link rel="stylesheet" href="assets/demos/capsdemo.css">\n' + "".join(
        f'<script src="assets/demos/{name}"></script>\n' for name in files)
    return body.replace("</body>", tags + "</body>", 1)


def copy_assets(target: Path) -> None:
    import sphinx_revealjs

    reveal = Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"
    for part in ("dist", "plugin/notes"):
        shutil.copytree(reveal / part, target / "reveal" / part, dirs_exist_ok=True)
    bilingual.copy_mathjax(target / "mathjax")
    stale = target / "fonts" / "NanumGothic.ttf"  # the .ttf of earlier exports, which browsers refuse
    if stale.exists():
        stale.unlink()


def deck_text(body: str) -> str:
    """Everything a deck can show (slides and notes), for the font subset: the HTML's text."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts: list[str] = []

        def handle_data(self, data):
            self.parts.append(data)

    parser = Text()
    parser.feed(body)
    return "".join(parser.parts)


def chapter_of(source: Path, records: dict[str, dict], nb: dict) -> Chapter:
    markdown = [nbtool.cell_source(c) for c in nb["cells"] if c["cell_type"] == "markdown"]
    return Chapter.of(markdown, lang=source.parent.name, number=int(source.stem.split("_")[0]),
                      values={name: _record_value(o) for name, o in records.items()},
                      images=glued_images(records), folder=source.parent)


def export(source: Path, out_dir: Path) -> Path:
    nb, records = executed_notebook_and_records(source)
    nb = prepare(nb, chapter_of(source, records, nb))
    assets = out_dir / source.parent.name / "assets"
    exporter = SlidesExporter(
        extra_template_basedirs=[str(TEMPLATE_DIR)], template_name="book_reveal",
        reveal_url_prefix="assets/reveal", reveal_theme="white", reveal_scroll=True, reveal_width="1280", reveal_height="720",
    )
    resources = {"metadata": {"name": source.stem, "path": str(source.parent)},
                 "language_code": source.parent.name, "book_font_css": ""}
    body, _ = exporter.from_notebook_node(nbformat.from_dict(nb), resources=resources)
    # The font: a subset of the Hangul this deck shows, in a folder of its own so that exporting
    # one chapter never removes the files another deck uses.
    # An interactive figure writes its labels from its scripts: their text goes into the subset too.
    labels = "".join(p.read_text(encoding="utf-8") for p in sorted(DEMOS_DIR.glob("*.js"))) if DEMO_MARK in body else ""
    resources["book_font_css"] = webfont.write_web_font(
        assets / "fonts" / source.stem, deck_text(body) + labels, url_prefix=f"assets/fonts/{source.stem}")
    body, _ = exporter.from_notebook_node(nbformat.from_dict(nb), resources=resources)
    body = add_demos(body, assets, source.parent.name)
    target = out_dir / source.parent.name / f"{source.stem}.slides.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export chapters to offline reveal.js slide decks.")
    parser.add_argument("chapters", nargs="*", help="file-name prefixes such as 01 (default: all)")
    parser.add_argument("--lang", choices=("ko", "en", "both"), default="both")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "slides")
    args = parser.parse_args(argv)
    langs = ("ko", "en") if args.lang == "both" else (args.lang,)
    sources = [p for p in nbtool.chapter_paths() if p.parent.name in langs
               and (not args.chapters or any(p.name.startswith(c) for c in args.chapters))]
    if not sources:
        parser.error(f"no chapter matches {args.chapters} in {langs}")
    for lang in langs:
        copy_assets(args.out / lang / "assets")
    for source in sources:
        target = export(source, args.out)
        print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}  ({target.stat().st_size // 1024} KiB)")
    print(f"Slides written under {args.out}; open a .slides.html file in a browser (works offline).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
