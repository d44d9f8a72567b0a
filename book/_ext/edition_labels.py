"""Numbered labels for the two editions: Korean words on Korean pages, numbers from 1 in each chapter.

The project has one Sphinx language (``language: en``), so Sphinx and sphinx-exercise name numbered
things in English: "Fig. 1.2", "Exercise 1.2", "Solution to Exercise 1.2". Pages of the Korean
edition (``notebooks/ko/``, ``book/ko/``) show "그림 1.2", "연습 문제 1.2" and "풀이: 연습 문제 1.2"
instead. Each label is made through a public extension point, never by rewriting rendered HTML:

- Caption numbers (figures, tables, code blocks, and sphinx-exercise's numbered exercises, which
  Sphinx numbers as the enumerable type ``exercise``): the HTML translator writes them with
  ``numfig_format``. :class:`EditionLabelsTranslatorMixin`, mixed into whatever translator the
  HTML builder uses (``app.set_translator``), hands it ``korean_numfig_format`` on Korean pages.
- Numbered references (``{numref}``, and sphinx-exercise's references to numbered exercises):
  just before Sphinx resolves them, :class:`KoreanNumberedReferences` gives each reference on a
  Korean page the Korean format as its explicit title, as an author writing
  ``{numref}`그림 {number} <label>``` would, and Sphinx fills in the number.
- Solution titles (and unnumbered exercise titles): :class:`KoreanExerciseTitles` puts the Korean
  words into the title's text nodes after sphinx-exercise has built them. If sphinx-exercise ever
  builds them differently, the build warns (an error under ``-W``) instead of going on in English.

Sphinx counts figures per section number across the whole book, and both editions' chapters carry
the same numbers, so :func:`restart_numbers_per_chapter` makes them start from 1 in every chapter.
"""

from __future__ import annotations

import types

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.locale import get_translation
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

KOREAN_PREFIXES = ("notebooks/ko/", "book/ko/")

# Same keys and %s placeholder as Sphinx's ``numfig_format``; a type missing here keeps the English.
KOREAN_NUMFIG_FORMAT = {
    "figure": "그림 %s",
    "table": "표 %s",
    "code-block": "코드 %s",
    "exercise": "연습 문제 %s",
}
KOREAN_EXERCISE = "연습 문제"
# sphinx-exercise's default solution titles (message ids of its "exercise" catalog) -> Korean.
KOREAN_SOLUTION_TITLES = {"Solution to": "풀이:", "Solution": "풀이"}

LANGUAGE_ATTRIBUTE = "edition_language"  # on each doctree's root, for the translator


def page_language(pagename: str) -> str:
    """``"ko"`` for the Korean edition's pages, ``"en"`` for all others."""
    return "ko" if pagename.startswith(KOREAN_PREFIXES) else "en"


def korean_numfig_format(config) -> dict[str, str]:
    """``numfig_format`` for a Korean page: the project's, with ``korean_numfig_format`` on top."""
    return {**config.numfig_format, **config.korean_numfig_format}


# --- Caption numbers: the HTML translator ----------------------------------------------------


class _ConfigWithNumfigFormat:
    """The builder's config seen through another ``numfig_format``; everything else unchanged."""

    def __init__(self, config, numfig_format: dict[str, str]) -> None:
        self._config = config
        self.numfig_format = numfig_format

    def __getattr__(self, name: str):
        return getattr(self._config, name)


class EditionLabelsTranslatorMixin:
    """Writes caption numbers with the Korean ``numfig_format`` on Korean pages.

    Sphinx's HTML translator writes "Fig. 1.2" in ``add_fignumber`` from ``config.numfig_format``;
    on a Korean page that call alone sees the Korean formats. Sphinx itself still decides which
    nodes are numbered and what their numbers are.
    """

    def add_fignumber(self, node: nodes.Element) -> None:
        if self.document.get(LANGUAGE_ATTRIBUTE) != "ko":
            super().add_fignumber(node)
            return
        config = self.config
        self.config = _ConfigWithNumfigFormat(config, korean_numfig_format(config))
        try:
            super().add_fignumber(node)
        finally:
            self.config = config


