"""The static site (llmviz/site): widgets become their last state, pages load nothing from a network, what users
typed stays text, links lead to pages, and the Binder link comes from pyproject's one setting.

The fast tests feed the preprocessor and the exporter made-up widget state; the slow one runs a small notebook with
llmviz's FigureWidget on a fresh kernel, moves the figure after it is shown, and reads the page's figure data back.
The browser tier (tests/browser/test_site.py) opens real pages from file:// with the network blocked.
"""

from __future__ import annotations

import base64
import json
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from llmviz.site import build, pages
from llmviz.site.static_widgets import NOTE, PLOTLY, WIDGET_STATE, WIDGET_VIEW, StaticWidgetsPreprocessor

HOSTILE = '</script><!--<script><img src=x onerror="alert(1)">'
FIGURE_DATA = re.compile(r'<script type="application/vnd\.plotly\.v1\+json">(.*?)</script>', re.S)
# Any element that would make the browser fetch something: scripts, styles, images, frames, media, CSS imports.
FETCHING = re.compile(r'<(?:script|img|iframe|audio|video|source|embed)\b[^>]*\bsrc=|<link\b[^>]*\bhref=|@import|'
                      r'url\((?!data:)', re.I)


def model(name: str, **state) -> dict:
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}


def widget_notebook(models: dict, root: str) -> nbformat.NotebookNode:
    """A notebook with one cell showing widget `root`, and the widget state nbclient would store."""
    cell = new_code_cell("explorer", outputs=[new_output("execute_result", execution_count=1, data={
        WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": root}, "text/plain": "VBox(...)"})])
    state = {WIDGET_STATE: {"version_major": 2, "version_minor": 0, "state": models}}
    return new_notebook(cells=[cell], metadata={"widgets": state})


STALE = {"data": [{"type": "bar", "y": [1, 2]}], "layout": {}}
LATEST = {"data": [{"type": "bar", "y": [5, 7]}], "layout": {"title": {"text": HOSTILE}}}
MODELS = {
    "box": model("VBoxModel", children=["IPY_MODEL_layer", "IPY_MODEL_prompt", "IPY_MODEL_figure", "IPY_MODEL_html",
                                        "IPY_MODEL_menu", "IPY_MODEL_out"]),
    "layer": model("IntSliderModel", description="Layer", value=3),
    "prompt": model("TextModel", description="Prompt:", value=HOSTILE),
    "figure": {"model_name": "AnyModel", "model_module": "anywidget", "state": {
        "_widget_data": STALE["data"], "_widget_layout": {}, "_bundle": "IPY_MODEL_bundle"}},
    # plotly's bundle, held once per kernel by llmviz's PlotlyBundle widget, which every figure references
    "bundle": {"model_name": "WidgetModel", "model_module": "@jupyter-widgets/base",
               "state": {"source": "PLOTLY BUNDLE " * 1000}},
    "html": model("HTMLModel", value="<b>library markup</b>"),
    "menu": model("DropdownModel", description="Scheme", _options_labels=["learned", "RoPE"], index=1),
    "out": model("OutputModel", outputs=[{"output_type": "stream", "name": "stdout", "text": "printed\n"}]),
}


def static(nb, figures=None, binder=""):
    return StaticWidgetsPreprocessor(figures=figures or {}, binder_url=binder).preprocess(nb, {})[0]


def test_a_widget_becomes_its_controls_figure_html_and_outputs_in_order_then_the_note():
    nb = static(widget_notebook(MODELS, "box"), figures={"figure": LATEST})
    outputs = nb.cells[0].outputs
    kinds = [next(iter(o.get("data", {"stream": 0}))) for o in outputs]
    assert kinds == ["text/html", PLOTLY, "text/html", "text/html", "stream", "text/html"]
    controls = outputs[0].data["text/html"]
    assert "Layer: 3" in controls and "Prompt: &lt;/script&gt;" in controls and HOSTILE not in controls
    assert outputs[1].data[PLOTLY] == LATEST                      # the kernel's last figure, not the stored first one
    assert outputs[2].data["text/html"] == "<b>library markup</b>"
    assert "Scheme: RoPE" in outputs[3].data["text/html"]          # a menu shows its label, not its index
    assert outputs[4].text == "printed\n"
    assert NOTE in outputs[5].data["text/html"] and "Binder</a>" not in outputs[5].data["text/html"]
    assert "widgets" not in nb.metadata                            # the state (and its plotly bundle) is gone


def test_a_figure_the_kernel_no_longer_holds_falls_back_to_its_stored_state_and_the_note_links_binder():
    nb = static(widget_notebook(MODELS, "box"), binder="https://mybinder.org/v2/gh/a/b/HEAD?labpath=x&y=<z>")
    outputs = nb.cells[0].outputs
    assert outputs[1].data[PLOTLY] == STALE
    assert 'href="https://mybinder.org/v2/gh/a/b/HEAD?labpath=x&amp;y=&lt;z&gt;"' in outputs[-1].data["text/html"]


def test_a_page_loads_nothing_keeps_figure_data_intact_and_escapes_what_users_typed():
    nb = static(widget_notebook(MODELS, "box"), figures={"figure": LATEST})
    nb.cells.insert(0, new_markdown_cell("# 99 · A test page\n\nSee [the glossary](../docs/glossary.md)."))
    nb.cells.append(new_code_cell("print(prompt)", outputs=[new_output("stream", name="stdout", text=HOSTILE)]))
    page = pages.render(pages.exporter(), nb, HOSTILE, binder_url="https://mybinder.org/v2/gh/a/b/HEAD")
    assert FETCHING.findall(page) == ['<script src=']                  # the one local plotly.min.js, below
    assert '<script src="plotly.min.js">' in page
    figures = FIGURE_DATA.findall(page)
    assert [json.loads(f) for f in figures] == [LATEST] and "<" not in figures[0]
    assert HOSTILE not in page and "&lt;/script&gt;&lt;!--&lt;script&gt;" in page
    assert "PLOTLY BUNDLE" not in page and WIDGET_STATE not in page
    assert 'href="glossary.html"' in page and 'href="https://mybinder.org/v2/gh/a/b/HEAD"' in page
    assert page.count('href="glossary.html"') == 2                     # the markdown link and the navigation bar
    without = pages.render(pages.exporter(), nb, "x", glossary=False)
    assert without.count('href="glossary.html"') == 1 and "mybinder" not in without


def test_links_to_notebooks_and_the_glossary_lead_to_their_pages():
    source = ("[next](05_feed_forward.ipynb), [part](../notebooks/04_attention.ipynb#causal-mask), "
              "[terms](../docs/glossary.md#cache), [site](https://example.org/x.ipynb)")
    assert pages.site_link(source) == ("[next](05_feed_forward.html), [part](04_attention.html#causal-mask), "
                                       "[terms](glossary.html#cache), [site](https://example.org/x.ipynb)")


def test_script_json_round_trips_and_holds_no_markup():
    value = {"text": HOSTILE + " & <!-- -->", "n": [1.5, None]}
    assert json.loads(pages.json_script(value)) == value
    assert not set("<>&") & set(pages.json_script(value))


def test_the_binder_link_comes_from_the_repository_setting(tmp_path):
    assert build.repository_url(tmp_path) == ""                        # no pyproject: no link
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert build.repository_url(tmp_path) == ""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[project.urls]\n'
                                             'Repository = "https://github.com/someone/llmviz.git"\n')
    repository = build.repository_url(tmp_path)
    assert build.binder_url(repository, "04_attention") == \
        "https://mybinder.org/v2/gh/someone/llmviz/HEAD?labpath=notebooks%2F04_attention.ipynb"
    assert build.binder_url(repository) == "https://mybinder.org/v2/gh/someone/llmviz/HEAD"
    assert build.binder_url("", "04_attention") == ""


def test_the_index_lists_the_notebooks_and_takes_the_pipeline_diagram_as_svg():
    svg = '<svg xmlns="http://www.w3.org/2000/svg" id="pipeline"><rect width="4" height="4"/></svg>'
    index = pages.index_notebook([("04_attention", "04 · Attention")], svg, True, pipeline_alt="Text <to> text")
    page = pages.render(pages.exporter(), index, "x")
    assert '<a href="04_attention.html">04 · Attention</a>' in page and 'alt="Text &lt;to&gt; text"' in page
    shown = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(shown).decode() == svg
    assert "pipeline diagram" not in page                              # the diagram cell's input is hidden
    assert pages.notebook_title(new_notebook(cells=[new_markdown_cell("intro\n## 04 · Attention")])) == "04 · Attention"


def test_an_unknown_notebook_name_is_refused_with_the_names_there_are(tmp_path, capsys):
    with pytest.raises(ValueError, match="No notebook named 99_nothing.*04_attention"):
        build.build_site(tmp_path / "site", only=["99_nothing"])
    assert build.main(["--only", "99_nothing", "--out", str(tmp_path / "site")]) == 2
    assert "No notebook named 99_nothing" in capsys.readouterr().err


def test_a_folder_that_holds_no_site_is_never_emptied(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty and holds no site"):
        build.build_site(tmp_path, only=["04_attention"], log=lambda _: None)
    assert (tmp_path / "notes.txt").read_text() == "mine"


SMALL_NOTEBOOK = [
    "import ipywidgets as widgets\nfrom llmviz.viz.widgets.figure_widget import FigureWidget\n"
    "figure = FigureWidget(data=[{'type': 'bar', 'x': ['a', 'b'], 'y': [1, 2]}])\n"
    "height = widgets.IntSlider(value=1, description='Height')\n"
    f"prompt = widgets.Text(value={HOSTILE!r}, description='Prompt')\n"
    "widgets.VBox([height, prompt, figure])",
    # Moved after it was shown, as a notebook's check cell or a learner would: the page shows this last state.
    "with figure.batch_update():\n    figure.data[0].y = [5, 7]\nheight.value = 4",
]


@pytest.mark.slow
def test_a_figure_widget_run_on_a_fresh_kernel_shows_its_last_state_on_the_page(tmp_path):
    (tmp_path / "notebooks").mkdir()
    nb = new_notebook(cells=[new_markdown_cell("# 01 · Small")] + [new_code_cell(s) for s in SMALL_NOTEBOOK],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, tmp_path / "notebooks" / "01_small.ipynb")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "glossary.md").write_text("# Glossary\n\n**bar**: as in [01](../notebooks/01_small.ipynb).")
    built = build.build_site(tmp_path / "site", root=tmp_path, log=lambda _: None)
    page = (tmp_path / "site" / "01_small.html").read_text()
    assert [(p.name, p.title, p.figures) for p in built] == [("01_small", "01 · Small", 1)]
    assert [json.loads(f)["data"][0]["y"] for f in FIGURE_DATA.findall(page)] == [[5, 7]]
    assert "Height: 4" in page and HOSTILE not in page and "Prompt: &lt;/script&gt;" in page
    assert len(page) < 1_000_000, "a page holds plotly's bundle: the widget state was not dropped"
    files = ["01_small.html", "glossary.html", "index.html", "plotly.min.js"]
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == files
    glossary = (tmp_path / "site" / "glossary.html").read_text()
    assert "<strong>bar</strong>" in glossary and '<a href="01_small.html">01</a>' in glossary
    assert nbformat.read(tmp_path / "notebooks" / "01_small.ipynb", as_version=4).cells[1].outputs == []


def test_collapsed_test_and_solution_cells_show_their_output_only():
    """Cells the notebooks collapse for learners (tagged hide-input: nbval's test cells, worked solutions) keep their
    output on the page and lose their code, as JupyterLab shows them."""
    hidden = new_code_cell("assert secret_check()", metadata={"tags": ["test", "hide-input"]},
                           outputs=[new_output("stream", name="stdout", text="checked\n")])
    shown = new_code_cell("visible_code()", outputs=[new_output("stream", name="stdout", text="shown\n")])
    page = pages.render(pages.exporter(), new_notebook(cells=[shown, hidden]), "x")
    assert "secret_check" not in page and "checked" in page
    assert "visible_code" in page and "shown" in page
