"""The site's pages as nbconvert renders them: the exporter and its template, links between pages, index, glossary.

Every page, the index and the glossary included, is a notebook rendered by one `HTMLExporter` with the template in
templates/llmviz_site (nbconvert's lab template without any network load; see there). The index and the glossary are
small notebooks built here from markdown, so they get the same look, the same escaping and the same navigation
without a second HTML generator. This module executes nothing (build.py does) and knows no widget (static_widgets.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config

from llmviz.site.static_widgets import PLOTLY

TEMPLATES = Path(__file__).resolve().parent / "templates"
HIDE_INPUT = "llmviz-site-hide-input"  # a cell tag: the page shows this cell's output only
# nbconvert's HTML priority with plotly's figure JSON first: a plain plotly figure's output carries only it.
DISPLAY_PRIORITY = [PLOTLY, "text/html", "text/markdown", "image/svg+xml", "image/png", "image/jpeg", "text/plain"]

# A markdown link target that names a notebook or the glossary, as written in notebooks/ or docs/:
# "04_attention.ipynb", "../notebooks/04_attention.ipynb#part", "../docs/glossary.md".
_LINK = re.compile(r"\]\((?:\.\./notebooks/|\./)?([\w.-]+)\.ipynb(#[^)\s]*)?\)")
_GLOSSARY_LINK = re.compile(r"\]\((?:\.\./docs/|\./|docs/)?glossary\.md(#[^)\s]*)?\)")


def json_script(value) -> str:
    """JSON for a <script> element's text: no "<", ">" or "&", so no text inside can close or comment the element
    (nbconvert's escape_html_script only escapes "/", which leaves "<!--<script>" able to swallow the page)."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def site_link(source: str) -> str:
    """Markdown with links to notebooks and to docs/glossary.md pointing at their pages on the site."""
    source = _LINK.sub(lambda m: f"]({m.group(1)}.html{m.group(2) or ''})", source)
    return _GLOSSARY_LINK.sub(lambda m: f"](glossary.html{m.group(1) or ''})", source)


class SiteLinksPreprocessor(Preprocessor):
    """Markdown cells' links to notebooks and the glossary lead to the site's pages (see `site_link`)."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            cell.source = site_link(cell.source)
        return cell, resources


def exporter() -> HTMLExporter:
    """nbconvert's HTMLExporter with llmviz's template, no prompts, and cells tagged HIDE_INPUT or "hide-input" (the
    notebooks' collapsed test and solution cells) shown as their output only, as JupyterLab shows them collapsed."""
    config = Config()
    config.NbConvertBase.display_data_priority = DISPLAY_PRIORITY
    config.TagRemovePreprocessor.remove_input_tags = {HIDE_INPUT, "hide-input"}
    config.TagRemovePreprocessor.enabled = True
    html = HTMLExporter(config=config, template_name="llmviz_site", extra_template_basedirs=[str(TEMPLATES)],
                        exclude_input_prompt=True, exclude_output_prompt=True)
    html.register_filter("json_script", json_script)
    html.register_preprocessor(TagRemovePreprocessor(config=config), enabled=True)
    html.register_preprocessor(SiteLinksPreprocessor(), enabled=True)
    return html


def render(html: HTMLExporter, nb, title: str, binder_url: str = "", glossary: bool = True, here: bool = True,
           plotly_js: str = "plotly.min.js") -> str:
    """One page: the notebook through the exporter. The navigation bar links the index, the glossary (when the site
    has one) and Binder (binder_url, when set), and names this page (when `here`)."""
    settings = {"title": title, "binder_url": binder_url, "glossary": glossary, "here": here, "plotly_js": plotly_js}
    body, _ = html.from_notebook_node(nb, resources={"llmviz": settings, "metadata": {"name": title}})
    return body


def notebook_title(nb) -> str:
    """The first markdown heading of a notebook ("04 · Attention: how a token gathers ..."), or "" if it has none."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def index_notebook(entries: list[tuple[str, str]], pipeline_svg: str | None, glossary: bool,
                   pipeline_alt: str = "The pipeline from text to text, one stage per notebook.") -> object:
    """The index page as a notebook: a title, the pipeline diagram, the notebooks as links.

    entries: [(page name without .html, title)] in course order. pipeline_svg: the pipeline diagram as SVG markup
    from the library (issue 15's "you are here" diagram, with no stage highlighted), or None while it does not exist;
    pipeline_alt: its one-sentence text alternative.
    """
    cells = [new_markdown_cell(
        "# llmviz: how a language model turns a prompt into text\n\n"
        "The course, run once on a fresh kernel with every output kept. Figures answer hover and zoom here; widgets "
        "show their last state (run a notebook in JupyterLab or on Binder to move them).")]
    # The library's pipeline diagram (llmviz.viz.pipeline), drawn once as SVG; build.py passes it in.
    if pipeline_svg:
        diagram = new_code_cell("pipeline diagram", metadata={"tags": [HIDE_INPUT]})
        diagram.outputs = [new_output("display_data", data={"image/svg+xml": pipeline_svg},
                                      metadata={"alt": pipeline_alt})]
        cells.append(diagram)
    listing = "\n".join(f"- [{title or name}]({name}.html)" for name, title in entries)
    cells.append(new_markdown_cell("## The notebooks\n\n" + listing))
    if glossary:
        cells.append(new_markdown_cell("The [glossary](glossary.html) defines the terms the notebooks use."))
    return new_notebook(cells=cells, metadata={"language_info": {"name": "python"}})


def glossary_notebook(markdown: str) -> object:
    """docs/glossary.md as a one-cell notebook, rendered by nbconvert's markdown renderer (mistune)."""
    return new_notebook(cells=[new_markdown_cell(markdown)], metadata={"language_info": {"name": "python"}})
