"""Each page's ``<script>`` tags, once each: no inline script repeated.

Sphinx 7.4 writes an inline script twice when an extension adds it after the HTML builder started
(in ``builder-inited`` or ``env-before-read-docs``, as sphinx-thebe and sphinx-togglebutton do):
``app.add_js_file(None, body=...)`` gives it to the builder as filename ``None``, and
``StandaloneHTMLBuilder.prepare_writing`` adds the registry's copy again as filename ``''``; the
two do not compare equal, so both stay. A repeated ``var`` is harmless, but sphinx-thebe's
``const THEBE_JS_URL = ...`` declared twice throws "Uncaught SyntaxError: Identifier
'THEBE_JS_URL' has already been declared" on every page, and stops the rest of that script.

This drops the later copy of any script equal to an earlier one (same source or body, same
attributes), as the page's context is handed to the template; the first keeps its place.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def script_key(script) -> tuple:
    """What makes two of Sphinx's script assets the same script: source (``None`` and ``''``
    both mean an inline one), priority and attributes, the body among them."""
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {})
    return (str(filename), getattr(script, "priority", None), tuple(sorted(attributes.items())))


def unique_scripts(scripts: list) -> list:
    """``scripts`` without repeats, in their order."""
    seen: set[tuple] = set()
    kept = []
    for script in scripts:
        key = script_key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


def _drop_repeated_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        # In place: the list is the builder's own, which it resets before the next page.
        scripts[:] = unique_scripts(scripts)


def setup(app: Sphinx) -> dict:
    # Last of the page-context handlers, so scripts that others add for this page are seen too.
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
