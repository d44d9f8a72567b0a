"""Korean prose checks: one word per concept, one register, particles, glosses; plus two English checks.

What is read (tools/prose.py does the stripping): the markdown cells of notebooks/ko/*.ipynb,
book/ko/intro.md, instructor.md and _chapter_times.md, book/index.md (its English half has no
Hangul, so no rule below can fire on it) and the `ko` and `ko_def` fields of book/glossary.yml.
book/ko/glossary.md is generated from glossary.yml and is checked there. Before checking, fenced
code, directive headers and options (`:name:`, `:alt:`), math, inline code, MyST roles with their
targets, link targets, URLs and HTML are removed; a role or a code span reads as ``◇``.

The rules come from shared/TERMS_ko.md (the one Korean word per concept and the voice). Each check
is one parametrised test per file, and its message gives file, cell, the snippet and the right word.
Each check is demonstrated on a sample that breaks it (test_*_catches_*), and on correct Korean
that looks close to a violation (so the refinements below stay honest).

Besides the term variants, two checks read what the stripping removes: a citation written by hand
("Sabour 외(2017)") next to a {cite:p} of the same work renders it twice, and English words in the
``\\text{}`` of Korean math ("\\text{for every } g") are English prose in disguise.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import make_glossary  # noqa: E402
import prose  # noqa: E402

HANGUL = r"\uac00-\ud7a3"


# --------------------------------------------------------------------------------------------
# What is read


@dataclass(frozen=True)
class Piece:
    where: str  # "cell 12", "line", "entry 'stride' ko_def"
    unit: prose.Unit


def _cell_source(cell: dict) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def notebook_pieces(path: Path) -> list[Piece]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [Piece(f"cell {i}", unit) for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "markdown"
            for unit in prose.units(_cell_source(cell))]


def markdown_pieces(text: str) -> list[Piece]:
    return [Piece("page", unit) for unit in prose.units(text)]


def glossary_pieces(path: Path) -> list[Piece]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Piece(f"entry {entry['en']!r} {field}", prose.Unit("paragraph", str(entry[field])))
            for entry in entries for field in ("ko", "ko_def")]


def korean_files() -> list[Path]:
    return (sorted((ROOT / "notebooks" / "ko").glob("*.ipynb"))
            + [ROOT / "book" / "ko" / name for name in ("intro.md", "instructor.md", "_chapter_times.md")]
            + [ROOT / "book" / "index.md", ROOT / "book" / "glossary.yml"])


def pieces(path: Path) -> list[Piece]:
    if path.suffix == ".ipynb":
        return notebook_pieces(path)
    if path.suffix == ".yml":
        return glossary_pieces(path)
    return markdown_pieces(path.read_text(encoding="utf-8"))


def _id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _snippet(text: str, start: int, end: int, width: int = 18) -> str:
    return ("…" if start > width else "") + text[max(0, start - width):end + width].strip() + (
        "…" if end + width < len(text) else "")


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` around [start, end): bounded by . ? ! followed by a space."""
    left = max((m.end() for m in re.finditer(r"[.?!]\s", text[:start])), default=0)
    right = re.search(r"[.?!](\s|$)", text[end:])
    return text[left:end + right.end()] if right else text[left:]


# --------------------------------------------------------------------------------------------
# a. Banned variants (TERMS_ko.md's notes)

# Context words of the one sense of 기울기 the book allows: the slope of a plotted line or the
# slant of a digit (TERMS_ko.md: "기울기 only for a slope or a digit's slant"). 기울기 is allowed
# when its sentence has one of SLOPE and none of GRADIENT; otherwise it is read as "gradient".
SLOPE = ("숫자", "획", "글씨", "굵기", "기울어", "기울인", "비스듬", "직선", "곡선", "로그 축", "선의")
GRADIENT = ("전달", "역전파", "미분", "손실", "학습률", "갱신", "하강", "흐르", "흘러")
# 번역 is right for translating a language ("한국어 번역"); it is the wrong word for a geometric
# translation (평행 이동). It is allowed when its sentence is about language.
LANGUAGE = ("한국어", "영어", "영문", "용어", "언어", "원문", "원서", "번역본", "옮긴이", "판")


def _gradient_sense(text: str, m: re.Match) -> bool:
    sentence = _sentence(text, m.start(), m.end())
    return any(w in sentence for w in GRADIENT) or not any(w in sentence for w in SLOPE)


def _geometric_translation(text: str, m: re.Match) -> bool:
    return not any(w in _sentence(text, m.start(), m.end()) for w in LANGUAGE)


# 날카로운 (날카롭게) is the wrong word for sharp routing or coupling (TERMS_ko.md: 뚜렷한); elsewhere
# ("날카로운 경계") it may stand. It is banned when its sentence is about routing.
ROUTING = ("라우팅", "결합", "로짓", "합의", "소프트맥스")


def _routing_sense(text: str, m: re.Match) -> bool:
    return any(w in _sentence(text, m.start(), m.end()) for w in ROUTING)


