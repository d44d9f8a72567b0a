"""Assemble chapter 8's notebooks from chapter_<lang>.md, history_<lang>.md and cells_code.py (one-off)."""
import json
import re
import sys

sys.path.insert(0, "drafts/chapter8")
from cells_code import CODE  # noqa: E402

MARK = re.compile(r"^<!-- (md|code|history|cell)([^:>]*)(?::\s*(\w+))? -->\s*$")


def parse(text, history=None):
    cells, kind, opts, name, buf = [], "md", "slide", None, []

    def flush():
        if kind == "md" or kind == "cell":
            body = "\n".join(buf).strip()
            if body:
                cells.append(("md", opts, body))
        buf.clear()

    for line in text.splitlines():
        m = MARK.match(line)
        if not m:
            buf.append(line)
            continue
        flush()
        kind, opts, name = m.group(1), m.group(2).strip(), m.group(3)
        if kind == "code":
            cells.append(("code", opts, CODE[name]))
            kind = "md"  # text after a code marker starts a new markdown cell
            opts = ""
        elif kind == "history":
            cells.extend(history)
            kind, opts = "md", ""
        elif kind == "cell":
            kind, opts = "md", ""
    flush()
    return cells


def to_notebook(cells):
    out = []
    for kind, opts, body in cells:
        words = opts.split()
        slide = "slide" if "slide" in words else ("skip" if "skip" in words else "subslide")
        meta = {"slideshow": {"slide_type": slide}}
        tags = [t for t in ("parameters", "remove-output") if t in words]
        if tags:
            meta["tags"] = tags
        cell = {"cell_type": "markdown" if kind == "md" else "code", "metadata": meta, "source": body}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    return {"cells": out, "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                                        "name": "python3"}, "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


for lang in sys.argv[1:]:
    history = parse(open(f"drafts/chapter8/history_{lang}.md").read())
    cells = parse(open(f"drafts/chapter8/chapter_{lang}.md").read(), history)
    json.dump(to_notebook(cells), open(f"notebooks/{lang}/08_overlapping_digits.ipynb", "w"), ensure_ascii=False, indent=1)
    print(lang, len(cells), "cells")
