"""Export chapters to reveal.js slide decks that open offline.

    python tools/slides.py                 # every chapter, both languages -> _build/slides/
    python tools/slides.py 01 --lang ko    # one chapter, one language

Each deck is one HTML file per chapter (``_build/slides/<lang>/<chapter>.slides.html``) beside
an ``assets/`` folder holding reveal.js, MathJax and the Korean font, so it opens from disk with
no network. Slides follow the cells' ``slideshow`` metadata (see tools/nbtool.py).

Outputs come from the book build (``_build/jupyter_execute``) when it is there and its code is
current; otherwise the chapter is executed first in the quick setting. MyST markup that only the
site understands is turned into plain slide text: glued numbers are filled in, a glued figure
shows as its caption under the plot the code cell drew, citations become author keys, and
exercise solutions are left out (they stay in the book).
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import bilingual  # noqa: E402
import nbtool  # noqa: E402

TEMPLATE_DIR = ROOT / "tools" / "slides_template"
EXECUTED_DIR = ROOT / "_build" / "jupyter_execute" / "notebooks"

_FENCE = re.compile(r"^(`{3,}|:{3,})\{(?P<name>[\w:-]+)\}(?P<arg>[^\n]*)\n(?P<body>.*?)^\1\s*$", re.M | re.S)
_OPTION = re.compile(r"^:[\w-]+:.*\n?", re.M)
_GLUE = re.compile(r"\{glue(?::\w+)?\}`(?P<name>[^`:]+)(?::(?P<fmt>[^`]+))?`")
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`")
_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<path>[^)\s]+\.(?:svg|png))\)")


def _record_value(output: dict) -> object:
    """The value of one glue record: its text/plain, read as a number where it is one."""
    text = output.get("data", {}).get("text/plain", "")
    text = text if isinstance(text, str) else "".join(text)
    try:
        return float(text) if "." in text or "e" in text else int(text)
    except ValueError:
        return text.strip("'\"")


def glued_values(nb: dict) -> dict[str, object]:
    """``name -> value`` of every ``glue`` output still in an executed notebook."""
    return {
        output["metadata"]["scrapbook"]["name"]: _record_value(output)
        for cell in nb["cells"] for output in cell.get("outputs", [])
        if "name" in output.get("metadata", {}).get("scrapbook", {})
    }


def glued_values_of_build(built: Path) -> dict[str, object]:
    """The book build moves glue records out of the notebook into ``<name>.glue.json``."""
    records = built.with_suffix(".glue.json")
    if not records.exists():
        return {}
    return {name: _record_value(output) for name, output in json.loads(records.read_text(encoding="utf-8")).items()}


def _format_glue(match: re.Match, values: dict) -> str:
    name, fmt = match["name"].strip(), match["fmt"]
    if name not in values:
        return f"`{name}`"
    value = values[name]
    try:
        return format(value, fmt) if fmt else str(value)
    except (TypeError, ValueError):
        return str(value)


def _plain_directive(match: re.Match) -> str:
    name, body = match["name"], _OPTION.sub("", match["body"]).strip()
    if name == "solution":
        return ""
    if name == "glue:figure":
        return f"*{body}*" if body else ""
    if name == "figure":
        return f"![]({match['arg'].strip()})\n\n*{body}*"
    if name in ("bibliography",):
        return ""
    title = {"exercise": "✎"}.get(name, name.split(":")[-1].capitalize())
    return f"> **{title}** {match['arg'].strip()}\n>\n" + "\n".join(f"> {line}" for line in body.splitlines())


@functools.lru_cache(maxsize=1)
def citation_labels() -> dict[str, str]:
    """BibTeX key -> "LeCun et al. 1998" from book/references.bib."""
    from pybtex.database import parse_file

    labels = {}
    for key, entry in parse_file(str(ROOT / "book" / "references.bib")).entries.items():
        authors = [p.last_names[0] for p in entry.persons.get("author", []) if p.last_names]
        who = authors[0] + (" et al." if len(authors) > 2 else f" and {authors[1]}" if len(authors) == 2 else "")
        labels[key] = f"{who} {entry.fields.get('year', '')}".strip()
    return labels


def _plain_role(match: re.Match) -> str:
    if match["role"].startswith("cite"):
        labels = citation_labels()
        return "(" + "; ".join(labels.get(k.strip(), k.strip()) for k in match["text"].split(",")) + ")"
    return match["text"]


def to_slide_markdown(text: str, values: dict) -> str:
    """MyST markdown -> plain markdown that nbconvert's slides render."""
    text = _GLUE.sub(lambda m: _format_glue(m, values), text)
    for _ in range(3):  # directives may nest
        text = _FENCE.sub(_plain_directive, text)
    return _ROLE.sub(_plain_role, text)


