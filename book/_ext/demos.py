"""The interactive figures' scripts, on the pages that hold one.

A chapter places a figure with an HTML block in its markdown::

    <figure class="capsdemo" data-demo="conv_shift">
    <div class="capsdemo-stage" hidden></div>
    <figcaption class="capsdemo-alt">What the figure shows, in words ...</figcaption>
    </figure>

For each page whose body holds such a figure, this adds (deferred, in this order) the figure's data
file ``demos/data/<name>.js``, the forward passes ``demos/capsdemo_nn.js``, the shared controls
``demos/capsdemo_ui.js`` and the figure's module ``demos/<name>.js`` (all under ``_static/``), and the
styles ``demos/capsdemo.css``. Other pages load none of it: Jupyter Book lists every ``.js`` and
``.css`` file under ``_static/`` in ``html_js_files`` / ``html_css_files`` (every page would load the
figures' 2.4 MB), so this takes the figures' files out of those lists again.
"""

from __future__ import annotations

import re

from sphinx.application import Sphinx

DEMO = re.compile(r'<figure class="capsdemo" data-demo="([a-z_]+)"')


def demos_on_page(body: str) -> list[str]:
    """The names of the figures in a page's HTML body, in order, each once."""
    return list(dict.fromkeys(DEMO.findall(body)))


def _add_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    names = demos_on_page(context.get("body", ""))
    if not names:
        return
    # The builder's own lists, which it restores before each page (app.add_js_file would also register
    # the file for every builder started later).
    builder = app.builder
    for name in names:
        builder.add_js_file(f"demos/data/{name}.js", priority=800, defer="defer")
    builder.add_js_file("demos/capsdemo_nn.js", priority=801, defer="defer")
    builder.add_js_file("demos/capsdemo_ui.js", priority=802, defer="defer")
    for name in names:
        builder.add_js_file(f"demos/{name}.js", priority=803, defer="defer")
    builder.add_css_file("demos/capsdemo.css", priority=800)


def _is_demo_file(entry) -> bool:
    filename = entry[0] if isinstance(entry, (tuple, list)) else entry
    return str(filename).replace("\\", "/").startswith("demos/")


def _not_on_every_page(app: Sphinx, config) -> None:
    config.html_js_files = [e for e in config.html_js_files if not _is_demo_file(e)]
    config.html_css_files = [e for e in config.html_css_files if not _is_demo_file(e)]


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _not_on_every_page)
    # Before page_scripts (priority 900) sees the page's scripts.
    app.connect("html-page-context", _add_scripts, priority=500)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