def _use_edition_translator(app: Sphinx) -> None:
    """Mix :class:`EditionLabelsTranslatorMixin` into the HTML builder's translator.

    Runs after the theme's own ``builder-inited`` handler: pydata-sphinx-theme (under
    sphinx-book-theme) registers its BootstrapHTML5Translator, a subclass of the builder's
    ``default_translator_class`` (Sphinx's HTML5Translator), and this wraps that.
    """
    if app.builder.format != "html":
        return
    base = app.builder.get_translator_class()
    if issubclass(base, EditionLabelsTranslatorMixin):
        return
    if not callable(getattr(base, "add_fignumber", None)):
        raise ExtensionError(
            f"edition_labels: the HTML translator {base.__module__}.{base.__qualname__} has no add_fignumber(); "
            "Korean caption numbers need book/_ext/edition_labels.py updated for this Sphinx")
    translator = types.new_class(f"EditionLabels{base.__name__}", (EditionLabelsTranslatorMixin, base), {})
    app.set_translator(app.builder.name, translator, override=True)


# --- Numbered references -------------------------------------------------------------------


def _explicit_title(numfig_format: str) -> str:
    """A ``numfig_format`` entry as an explicit numref title: "그림 %s" -> "그림 {number}"."""
    if "{number}" in numfig_format or "{name}" in numfig_format:
        return numfig_format
    return numfig_format.replace("%s", "{number}")


class KoreanNumberedReferences(SphinxPostTransform):
    """Marks each page's language; on Korean pages, numbered references read "그림 N.k"."""

    # After sphinx-exercise turns references to numbered exercises into numrefs (priority 5),
    # before Sphinx's ReferencesResolver (priority 10) resolves them.
    default_priority = 8

    def run(self, **kwargs) -> None:
        language = page_language(self.env.docname)
        self.document[LANGUAGE_ATTRIBUTE] = language
        if language != "ko":
            return
        formats = korean_numfig_format(self.config)
        std = self.env.get_domain("std")
        for ref in list(self.document.findall(addnodes.pending_xref)):
            if ref.get("refdomain") != "std" or ref.get("reftype") != "numref" or ref.get("refexplicit"):
                continue
            figtype = self._target_type(std, ref["reftarget"])
            if figtype not in formats or not ref.children:
                continue  # unknown targets are left to Sphinx, which reports them
            content = ref[0]
            del content[:]
            content += nodes.Text(_explicit_title(formats[figtype]))
            ref["refexplicit"] = True

    def _target_type(self, std, target: str) -> str | None:
        docname, labelid = std.anonlabels.get(target, ("", ""))
        if not docname:
            return None
        doctree = self.document if docname == self.env.docname else self.env.get_doctree(docname)
        node = doctree.ids.get(labelid)
        return std.get_enumerable_node_type(node) if node is not None else None


# --- sphinx-exercise titles ----------------------------------------------------------------


def _replace_text(text: nodes.Text, new: str) -> None:
    text.parent.replace(text, nodes.Text(new))


class KoreanExerciseTitles(SphinxPostTransform):
    """On Korean pages: "풀이: 연습 문제 N.k" for solutions, "연습 문제" for unnumbered exercises.

    sphinx-exercise builds a solution's title as the text "Solution to" followed by a link whose
    text is " Exercise N.k" (the linked exercise's title and number). Numbered exercises' own
    titles hold no words: their "Exercise N.k" is a caption number, written by the translator.
    """

    default_priority = 25  # after sphinx-exercise resolves its titles (priorities 20-22)

    def run(self, **kwargs) -> None:
        if page_language(self.env.docname) != "ko":
            return
        try:
            from sphinx_exercise.nodes import exercise_node, solution_node
        except ImportError:
            return
        # The English words as sphinx-exercise wrote them: its catalog, in the project's language.
        english = get_translation("exercise")
        exercise = str(english("Exercise"))
        solutions = {str(english(msgid)): korean for msgid, korean in KOREAN_SOLUTION_TITLES.items()}
        for node in self.document.findall(exercise_node):
            title = self._title(node)
            if title is not None and title.children and title[0].astext() == exercise:
                _replace_text(title[0], KOREAN_EXERCISE)
        for node in self.document.findall(solution_node):
            title = self._title(node)
            if title is None or not self._localise_solution_title(title, solutions, exercise):
                logger.warning(
                    "edition_labels: sphinx-exercise built a solution title of a shape this module does not "
                    "know (%r), so it stays in English; update book/_ext/edition_labels.py",
                    node.astext()[:60], location=node)
                continue
            node["title"] = title.astext()

    @staticmethod
    def _title(node: nodes.Element) -> nodes.title | None:
        return node[0] if node.children and isinstance(node[0], nodes.title) else None

    @staticmethod
    def _localise_solution_title(title: nodes.title, solutions: dict[str, str], exercise: str) -> bool:
        """Korean words into ``title``'s text nodes; False if it is not shaped as expected."""
        head = title[0] if title.children else None
        if not isinstance(head, nodes.Text) or head.astext() not in solutions:
            return False
        _replace_text(head, solutions[head.astext()])
        links = [child for child in title.children if isinstance(child, nodes.reference)]
        if not links:  # exercise_style = "solution_follow_exercise": the title is the word alone
            return len(title.children) == 1
        text = links[0][0] if links[0].children else None
        prefix = f" {exercise}"
        if not isinstance(text, nodes.Text) or not text.astext().startswith(prefix):
            return False
        _replace_text(text, f" {KOREAN_EXERCISE}{text.astext()[len(prefix):]}")
        return True


