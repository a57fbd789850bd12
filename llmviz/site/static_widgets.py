"""Widgets without a kernel: each widget output of an executed notebook becomes the static outputs of its last state.

A widget output (`application/vnd.jupyter.widget-view+json`) is only a model id; drawing it needs ipywidgets' HTML
manager, which loads its JavaScript from a CDN (unpkg), and llmviz's FigureWidget would carry all of plotly.js (about
5 MB) as a trait in every page. `StaticWidgetsPreprocessor` replaces each such output by outputs nbconvert renders
itself, in the widget tree's order:
- a plotly figure (FigureWidget) becomes an `application/vnd.plotly.v1+json` output of its last data and layout;
- controls (sliders, menus, text boxes, buttons) become one escaped line of their last values;
- an HTML widget becomes `text/html`, an Output widget its own outputs;
- then one line: "Run this in JupyterLab or on Binder to move it".
It then drops the notebook's widget state, so no page holds the plotly bundle trait.

The figure's last state comes from the kernel, not from the stored widget state: plotly sends slider moves as
restyle messages, and its `_widget_data` trait keeps the figure as it was first shown. `FIGURE_DUMP` is run in the
notebook's kernel once every cell has run, and displays every live figure widget's JSON by model id.
This module draws no figure and runs no kernel (build.py does).
"""

from __future__ import annotations

import html

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_output
from traitlets import Dict, Unicode

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
PLOTLY = "application/vnd.plotly.v1+json"
FIGURES = "application/x-llmviz-site-figures+json"
NOTE = "Run this in JupyterLab or on Binder to move it."

# Run in the notebook's kernel after its last cell: {model_id: figure JSON} of every live plotly figure widget.
# (gc finds them without ipywidgets' private instance registry; a closed widget has no model id and is skipped.)
FIGURE_DUMP = f"""
def _llmviz_site_figures():
    import gc, json
    import plotly.io
    from IPython.display import display
    from plotly.basewidget import BaseFigureWidget
    figures = {{}}
    for obj in gc.get_objects():
        if issubclass(type(obj), BaseFigureWidget) and getattr(obj, "comm", None) is not None:
            figures[obj.model_id] = json.loads(plotly.io.to_json(obj, validate=False))
    display({{"{FIGURES}": figures}}, raw=True)
_llmviz_site_figures()
del _llmviz_site_figures
"""

CONTAINERS = {"BoxModel", "VBoxModel", "HBoxModel", "GridBoxModel", "AccordionModel", "TabModel", "StackModel"}
CHOICES = {"DropdownModel", "ToggleButtonsModel", "RadioButtonsModel", "SelectModel", "SelectionSliderModel",
           "SelectMultipleModel", "SelectionRangeSliderModel"}


def control_text(model_name: str, state: dict) -> str | None:
    """A control's last state as plain text ("Layer: 3"), or None for a widget that shows nothing by itself."""
    label = state.get("description", "")
    if model_name in CHOICES:
        labels, index = state.get("_options_labels", []), state.get("index")
        if index is None:
            value = "(none)"
        elif isinstance(index, list):  # multiple selection or a range: every chosen label
            value = ", ".join(labels[i] for i in index)
        else:
            value = labels[index]
    elif model_name == "ButtonModel":
        return f"[{label}]" if label else None
    elif model_name.endswith("ProgressModel"):
        value = f"{state.get('value')} of {state.get('max')}"
    elif model_name == "LabelModel":
        return state.get("value", "")
    elif "value" in state:
        value = state["value"]
        value = "–".join(map(str, value)) if isinstance(value, list) else str(value)
    else:
        return None
    return f"{label.rstrip(':')}: {value}" if label else value


def _figure_output(figure: dict) -> NotebookNode:
    return new_output("display_data", data={PLOTLY: {"data": figure.get("data", []),
                                                     "layout": figure.get("layout", {})}})


def _html_output(markup: str) -> NotebookNode:
    return new_output("display_data", data={"text/html": markup})


class StaticWidgetsPreprocessor(Preprocessor):
    """Replace widget outputs by static ones (see the module); `figures` is FIGURE_DUMP's {model_id: figure}."""

    figures = Dict(help="{model_id: plotly figure JSON} of the live figure widgets at the end").tag(config=True)
    binder_url = Unicode("", help="this notebook on Binder; the note links to it when set").tag(config=True)

    def preprocess(self, nb, resources):
        self.state = {mid: model for mid, model in
                      nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {}).items()}
        nb, resources = super().preprocess(nb, resources)
        nb.metadata.pop("widgets", None)  # the stored state holds plotly's ~5 MB bundle (once per kernel)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.outputs = self.static_outputs(cell.outputs)
        return cell, resources

    def static_outputs(self, outputs: list, note: bool = True) -> list:
        """outputs with every widget view replaced by its last state, each followed by the note (`note`); outputs may
        be a cell's or an Output widget's (plain dicts in the widget state)."""
        result = []
        for output in outputs:
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                result.append(nbformat.from_dict(output))
                continue
            result.extend(self.widget_outputs(view["model_id"]))
            if note:
                result.append(_html_output(self.note_html()))
        return result

    def note_html(self) -> str:
        link = (f' <a href="{html.escape(self.binder_url)}" target="_blank" rel="noopener">launch on Binder</a>'
                if self.binder_url else "")
        return f'<p class="llmviz-static-note">This widget shows its last state. {html.escape(NOTE)}{link}</p>'

    def widget_outputs(self, model_id: str) -> list:
        """The static outputs of one widget and its children, with consecutive controls gathered in one line."""
        outputs, controls = [], []
        for kind, value in self._walk(model_id):
            if kind == "control":
                controls.append(value)
                continue
            if controls:
                outputs.append(self._controls_output(controls))
                controls = []
            outputs.append(value)
        if controls:
            outputs.append(self._controls_output(controls))
        return outputs

    @staticmethod
    def _controls_output(controls: list[str]) -> NotebookNode:
        spans = "".join(f'<span class="llmviz-control">{html.escape(text)}</span>' for text in controls)
        return _html_output(f'<div class="llmviz-controls">{spans}</div>')

    def _walk(self, model_id: str):
        """Yield ("control", text) or ("output", output) for a widget tree, depth first, in the children's order."""
        model = self.state.get(model_id)
        if model is None:
            yield "output", _html_output('<p class="llmviz-static-note">(a widget whose state was not saved)</p>')
            return
        name, state = model["model_name"], model["state"]
        if name in CONTAINERS:
            for child in state.get("children", []):
                yield from self._walk(child.removeprefix("IPY_MODEL_"))
        elif name == "OutputModel":
            for output in self.static_outputs(state.get("outputs", []), note=False):  # nested views, no note
                yield "output", output
        elif name in ("HTMLModel", "HTMLMathModel"):
            if state.get("value"):
                yield "output", _html_output(state["value"])  # library markup, which escapes what users type
        elif "_widget_data" in state:  # a plotly FigureWidget (an anywidget)
            stored = {"data": state["_widget_data"], "layout": state.get("_widget_layout", {})}
            yield "output", _figure_output(self.figures.get(model_id, stored))
        elif (text := control_text(name, state)) is not None:
            yield "control", text