def cited_surnames(bib: Path) -> list[str]:
    """Every author's surname in the book's bibliography (for "Sabour 등", written by hand)."""
    names = set()
    for authors in re.findall(r"author\s*=\s*\{(.*)\},?\s*$", bib.read_text(encoding="utf-8"), re.M):
        names.update(a.split(",")[0].strip().strip("{}") for a in authors.split(" and "))
    return sorted(n for n in names if re.fullmatch(r"[A-Z][A-Za-z-]+", n))


CITED_SURNAMES = cited_surnames(ROOT / "book" / "references.bib")


@dataclass(frozen=True)
class Variant:
    pattern: str
    right: str
    applies: object = None  # optional (text, match) -> bool: is this match really the banned sense?


VARIANTS = [
    Variant(r"특징", "특성 (feature, feature map: 특성 맵)"),
    Variant(r"에폭", "에포크"),
    Variant(r"밀집\s?층|완전\s?연결층|완전연결", "완전 연결 층"),
    Variant(r"자동\s?인코더", "오토인코더 (변환 오토인코더)"),
    Variant(r"매개\s?변수", "파라미터"),
    # 영상 (image) as a word of its own or the end of a compound (입력영상); not 上 after a noun
    # ending in 영: 운영상, 경영상, 반영상, 투영상, 촬영상, 방영상, 수영상, 환영상, 공영상.
    Variant(r"(?<![반투운경촬환수공방])영상", "이미지"),
    Variant(r"거래", "트레이드오프 (득실)"),
    Variant(r"벽시계", "실행 시간 (경과 시간)"),
    Variant(r"네트워크\s?없이", "인터넷 연결 없이"),
    Variant(r"같은\s?가중치[\"”’']?\s?CNN", "파라미터 수를 맞춘 CNN"),
    Variant(r"기울기", "그래디언트 (기울기 only for a slope or a digit's slant)", _gradient_sense),
    Variant(r"번역", "평행 이동 (번역 only for translating a language)", _geometric_translation),
    Variant(r"상호\s?상관", "교차 상관"),
    Variant(r"앨리어싱", "에일리어싱 (안티에일리어싱)"),
    # 자세 as the word for pose; 자세히 / 자세한 / 자세하게 (in detail) are another word, and the
    # gloss 포즈(자세, pose) is where 자세 belongs.
    Variant(r"(?<!포즈\()(?<![" + HANGUL + r"])자세(?![히한하])", "포즈 (gloss once as 포즈(자세, pose))"),
    # 수용장 only in the gloss 수용 영역(수용장, ...) or as an explicit "also called" note.
    Variant(r"(?<!수용 영역\()수용장(?!이라고도)", "수용 영역 (gloss once as 수용 영역(수용장, receptive field))"),
    # The term decisions of issue 22 (TERMS_ko.md: plain, clean, sharp, affine change, toy, et al.,
    # Procedure 1, difference map, we, fit, sizes) and the calques it named.
    # 보통 before a model reads as "usually"; 보통 as an adverb (보통 작습니다) is right.
    Variant(r"보통의?\s?(?:CNN|합성곱|신경망|네트워크|쌍둥이|뉴런|인코더|기본 캡슐|캡슐)",
            "일반 CNN, 일반 쌍둥이(대조군), 일반적인 …, 전형적인 … (보통 reads as 'usually')"),
    Variant(r"평범", "일반 CNN, 일반 쌍둥이(대조군) (평범한 connotes mediocre)"),
    Variant(r"기준\s?(?:\([^)]*\)\s?)?CNN", "일반 CNN (the book's baseline) / 논문이 비교한 CNN (the paper's)"),
    Variant(r"깨끗", "원본 이미지, 원본 테스트 세트 (gloss once as 원본(변환하지 않은) 이미지)"),
    Variant(r"단호", "뚜렷한 라우팅, 뚜렷하게 (단호한 personifies)"),
    Variant(r"날카(?:로|롭)", "뚜렷한, 뚜렷하게 (beside routing and coupling)", _routing_sense),
    Variant(r"아핀\s?변화", "아핀 변환"),
    Variant(r"(?:차이|오차)\s?지도", "차이 맵, 오차 맵 (맵 as in 특성 맵)"),
    # smallNORB's photographs of toys are toys; a toy example is an 예제.
    Variant(r"장난감(?!\s?(?:사진|모형|인형))", "예제 (예제 캡슐)"),
    Variant(r"(?<![A-Za-z])(?:" + "|".join(CITED_SURNAMES) + r")(?:(?:와|과) [A-Z][A-Za-z-]+)? 등(?=[은이의과와에도(\s]|$)",
            "외: \"Sabour 외(2017)\" (never 등)"),
    Variant(r"(?<!\()Procedure\s?1", "절차 1 (gloss once as 논문의 절차 1(Procedure 1))"),
    Variant(rf"(?<![{HANGUL}])우리\s?(?:는|가)(?![{HANGUL}])", "이 책에서는 / a sentence without a subject (not 우리 as subject)"),
    Variant(r"Setup\s?셀", "준비 셀 (no English in Korean prose)"),
    Variant(r"CPU\s?cores?|(?<![A-Za-z])cores?(?![A-Za-z])", "2코어 CPU (no English in Korean prose)"),
    Variant(r"빠른\s?크기", "작은 크기(`quick`); 빠른 설정 is the setting"),
    Variant(r"MNIST\s?너머", "MNIST 밖의 결과, 그 밖의 결과 (calque of 'beyond MNIST')"),
    Variant(r"공정하게\s?말하면", "다만 … (calque of 'to be fair')"),
    Variant(r"어떻게\s?비교됩니까", "비교하면 어떻습니까? (calque of 'how do they compare')"),
    Variant(rf"(?<![{HANGUL}])행동(?:하|할|한|합|해)", "결과가 … 비슷합니다 (calque of 'behave')"),
    Variant(r"함수를(?:\s[^\s.]+){0,2}\s?맞추|맞추는\s?(?:동안|세트)", "학습시키다, 적합하다 (fit; 맞추다 is 'match')"),
    Variant(r"(?<![A-Za-z0-9_.])\d+x\d+(?![A-Za-z0-9_])", "× in sizes: 6×6, 40×40 (not x)"),
]