# --- Numbers from 1 in every chapter ---------------------------------------------------------


def check_fignumbers_shape(toc_fignumbers) -> None:
    """Fail loudly unless Sphinx's figure numbers are ``{docname: {figtype: {id: (sec..., n)}}}``.

    ``env.toc_fignumbers`` is not a documented API, and a Sphinx release may change it; the
    numbering below must then stop the build rather than number the chapters wrongly.
    """
    def shaped(numbers) -> bool:
        return isinstance(numbers, dict) and all(
            isinstance(key, str) and isinstance(number, tuple) and number
            and all(isinstance(part, int) for part in number)
            for key, number in numbers.items())

    if not isinstance(toc_fignumbers, dict) or not all(
            isinstance(by_type, dict) and all(isinstance(t, str) and shaped(n) for t, n in by_type.items())
            for by_type in toc_fignumbers.values()):
        raise ExtensionError(
            "edition_labels: Sphinx's env.toc_fignumbers is no longer {docname: {figtype: {id: (section..., n)}}}; "
            "figures cannot be numbered from 1 in each chapter; update book/_ext/edition_labels.py")


def restart_numbers_per_chapter(toc_fignumbers: dict) -> None:
    """Number figures and exercises from 1 in every chapter (in place).

    Both editions' chapters carry the same section numbers (chapter 7 is "7" in Korean and in
    English), and Sphinx counts figures per section number across the whole book, so without
    this the English chapter 7 would start at "Fig. 7.5". Each chapter is one document, so its
    numbers simply restart at 1.

    No public setting does this: ``numfig_secnum_depth`` only chooses how many section levels
    prefix the number, and Sphinx keeps one counter per section number for the whole project.
    Sphinx's numbers are read from ``env.toc_fignumbers`` by the HTML translator, by numref
    resolution and by sphinx-exercise, so changing them here keeps all three consistent;
    :func:`check_fignumbers_shape` stops the build if that structure changes.
    """
    check_fignumbers_shape(toc_fignumbers)
    for by_type in toc_fignumbers.values():
        for numbers in by_type.values():
            if not numbers:
                continue
            first = min(number[-1] for number in numbers.values())
            for key, number in numbers.items():
                numbers[key] = (*number[:-1], number[-1] - first + 1)


def _restart_numbers(app: Sphinx, env) -> list[str]:
    if app.config.numfig:
        if not hasattr(env, "toc_fignumbers"):
            raise ExtensionError("edition_labels: Sphinx no longer keeps env.toc_fignumbers; "
                                 "update book/_ext/edition_labels.py")
        restart_numbers_per_chapter(env.toc_fignumbers)
    return []


def setup(app: Sphinx) -> dict:
    app.add_config_value("korean_numfig_format", dict(KOREAN_NUMFIG_FORMAT), "env", types=(dict,))
    app.add_post_transform(KoreanNumberedReferences)
    app.add_post_transform(KoreanExerciseTitles)
    # After the theme's translator (pydata-sphinx-theme, default priority 500).
    app.connect("builder-inited", _use_edition_translator, priority=900)
    # After Sphinx's own numbering (toctree collector, default priority 500).
    app.connect("env-get-updated", _restart_numbers, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
