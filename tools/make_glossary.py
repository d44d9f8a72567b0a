"""Write book/ko/glossary.md and book/en/glossary.md from book/glossary.yml.

    python tools/make_glossary.py          # rewrite both pages
    python tools/make_glossary.py --check  # exit 1 if a page is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "book" / "glossary.yml"


def chapter_files() -> dict[int, str]:
    """Chapter number -> notebook file name (without language), from notebooks/en."""
    return {int(p.name[:2]): p.name for p in sorted((ROOT / "notebooks" / "en").glob("[0-9][0-9]_*.ipynb"))}


def render(lang: str, entries: list[dict]) -> str:
    files = chapter_files()
    if lang == "ko":
        head = ("# 용어집\n\n이 책의 기술 용어와 그 한국어 번역입니다. 각 용어는 처음 나오는 장에서 "
                "`한국어(English)` 꼴로 소개한 뒤 한국어로만 씁니다.\n\n"
                "| 한국어 | English | 정의 | 처음 나오는 장 |\n|---|---|---|---|\n")
        row = "| {ko} | {en} | {ko_def} | {link} |\n"
        link = "[{n}장](../../notebooks/ko/{file})"
    else:
        head = ("# Glossary\n\nThe book's technical terms with their Korean translations, which the Korean "
                "edition uses throughout.\n\n| English | 한국어 | Definition | Introduced in |\n|---|---|---|---|\n")
        row = "| {en} | {ko} | {en_def} | {link} |\n"
        link = "[Chapter {n}](../../notebooks/en/{file})"
    lines = [head]
    for entry in sorted(entries, key=lambda e: e["chapter"]):
        n = entry["chapter"]
        where = link.format(n=n, file=files[n]) if n in files else str(n)
        lines.append(row.format(link=where, **{k: str(v).replace("|", "\\|") for k, v in entry.items()}))
    return "".join(lines)


def main(argv: list[str]) -> int:
    entries = yaml.safe_load(SOURCE.read_text(encoding="utf-8"))
    stale = []
    for lang in ("ko", "en"):
        page = ROOT / "book" / lang / "glossary.md"
        text = render(lang, entries)
        if "--check" in argv:
            if page.read_text(encoding="utf-8") != text:
                stale.append(str(page.relative_to(ROOT)))
        else:
            page.write_text(text, encoding="utf-8")
    for page in stale:
        print(f"{page} is out of date: run `python tools/make_glossary.py`")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