def variant_problems(items: list[Piece]) -> list[str]:
    found = []
    for piece in items:
        text = prose.clean_inline(piece.unit.text)
        if not re.search(f"[{HANGUL}]", text):
            continue  # an English unit (book/index.md's English half): the Latin patterns are for Korean prose
        for variant in VARIANTS:
            for m in re.finditer(variant.pattern, text):
                if variant.applies is None or variant.applies(text, m):
                    found.append(f"{piece.where}: {_snippet(text, m.start(), m.end())!r}: "
                                 f"{m.group(0)!r} -> {variant.right}")
    return found


@pytest.mark.parametrize("path", korean_files(), ids=_id)
def test_no_banned_term_variants(path):
    problems = variant_problems(pieces(path))
    assert not problems, f"{_id(path)}: term variants TERMS_ko.md rules out:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------
# a2. A citation written twice. TERMS_ko.md: "Sabour 외(2017)", written by hand or by {cite:t}, not
# both. A hand-written author and year (Sabour 외(2017), Azulay와 Weiss(2019), (Sabour 외, 2017))
# in the same paragraph or list item as a {cite:p} of that work renders the citation twice:
# "Sabour 외(2017)는 … (Sabour et al., 2017)". Read on the raw unit, where the roles still stand; the
# work is the same when its key (sabour2017dynamic) starts with the surname and holds the year.

HAND_CITATION = re.compile(r"([A-Z][A-Za-z-]+)(?:(?:와|과) [A-Z][A-Za-z-]+| 외)?(?:\s?\(|, )(\d{4})\)")
CITE_P = re.compile(r"\{cite:p\}`([^`]*)`")


def double_citation_problems(items: list[Piece]) -> list[str]:
    found = []
    for piece in items:
        text = re.sub(r"\s+", " ", piece.unit.text)
        keys = [k.strip() for m in CITE_P.finditer(text) for k in m.group(1).split(",")]
        for m in HAND_CITATION.finditer(text):
            surname, year = m.group(1).lower(), m.group(2)
            same = [k for k in keys if k.lower().startswith(surname) and year in k]
            if same:
                found.append(f"{piece.where}: {_snippet(text, m.start(), m.end())!r}: {m.group(0)!r} by hand and "
                             f"{{cite:p}}`{same[0]}` -> keep the role, drop the hand-written year "
                             "(or write the sentence without the name)")
    return found


@pytest.mark.parametrize("path", korean_files(), ids=_id)
def test_no_citation_written_twice(path):
    problems = double_citation_problems(pieces(path))
    assert not problems, f"{_id(path)}: citations that render twice:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------
# a3. No English words inside the \\text{} of Korean math ("\\text{for every } g" on a Korean
# page; TERMS_ko.md: no English left in Korean prose). The prose checks never see math, so this
# one reads the raw markdown. Allowed: the short names mathematics writes in Latin letters on any
# page (max, min, id, in, out, mod) and function names the page defines (shift, softmax, squash).

MATH_NAMES = {"max", "min", "id", "in", "out", "mod", "shift", "softmax", "squash", "argmax", "sign"}
MATH_TEXT = re.compile(r"\\text\{([^{}]*)\}")


