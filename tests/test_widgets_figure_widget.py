"""figure_widget.py: the widgets' FigureWidget loads plotly's bundle outside anywidget's 2-second start-up deadline,
gets it from one widget per kernel, shares one import per page, and is what every widget module builds."""

from __future__ import annotations

import ast
from pathlib import Path

import ipywidgets
import plotly
import plotly.graph_objects as go

from llmviz.viz.widgets.figure_widget import FigureWidget, shared_bundle

WIDGETS = Path(__file__).resolve().parents[1] / "llmviz" / "viz" / "widgets"


def test_the_bundle_travels_once_per_kernel_and_the_module_is_a_small_shim():
    figure = FigureWidget(go.Figure(go.Bar(y=[1, 2, 3])))
    other = FigureWidget(go.Figure(go.Scatter(y=[3, 2, 1])))
    bundle = (Path(plotly.__file__).parent / "package_data" / "widgetbundle.js").read_text(encoding="utf-8")
    state, other_state = figure.get_state(), other.get_state()
    # both figures reference one PlotlyBundle widget, which holds plotly's own front end byte for byte
    assert state["_bundle"] == other_state["_bundle"] == f"IPY_MODEL_{shared_bundle().model_id}"
    assert shared_bundle().get_state()["source"] == bundle
    assert all(len(str(value)) < 100_000 for value in state.values())  # no copy of the bundle in the figure itself
    assert len(state["_esm"]) < 4_000 < len(bundle)  # what anywidget imports inside its deadline is a few KB
    assert list(figure.data[0].y) == [1, 2, 3] and isinstance(figure, go.FigureWidget)


def test_a_closed_bundle_is_made_again():
    first = shared_bundle().model_id
    ipywidgets.Widget.close_all()
    figure = FigureWidget(go.Figure(go.Bar(y=[1])))
    assert figure.get_state()["_bundle"] == f"IPY_MODEL_{shared_bundle().model_id}" != f"IPY_MODEL_{first}"


def test_initialize_does_not_wait_for_the_bundle_and_render_does():
    """The shim's initialize only starts the shared import (no await, nothing returned); render awaits it."""
    esm = FigureWidget._esm
    initialize = esm[esm.index("initialize({ model })"):esm.index("async render")]
    assert "await" not in initialize and "return" not in initialize
    assert "await ready" in esm[esm.index("async render"):]
    assert "window[KEY]" in esm  # one import per page, shared by every figure


def test_every_widget_module_builds_this_figure_widget():
    """A plain go.FigureWidget would bring back the 2-second failure; the widgets must use this class."""
    offenders = []
    for path in WIDGETS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "FigureWidget"
                    and path.name != "figure_widget.py"):
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, f"go.FigureWidget(...) built directly: {offenders}"
