"""The prose of the book's MyST markdown, for checks that read words (terms, register, glosses).

    from prose import units, clean_inline, unclosed_fences

``units(text)`` splits markdown into the pieces a reader reads as one run of text: paragraphs,
list items, table cells, headings, the bodies of prose directives (figure captions, exercises,
solutions, admonitions). What is not prose is left out:

* fenced code (```` ```python ````, a bare ```` ``` ````) and code-like directives
  (``{code-cell}``, ``{math}``, ``{include}``, ...);
* a directive's header line (its name and argument: a label, a file) and its options
  (``:name: ...``, ``:alt: ...``, a ``---`` YAML block);
* block math ``$$ ... $$`` and inline math ``$ ... $`` (``clean_inline``);
* inline code, MyST roles with their targets, link targets, bare URLs and HTML tags
  (``clean_inline``).

Fences follow CommonMark: a fence of n backticks (or colons) closes at the first later line made
only of at least n of the same character; a directive's body is parsed again as markdown, so
fences nest only when the inner one is shorter. A fence that never closes runs to the end of the
cell and swallows it: ``unclosed_fences`` reports those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FENCE = re.compile(r"^ {0,3}(`{3,}|:{3,})\s*(.*?)\s*$")
# Directives whose body is code or raw text, not prose.
RAW_DIRECTIVES = {"code-cell", "code", "code-block", "sourcecode", "math", "raw", "include",
                  "literalinclude", "eval-rst", "mermaid", "glossary-raw", "csv-table", "list-table"}
OPTION = re.compile(r"^\s*:[\w-]+:")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@dataclass(frozen=True)
class Unit:
    kind: str  # "paragraph", "item", "cell" (a table cell), "heading"
    text: str  # the raw markdown of the unit, fences and directive options already removed


def _fence_opener(line: str):
    match = FENCE.match(line)
    if not match:
        return None
    marker, info = match.groups()
    if marker[0] == "`" and "`" in info:  # ```x``` on one line is inline code, not a fence
        return None
    return marker[0], len(marker), info


def _closer_index(lines: list[str], start: int, char: str, length: int) -> int | None:
    closer = re.compile(rf"^ {{0,3}}{re.escape(char)}{{{length},}}\s*$")
    for j in range(start, len(lines)):
        if closer.match(lines[j]):
            return j
    return None


def _walk(lines: list[str], out: list[str], problems: list[str], first_line: int) -> None:
    """Append the prose lines of ``lines`` to ``out`` (non-prose lines become blank lines)."""
    i = 0
    while i < len(lines):
        opener = _fence_opener(lines[i])
        if not opener:
            out.append(lines[i])
            i += 1
            continue
        char, length, info = opener
        end = _closer_index(lines, i + 1, char, length)
        if end is None:
            problems.append(f"line {first_line + i + 1}: {lines[i].strip()!r} is never closed "
                            "(it swallows the rest of the cell)")
            end = len(lines)
        body = lines[i + 1:end]
        directive = re.match(r"\{([\w:.-]+)\}", info)
        out.append("")
        if directive and directive.group(1) not in RAW_DIRECTIVES:
            skip = 0
            if body and body[0].strip() == "---":  # YAML options block
                close = next((k for k in range(1, len(body)) if body[k].strip() == "---"), 0)
                skip = close + 1
            while skip < len(body) and OPTION.match(body[skip]):
                skip += 1
            out.extend("" for _ in range(skip))
            _walk(body[skip:], out, problems, first_line + i + 1 + skip)
        else:
            out.extend("" for _ in body)
        out.append("")
        i = end + 1


def strip_fences(text: str) -> str:
    """The markdown with code fences, directive headers and options blanked out."""
    out: list[str] = []
    _walk(text.split("\n"), out, [], 0)
    return "\n".join(out)


def unclosed_fences(text: str) -> list[str]:
    """One line per fence (```` ``` ````/``:::``, any directive) that is never closed."""
    problems: list[str] = []
    _walk(text.split("\n"), [], problems, 0)
    return problems


BLOCK_MATH = re.compile(r"\$\$.*?\$\$", re.S)
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
HEADING = re.compile(r"^\s*#{1,6}\s+")
TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]+\|?\s*$")


def units(text: str) -> list[Unit]:
    """The prose units of a markdown text, in order."""
    prose = BLOCK_MATH.sub(" ", strip_fences(text))
    found: list[Unit] = []
    current: list[str] = []
    kind = "paragraph"

    def flush():
        nonlocal current
        joined = "\n".join(current).strip()
        if joined:
            found.append(Unit(kind, joined))
        current = []

    for line in prose.split("\n"):
        line = re.sub(r"^\s*>\s?", "", line)  # block quotes read as prose
        if not line.strip():
            flush()
            kind = "paragraph"
        elif HEADING.match(line):
            flush()
            found.append(Unit("heading", HEADING.sub("", line).strip()))
            kind = "paragraph"
        elif line.lstrip().startswith("|"):
            flush()
            if not TABLE_RULE.match(line):
                cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
                found.extend(Unit("cell", c.strip()) for c in cells if c.strip())
            kind = "paragraph"
        elif LIST_ITEM.match(line):
            flush()
            kind = "item"
            current.append(LIST_ITEM.sub("", line))
        else:
            current.append(line)
    flush()
    return found


ROLE = re.compile(r"\{([\w:.-]+)\}`([^`]*)`")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?=\S)(?:[^$\\\n]|\\.)+?(?<=\S)\$")
IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
URL = re.compile(r"<?https?://[^\s)>]+>?")
HTML = re.compile(r"</?[a-zA-Z][^>]*>")
PLACEHOLDER = "◇"  # stands for a value or a name the page fills in; no Hangul, no sentence end


def clean_inline(text: str) -> str:
    """Prose with roles, inline code, math, link targets, URLs, HTML and emphasis marks removed.

    A role or a code span becomes ``◇`` (the reader sees a value or a name there); ``{cite:p}``
    (a parenthetical citation) disappears. Line breaks inside a unit become spaces.
    """
    text = ROLE.sub(lambda m: "" if m.group(1) == "cite:p" else PLACEHOLDER, text)
    text = CODE_SPAN.sub(PLACEHOLDER, text)
    text = INLINE_MATH.sub(PLACEHOLDER, text)
    text = IMAGE.sub(r"\1", text)
    text = LINK.sub(r"\1", text)
    text = URL.sub("", text)
    text = HTML.sub("", text)
    text = text.replace("**", "").replace("*", "").replace("\\|", "|")
    return re.sub(r"\s+", " ", text).strip()