def raw_markdown(path: Path) -> list[tuple[str, str]]:
    """(where, markdown) of the Korean markdown a reader sees: notebook markdown cells, or the page."""
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        return [(f"cell {i}", _cell_source(c)) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"]
    if path.suffix == ".md":
        return [("page", path.read_text(encoding="utf-8"))]
    return []


def math_english_problems(items: list[tuple[str, str]]) -> list[str]:
    found = []
    for where, markdown in items:
        for m in MATH_TEXT.finditer(markdown):
            words = [w for w in re.findall(r"[A-Za-z]{2,}", m.group(1)) if w.lower() not in MATH_NAMES]
            if words:
                found.append(f"{where}: {m.group(0)!r}: English {words} in Korean math -> Korean words: \\text{{모든 }} g\\text{{에 대해}}, \\text{{픽셀}}")
    return found


@pytest.mark.parametrize("path", korean_files(), ids=_id)
def test_no_english_words_in_korean_math(path):
    problems = math_english_problems(raw_markdown(path))
    assert not problems, f"{_id(path)}: English inside \\text{{}} of Korean math:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------
# b. Register: 합니다체 throughout
#
# A sentence ends where a Hangul word is followed (after one parenthetical, closing brackets, quotes
# or emphasis: "없다(`None`).") by
# . ? ! or a colon, or ends its unit (a paragraph, list item, table cell). Headings are titles and
# are not read; text inside quotation marks (“…”, "…", ‘…’, '…') is someone else's voice.
#   해요체: the word ends in 요 (~요, ~까요, ~세요, ~지요, ~네요) or 죠; not the nouns ending in 요
#          (NOUNS_YO: 필요, 중요, 개요, ...).
#   해라체: ~다 where the syllable before 다 is not 니 (습니다, ㅂ니다), the word is not the
#          합니다체 proposal ~ㅂ시다 (봅시다) and not the particles 마다 / 보다 (a paragraph can
#          stop at "클래스 k마다" before a $$ block that continues the sentence); ~라 before . or ! (~하라); ~자 before . or ! after a
#          verb stem (보자, 하자; not 숫자, 연산자); before ?: ~가 / ~나 / ~냐 (~는가?, ~인가?)
#          and ~까 not after 니 (~ㄹ까?; 습니까 is 합니다체).
# A list item or caption ending in a noun ends in none of these and passes.

NOUNS_YO = {"필요", "불필요", "중요", "개요", "주요", "수요", "소요", "강요", "요"}
VERB_STEMS_JA = set("보하두가쓰재세읽찾들넣놓풀알살피따바")
ENDS = (re.compile(rf"([{HANGUL}]+)[)\]’”\"'*_]*\s*([.?!:]|$)"),
        re.compile(rf"([{HANGUL}]+)\s?\([^()]*\)[)\]’”\"'*_]*\s*([.?!:]|$)"))
PARTICLES_DA = ("마다", "보다")  # particles (every, than): a unit may end in one before block math
QUOTED = re.compile(r"“[^”]*”|\"[^\"\n]*\"|‘[^’]*’|'[^'\n]*'")


def _final_consonant(syllable: str) -> int:
    return (ord(syllable) - 0xAC00) % 28


def register_slip(word: str, stop: str) -> str | None:
    """Why the sentence ending ``word`` + ``stop`` is not 합니다체 (None if it is)."""
    if word.endswith("요") and word not in NOUNS_YO and not any(word.endswith(n) for n in NOUNS_YO - {"요"}):
        return "해요체 (~요)"
    if word.endswith("죠"):
        return "해요체 (~죠)"
    if word.endswith("다") and len(word) >= 2 and stop in (".", "!", ":", ""):
        if word.endswith("니다") or word.endswith(PARTICLES_DA):
            return None
        if word.endswith("시다") and len(word) >= 3 and _final_consonant(word[-3]) == 17:  # ㅂ
            return None
        return "해라체 (~다)"
    if word.endswith("라") and len(word) >= 2 and stop in (".", "!"):
        return "해라체 (~라)"
    if word.endswith("자") and len(word) >= 2 and word[-2] in VERB_STEMS_JA and stop in (".", "!"):
        return "해라체 (~자)"
    if stop == "?" and word[-1] in "가나냐":
        return "해라체 question (~가? ~나? ~냐?)"
    if stop == "?" and word.endswith("까") and not word.endswith("니까"):
        return "반말 question (~ㄹ까?)"
    return None


def register_problems(items: list[Piece]) -> list[str]:
    found = []
    for piece in items:
        if piece.unit.kind == "heading":
            continue
        text = QUOTED.sub(prose.PLACEHOLDER, prose.clean_inline(piece.unit.text))
        ends = sorted({(m.start(1), m.end(), m.group(1), m.group(2)) for end in ENDS for m in end.finditer(text)})
        for start, stop_at, word, stop in ends:
            why = register_slip(word, stop or "")
            if why:
                found.append(f"{piece.where}: {_snippet(text, start, stop_at)!r}: {why} -> 합니다체 "
                             "(~습니다 / ~입니다 / ~합니까? / ~십시오 / ~봅시다)")
    return found


@pytest.mark.parametrize("path", korean_files(), ids=_id)
def test_register_is_hapnida_throughout(path):
    problems = register_problems(pieces(path))
    assert not problems, f"{_id(path)}: sentences not in 합니다체:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------
# c. No particle right after a value the page fills in ({glue}, {glue:text}, {glue:md}, {cite:t}):
# the right particle depends on the rendered value's last syllable. The copula 이 (이고, 이며,
# 이므로) is not a particle here; 가지 and 개 after a number are counters, not particles. A value
# formatted as a percentage (`x:.1%`) ends in its unit, like a literal % after the role, and the
# particle then follows the unit (퍼센트를): not this check's business.

PARTICLE_AFTER_VALUE = re.compile(
    r"\{(glue|glue:text|glue:md|cite:t)\}`([^`]*[^`%])`"
    rf"(으로|에서|보다|처럼|을|를|은|는|과|와|로|의|에|도|만|가(?!지)|이(?![{HANGUL}]))"
)


def particle_problems(items: list[Piece]) -> list[str]:
    found = []
    for piece in items:
        text = re.sub(r"\s+", " ", piece.unit.text)
        for m in PARTICLE_AFTER_VALUE.finditer(text):
            found.append(f"{piece.where}: {_snippet(text, m.start(), m.end(), 12)!r}: particle {m.group(3)!r} "
                         f"after {{{m.group(1)}}}`{m.group(2)}` -> rewrite so that no particle follows the value "
                         "(or compute the particle with it)")
    return found


@pytest.mark.parametrize("path", korean_files(), ids=_id)
def test_no_particle_after_filled_in_values(path):
    problems = particle_problems(pieces(path))
    assert not problems, f"{_id(path)}: particles after glued or cited values:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------
# d. Gloss on first use: the first time the Korean chapters (01..07, in order) use a glossary
# term in prose, the English follows in parentheses, as 한국어(English).
#
# Terms: make_glossary.korean_terms (the `ko` field split at top-level commas and slashes, a
# parenthesis dropped: "커널, 필터" is 커널 and 필터, "패딩 (제로 패딩, 순환 패딩)" is 패딩,
# "포즈(자세)" is 포즈; an entry's `gloss:` list replaces this). Each term is checked on its own.
# Where: prose only; headings, the References section, code and math are not read.
# Gloss: a parenthesis that opens inside the match or within GLOSS_GAP characters after it
# (so "평행 이동 등변성(translation equivariance)" glosses 평행 이동) and whose content holds one
# of the entry's English words (make_glossary.english_words, case-insensitive); or, inside a
# parenthesis, a comma and the English right after the term: "(합의, agreement)".

GLOSS_GAP = 8
ENTRIES = yaml.safe_load((ROOT / "book" / "glossary.yml").read_text(encoding="utf-8"))


def korean_chapter_prose() -> list[tuple[str, int, str]]:
    """(chapter file, cell, prose) of every non-heading prose unit of the Korean chapters, in order."""
    return [(name, cell, text) for _, name in sorted(make_glossary.chapter_files().items())
            for cell, kind, text in make_glossary.chapter_prose(ROOT / "notebooks" / "ko" / name)
            if kind != "heading"]


def glossed(text: str, m: re.Match, english: list[str]) -> bool:
    after = text[m.end():m.end() + 80].lower()
    if after.startswith(",") and any(after[1:].lstrip().startswith(w.lower()) for w in english):
        return True  # the term glossed inside a parenthesis: (합의, agreement)
    window = text[m.start():m.end() + GLOSS_GAP]
    for paren in re.finditer(r"\(", window):
        start = m.start() + paren.start() + 1
        depth, end = 1, start
        while end < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        content = text[start:end].lower()
        if any(word.lower() in content for word in english):
            return True
    return False


def gloss_problems(entry: dict, units: list[tuple[str, int, str]]) -> list[str]:
    found = []
    english = make_glossary.english_words(entry)
    terms = make_glossary.korean_terms(entry)
    paired = make_glossary.english_terms(entry)
    for k, term in enumerate(terms):
        right = paired[k] if len(paired) == len(terms) else " / ".join(english)
        pattern = make_glossary.term_pattern(term, "ko")
        first = next(((name, cell, text, m) for name, cell, text in units
                      for m in [pattern.search(text)] if m), None)
        if first is None:
            found.append(f"{term}: not used in the prose of any Korean chapter (only in headings?)")
            continue
        name, cell, text, m = first
        if not glossed(text, m, english):
            found.append(f"notebooks/ko/{name} cell {cell}: first use of {term!r} is not glossed: "
                         f"{_snippet(text, m.start(), m.end(), 24)!r} -> {term}({right})")
    return found


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["en"])
def test_glossary_terms_are_glossed_on_first_use(entry):
    problems = gloss_problems(entry, korean_chapter_prose())
    assert not problems, "\n  ".join(["first use without 한국어(English):"] + problems)


