"""Write book/ko/glossary.md and book/en/glossary.md from book/glossary.yml.

    python tools/make_glossary.py          # rewrite both pages
    python tools/make_glossary.py --check  # exit 1 if a page is out of date

The chapter column ("처음 나오는 장" / "Introduced in") is computed, not typed: it is the first
chapter whose prose or headings (tools/prose.py: no code, math or directive options; the References
section left out) use one of the entry's terms, read in each edition separately. Where the two editions disagree the script says so
(the pages still show each edition's own chapter). An entry may pin the chapter with `chapter:`,
but only together with `chapter_reason:`.

How an entry's terms are read (`korean_terms`, `english_terms`; tests/test_korean.py uses the same):
  * the field is split at top-level commas and slashes: "커널, 필터" is two terms;
  * a parenthesis belongs to the term before it and is not searched for: in "패딩 (제로 패딩,
    순환 패딩)" and "풀링 (최대, 평균, 전역)" the term is 패딩 / 풀링, in "포즈(자세)" it is 포즈;
  * in the text, a parenthesis may stand between the words of a term: "스쿼시 함수" matches
    "스쿼시(squash) 함수", "군 등변 CNN" matches "군(그룹) 등변 CNN"; otherwise the words are
    separated by spaces as in the glossary ("완전 연결층" is not "완전 연결 층");
  * a Korean term starts a word (결합의 does not contain the term 합의); an English term is a whole
    word, plural allowed (kernels);
  * `gloss:` (a list) replaces the Korean search terms where the rule above would be wrong.
"""

from __future__ import annotations

import json
import re
import sys
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "book" / "glossary.yml"
sys.path.insert(0, str(Path(__file__).resolve().parent))
import prose  # noqa: E402


def chapter_files() -> dict[int, str]:
    """Chapter number -> notebook file name (without language), from notebooks/en."""
    return {int(p.name[:2]): p.name for p in sorted((ROOT / "notebooks" / "en").glob("[0-9][0-9]_*.ipynb"))}


def _split_top_level(field: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in str(field):
        depth += ch == "("
        depth -= ch == ")"
        if ch in ",/" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [p for p in (re.sub(r"\s+", " ", re.sub(r"\([^)]*\)", " ", p)).strip() for p in parts + [current]) if p]


def korean_terms(entry: dict) -> list[str]:
    gloss = entry.get("gloss")
    if gloss:
        return [gloss] if isinstance(gloss, str) else list(gloss)
    return _split_top_level(entry["ko"])


def english_terms(entry: dict) -> list[str]:
    return _split_top_level(entry["en"])


def english_words(entry: dict) -> list[str]:
    """Every comma-, slash- or parenthesis-separated piece of the English field (for glosses)."""
    return [w.strip() for w in re.split(r"[,/()]", str(entry["en"])) if w.strip()]


def term_pattern(term: str, lang: str) -> re.Pattern:
    """The regular expression that finds a term in prose (see the module docstring)."""
    words = [re.escape(w) for w in term.split()]
    pattern = r"(?:\s+|\s*\([^)]*\)\s*)".join(words)
    if lang == "ko":
        return re.compile(rf"(?<![\uac00-\ud7a3]){pattern}")
    return re.compile(rf"(?<![\w-]){pattern}(?:s|es)?(?![\w-])", re.I)


REFERENCES = {"참고문헌", "References"}


def chapter_prose(path: Path) -> list[tuple[int, str, str]]:
    """(cell index, unit kind, cleaned prose) of each prose unit of a notebook's markdown, the
    References section left out (an annotated bibliography mentions terms ahead of their chapter)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    found, in_references = [], False
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        for unit in prose.units(source):
            text = prose.clean_inline(unit.text)
            if unit.kind == "heading":
                in_references = text in REFERENCES
            if not in_references:
                found.append((index, unit.kind, text))
    return found


@lru_cache(maxsize=None)
def _chapters(lang: str) -> tuple[tuple[int, str], ...]:
    """(chapter number, all its prose, headings included) in chapter order."""
    return tuple((n, "\n".join(text for _, _, text in chapter_prose(ROOT / "notebooks" / lang / name)))
                 for n, name in sorted(chapter_files().items()))


def first_chapter(entry: dict, lang: str) -> int | None:
    """The first chapter of the edition whose prose (or a heading) uses one of the entry's terms."""
    terms = korean_terms(entry) if lang == "ko" else english_terms(entry)
    for n, text in _chapters(lang):
        if any(term_pattern(t, lang).search(text) for t in terms):
            return n
    return None


def chapters(entry: dict) -> dict[str, int]:
    """{"ko": n, "en": m}: the computed chapters, or the pinned one (`chapter:` + `chapter_reason:`)."""
    if "chapter" in entry:
        if not entry.get("chapter_reason"):
            raise SystemExit(f"glossary entry {entry['en']!r}: `chapter:` pins the chapter only with a `chapter_reason:`")
        return {"ko": entry["chapter"], "en": entry["chapter"]}
    found = {lang: first_chapter(entry, lang) for lang in ("ko", "en")}
    if found["ko"] is None:
        raise SystemExit(f"glossary entry {entry['en']!r}: no Korean chapter uses {korean_terms(entry)}")
    if found["en"] is None:  # reported by disagreements(); the page shows the Korean chapter
        found["en"] = found["ko"]
    return found


def disagreements(entries: list[dict]) -> list[str]:
    lines = []
    for entry in entries:
        if "chapter" in entry:
            continue
        ko, en = first_chapter(entry, "ko"), first_chapter(entry, "en")
        if en is None:
            lines.append(f"note: {entry['en']!r}: no English chapter uses {english_terms(entry)}; "
                         f"the English page shows the Korean edition's chapter {ko}")
        elif ko != en:
            lines.append(f"note: {entry['en']!r} / {entry['ko']!r} first appears in chapter {ko} "
                         f"of the Korean edition but chapter {en} of the English one")
    return lines


ROW_FIELDS = ("en", "ko", "en_def", "ko_def")


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
    numbered = [(chapters(entry)[lang], entry) for entry in entries]
    for n, entry in sorted(numbered, key=lambda pair: pair[0]):
        where = link.format(n=n, file=files[n]) if n in files else str(n)
        lines.append(row.format(link=where, **{k: str(entry[k]).replace("|", "\\|") for k in ROW_FIELDS}))
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
    for line in disagreements(entries):
        print(line)
    for page in stale:
        print(f"{page} is out of date: run `python tools/make_glossary.py`")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