def embed_images(text: str, folder: Path) -> str:
    """Markdown images with paths relative to the chapter -> data URIs, so a deck is one file."""
    def data_uri(match: re.Match) -> str:
        path = (folder / match["path"]).resolve()
        if not path.is_file():
            return match[0]
        mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
        return f"![{match['alt']}](data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()})"

    return _IMAGE.sub(data_uri, text)


def _has_outputs(nb: dict) -> bool:
    return any(cell.get("outputs") for cell in nb["cells"] if cell["cell_type"] == "code")


def executed_notebook(source: Path) -> tuple[dict, dict[str, object]]:
    """The chapter with outputs, and its glued values: from the book build if current, else
    executed now.

    The build executes each chapter once and serves the other edition from its cache, so the
    outputs may sit in either language's executed copy; the code cells are the same, so the
    outputs of one fit the other.
    """
    nb = nbformat.read(source, as_version=4)
    code = [c for c, _ in nbtool.code_cells(nb)]
    other = "en" if source.parent.name == "ko" else "ko"
    for lang in (source.parent.name, other):
        built = EXECUTED_DIR / lang / source.name
        if not built.exists():
            continue
        executed = nbformat.read(built, as_version=4)
        if [c for c, _ in nbtool.code_cells(executed)] != code or not _has_outputs(executed):
            continue
        ours = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
        theirs = [cell for cell in executed["cells"] if cell["cell_type"] == "code"]
        for mine, done in zip(ours, theirs):
            mine["outputs"] = done.get("outputs", [])
        return nb, glued_values(executed) | glued_values_of_build(built)
    from nbclient import NotebookClient

    print(f"  executing {source.relative_to(ROOT)} (no current build output) ...", flush=True)
    os.environ.setdefault("BOOK_SETTING", "quick")
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}}).execute()
    return nb, glued_values(nb)


def prepare(nb: dict, values: dict[str, object], folder: Path) -> dict:
    for cell in nb["cells"]:
        cell.setdefault("metadata", {}).setdefault("slideshow", {"slide_type": nbtool.slide_type(cell)})
        if cell["cell_type"] == "code":  # glue records are for the site, not for display
            cell["outputs"] = [o for o in cell["outputs"] if "scrapbook" not in o.get("metadata", {})]
        if cell["cell_type"] == "markdown":
            cell["source"] = embed_images(to_slide_markdown(nbtool.cell_source(cell), values), folder)
    return nb


def copy_assets(target: Path) -> None:
    import sphinx_revealjs

    reveal = Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"
    for part in ("dist", "plugin/notes"):
        shutil.copytree(reveal / part, target / "reveal" / part, dirs_exist_ok=True)
    bilingual.copy_mathjax(target / "mathjax")
    bilingual.copy_fonts(target / "fonts")


def export(source: Path, out_dir: Path) -> Path:
    nb, values = executed_notebook(source)
    nb = prepare(nb, values, source.parent)
    exporter = SlidesExporter(
        extra_template_basedirs=[str(TEMPLATE_DIR)], template_name="book_reveal",
        reveal_url_prefix="assets/reveal", reveal_scroll=True,
    )
    body, _ = exporter.from_notebook_node(
        nbformat.from_dict(nb), resources={"metadata": {"name": source.stem, "path": str(source.parent)},
                                          "language_code": source.parent.name},
    )
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