# --------------------------------------------------------------------------------------------
# English markdown: no Hangul, except where it is deliberate: the alt text of the badge that
# links to the Korean edition, and the glossary page's 한국어 column and header (the landing page,
# book/index.md, is bilingual and is not an English page).

def english_markdown() -> list[tuple[str, str]]:
    """(where, markdown) for every markdown cell of notebooks/en and every page of book/en."""
    found = []
    for path in sorted((ROOT / "notebooks" / "en").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        found += [(f"{_id(path)} cell {i}", _cell_source(c)) for i, c in enumerate(nb["cells"])
                  if c["cell_type"] == "markdown"]
    for path in sorted((ROOT / "book" / "en").glob("*.md")):
        found.append((_id(path), path.read_text(encoding="utf-8")))
    return found


KO = HANGUL + r"\u1100-\u11ff\u3130-\u318f"  # syllables and jamo
KOREAN_BADGE = re.compile(r"\[!\[[^\]]*\]\([^)]*badge_korean\.svg\)\]\(\.\./ko/[^)]*\)")


def hangul_problems(where: str, markdown: str) -> list[str]:
    if where.endswith("glossary.md"):  # the 한국어 column: the second cell of each table row
        markdown = "\n".join(re.sub(r"^(\|[^|]*\|)[^|]*\|", r"\1 |", line) if line.startswith("|") else line
                             for line in markdown.split("\n"))
    markdown = KOREAN_BADGE.sub("", markdown)
    return [f"{where}: {_snippet(markdown, m.start(), m.end())!r}"
            for m in re.finditer(rf"[{KO}](?:[^\n]*[{KO}])?", markdown)]


@pytest.mark.parametrize("where, markdown", english_markdown(), ids=[w for w, _ in english_markdown()])
def test_english_markdown_has_no_hangul(where, markdown):
    problems = hangul_problems(where, markdown)
    assert not problems, "Korean in English prose:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------
# Every fence ({exercise}, {solution}, code, any directive) in every notebook's markdown is closed
# inside its cell: an unclosed one swallows the rest of the chapter.

def all_notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*/*.ipynb"))


@pytest.mark.parametrize("path", all_notebooks(), ids=_id)
def test_every_fence_is_closed(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    problems = [f"cell {i}, {p}" for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"
                for p in prose.unclosed_fences(_cell_source(c))]
    assert not problems, f"{_id(path)}: unclosed fences:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------
# Each check catches what it is meant to catch, and leaves alone correct Korean that looks close.

def _pieces(markdown: str) -> list[Piece]:
    return markdown_pieces(markdown)


@pytest.mark.parametrize("bad", [
    "특징 맵을 봅니다.", "세 에폭 동안 학습합니다.", "밀집 층을 씁니다.", "마지막 밀집층입니다.",
    "완전 연결층 128입니다.", "변환 자동 인코더입니다.", "매개변수 셀입니다.", "입력 영상을 옮깁니다.",
    "그 거래를 보여 줍니다.", "벽시계 시간입니다.", "네트워크 없이 끝납니다.", "같은 가중치 CNN은 87%입니다.",
    "\"같은 가중치\" CNN은 넓습니다.", "디코더가 기울기를 받지 않습니다.", "라우팅 안의 기울기를 봅니다.",
    "이미지의 번역에 대해 등변입니다.", "상호 상관을 계산합니다.", "앨리어싱이 생깁니다.",
    "전체의 자세를 예측합니다.", "수용장이 넓어집니다.",
    "보통 CNN은 87%입니다.", "보통의 합성곱 층입니다.", "평범한 쌍둥이와 비교합니다.", "기준 CNN의 정확도입니다.",
    "기준(baseline) CNN을 학습합니다.", "깨끗한 테스트 세트입니다.", "라우팅이 단호합니다.",
    "결합을 날카롭게 하는 라우팅입니다.", "아핀 변화에 강건합니다.", "차이 지도를 봅니다.", "오차 지도입니다.",
    "장난감 캡슐을 만듭니다.", "Sabour 등은 제안합니다.", "Sabour 등(2017)의 라우팅입니다.", "Azulay와 Weiss 등이 보였습니다.",
    "Procedure 1을 구현합니다.", "## Procedure 1: 합의", "우리는 4,000개를 씁니다.", "규칙은 우리가 정했습니다.",
    "Setup 셀에서 바꿉니다.", "2 CPU cores에서 1분입니다.", "논문 크기와 빠른 크기를 놓습니다.", "**논문, MNIST 너머**: 79%입니다.",
    "공정하게 말하면 논증입니다.", "두 모델은 어떻게 비교됩니까?", "세로 이동도 비슷하게 행동합니다.",
    "판독 함수를 맞추고 시험합니다.", "선형 함수를 일부 예제로 맞추고 시험합니다.", "맞추는 세트에서 0입니다.", "40x40 캔버스입니다.", "2x2 최대 풀링입니다.",
])
def test_variant_check_catches_each_banned_word(bad):
    assert variant_problems(_pieces(bad)), bad


@pytest.mark.parametrize("good", [
    "특성 맵을 봅니다.", "운영상의 이유로 나눕니다.", "경영상 판단입니다.", "자세한 절차는 5장에서 다룹니다.",
    "자세히 봅시다.", "포즈(자세, pose)를 담습니다.", "수용 영역(수용장, receptive field)이 넓어집니다.",
    "수용장이라고도 합니다.", "숫자의 기울기와 굵기를 따라갑니다.", "오른쪽(로그 축): 0 근처에서는 기울기 2입니다.",
    "이 책의 기술 용어와 그 한국어 번역입니다.", "완전 연결 층 128입니다.", "결합의 세기가 커집니다.",
    "파라미터 수를 맞춘 CNN은 넓습니다.", "같은 가중치를 모든 위치에서 씁니다.",
    "블러 풀링과의 차이는 보통 작습니다.", "한 부분은 보통 한 전체에만 속합니다.", "일반 CNN과 일반 쌍둥이(대조군)입니다.",
    "기준 작업의 배수입니다.", "원본(변환하지 않은) 이미지입니다.", "라우팅이 뚜렷합니다.", "날카로운 경계가 생깁니다.",
    "아핀 변환에 강건합니다.", "차이 맵을 봅니다.", "여러 시점에서 찍은 장난감 사진인 smallNORB입니다.", "예제 캡슐입니다.",
    "Sabour 외(2017)의 라우팅입니다.", "합성곱, 풀링 등은 층입니다.", "논문의 절차 1(Procedure 1)을 구현합니다.",
    "이 책은 4,000개를 씁니다.", "우리말로 씁니다.", "준비 셀에서 바꿉니다.", "2코어 CPU에서 1분입니다.",
    "작은 크기(`quick`)입니다.", "캡슐의 16개 값에 맞추어 판독합니다.", "40×40 캔버스입니다.", "`x_train`은 28×28입니다.",
    "| The paper's Procedure 1 on a 40x40 canvas, 2 CPU cores. |",
])
def test_variant_check_leaves_correct_korean_alone(good):
    assert not variant_problems(_pieces(good)), good


@pytest.mark.parametrize("bad", [
    "모든 위치에서 같은 가중치를 쓰는 것이지요.", "두 값은 다릅니다(대칭이 아니니까요).", "어떻게 바뀔까요?",
    "확인해 보세요.", "이 값을 구하세요.", "몇 개인가요?", "그래디언트는 다르다.", "그래디언트는 없다(`None`).",
    "- 순환 패딩에서는 정확히 등변이다", "| 합성곱은 이동과 교환되는가? |", "다시 실행해 보자.", "어디가 달라질까?",
    "직접 확인하라.", "다음과 같다:",
])
def test_register_check_catches_haeyo_and_haera(bad):
    assert register_problems(_pieces(bad)), bad


@pytest.mark.parametrize("good", [
    "확인합니다.", "함께 봅시다.", "옮겨 봅시다!", "이 값은 무엇입니까?", "GPU에서 실행하십시오.",
    "## 제로 패딩: 오차는 어디에 생기는가", "“CNN은 이동 불변이다” 같은 말을 믿는 대신 측정합니다.",
    '"CapsNet이 어디서 더 나을까?"를 예측하게 하십시오.', "- 학습 데이터 4,000개.", "- 9×9 커널 256개",
    "옮긴 뒤 합성곱(위)과 합성곱 뒤 이동(아래).", "| 1장 | 15초 |", "개요", "- 숫자.", "- 더 많은 데이터가 필요.",
    "논문의 마진 손실은 클래스 $k$마다\n\n$$\nL_k = 0\n$$\n\n을 더한 것입니다.",
    "결과는 같습니다(`np.allclose`).", "```python\nx = 1  # 이다.\n```",
])
def test_register_check_leaves_hapnida_alone(good):
    assert not register_problems(_pieces(good)), good


@pytest.mark.parametrize("bad", [
    "예측의 {glue:text}`flip:.2f`를 바꿉니다.", "{cite:t}`zhang2019making`는 보였습니다.",
    "{glue:text}`n:,`이 남습니다.", "{glue:text}`a`에서 {glue:text}`b`로 줄었습니다.", "{glue}`x`와 같습니다.",
    "{cite:t}`sabour2017dynamic`의 CapsNet입니다.",
])
def test_particle_check_catches_a_particle_after_a_value(bad):
    assert particle_problems(_pieces(bad)), bad


@pytest.mark.parametrize("good", [
    "차이는 {glue:text}`d:.1e`입니다.", "최대 {glue:text}`d:.1e`이고 작습니다.", "{glue:text}`n`가지 이동입니다.",
    "{glue:text}`n:,`개입니다.", "예측의 {glue:text}`flip:.1%`를 바꿉니다.", "{glue:text}`acc:.1f`%를 얻습니다.",
    "Sabour 외(2017)는 보였습니다.", "{numref}`fig-ko-01-x`은 보여 줍니다.", "{cite:p}`sabour2017dynamic`.",
])
def test_particle_check_leaves_values_without_particles_alone(good):
    assert not particle_problems(_pieces(good)), good


@pytest.mark.parametrize("bad", [
    "Sabour 외(2017)의 CapsNet은 얕습니다 {cite:p}`sabour2017dynamic`.",
    "Hinton 외(2011)에 따르면 그렇습니다. 파라미터도 변해야 합니다 {cite:p}`hinton2011transforming`.",
    "Azulay와 Weiss(2019)는 보였습니다 {cite:p}`azulay2019why`.",
    "- 겹친 숫자입니다(Sabour 외, 2017) {cite:p}`sabour2017dynamic`.",
    "Sabour 외(2017)는 그렇게 봅니다 {cite:p}`hinton2011transforming,sabour2017dynamic`.",
])
def test_double_citation_check_catches_a_hand_written_year_beside_the_role(bad):
    assert double_citation_problems(_pieces(bad)), bad


@pytest.mark.parametrize("good", [
    "Sabour 외(2017)의 CapsNet 구조를 봅니다.", "Sabour 외는 캡슐을 정의합니다 {cite:p}`sabour2017dynamic`.",
    "CapsNet은 얕습니다 {cite:p}`sabour2017dynamic`.", "Hinton 외(2011)는 캡슐을 제안합니다 {cite:p}`sabour2017dynamic`.",
    "{cite:t}`sabour2017dynamic` 논문의 CapsNet입니다.",
])
def test_double_citation_check_leaves_single_citations_alone(good):
    assert not double_citation_problems(_pieces(good)), good


def test_math_check_catches_english_in_korean_math_but_not_math_names():
    assert math_english_problems([("cell 1", "$$\\Phi(f) \\quad \\text{for every } g.$$")])
    assert math_english_problems([("cell 1", "$\\sum_{\\text{pixels}} x$")])
    assert not math_english_problems([("cell 1", "$$\\Phi(f) \\quad \\text{모든 } g\\text{에 대해}.$$")])
    assert not math_english_problems([("cell 1", "$\\rho_{\\text{in}} = \\text{id}$, $P(\\text{shift}(x))$")])


def _units(*texts: str) -> list[tuple[str, int, str]]:
    return [("01_x.ipynb", i, prose.clean_inline(t)) for i, t in enumerate(texts)]


ENTRY = {"en": "kernel, filter", "ko": "커널, 필터"}


def test_gloss_check_catches_a_first_use_without_english():
    assert gloss_problems(ENTRY, _units("작은 커널 하나를 씁니다.", "커널(kernel)과 필터(filter)입니다."))
    assert gloss_problems(ENTRY, _units("커널(kernel)을 씁니다.", "필터를 씁니다.", "필터(filter)입니다."))
    assert gloss_problems({"en": "agreement", "ko": "합의"}, _units("합의를 보는 방식으로 계산합니다(agreement)."))


def test_gloss_check_accepts_the_gloss_forms_the_book_uses():
    assert not gloss_problems(ENTRY, _units("작은 커널(kernel)과 필터(Filter)를 씁니다.", "커널만 씁니다."))
    translation = {"en": "translation (shift)", "ko": "평행 이동"}
    assert not gloss_problems(translation, _units("**평행 이동 등변성**(translation equivariance)입니다."))
    assert not gloss_problems({"en": "agreement", "ko": "합의"}, _units("결합의 세기와 합의(agreement)를 봅니다."))
    assert not gloss_problems({"en": "agreement", "ko": "합의"}, _units("맞는지(합의, agreement)를 봅니다."))
    squash = {"en": "squash", "ko": "스쿼시(squash) 함수"}
    assert not gloss_problems(squash, _units("스쿼시(squash) 함수를 씁니다."))


def test_hangul_check_catches_korean_in_english_prose_but_not_the_badge():
    badge = "[![한국어판](../../images/badge_korean.svg)](../ko/01_convolution_equivariance.ipynb)"
    assert not hangul_problems("notebooks/en/01_x.ipynb cell 0", f"# Title\n\n{badge}\n")
    assert hangul_problems("notebooks/en/07_x.ipynb cell 10", "a group-equivariant CNN (군(그룹) 등변 CNN).")
    row = "| kernel | 커널 | The small array. | [Chapter 1](x) |"
    assert not hangul_problems("book/en/glossary.md", row)
    assert hangul_problems("book/en/glossary.md", "| kernel | 커널 | 작은 배열 | [Chapter 1](x) |")


def test_fence_check_catches_an_unclosed_solution():
    closed = "````{solution} x\n:class: dropdown\n\nText.\n\n```python\nx = 1\n```\n````\n\nAfter."
    assert not prose.unclosed_fences(closed)
    assert prose.unclosed_fences(closed.replace("\n````\n", "\n"))
    # the classic slip: a three-backtick solution with a code block inside closes early, and its
    # last fence then opens a new block that runs to the end of the cell
    assert prose.unclosed_fences(closed.replace("````", "```"))
    assert prose.unclosed_fences(":::{exercise}\nText.\n")
