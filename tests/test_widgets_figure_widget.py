"""figure_widget.py: the widgets' FigureWidget loads plotly's bundle outside anywidget's 2-second start-up deadline,
shares one import per page, and is what every widget module builds."""

from __future__ import annotations

import ast
from pathlib import Path

import plotly
import plotly.graph_objects as go

from llmviz.viz.widgets.figure_widget import FigureWidget

WIDGETS = Path(__file__).resolve().parents[1] / "llmviz" / "viz" / "widgets"


def test_the_bundle_travels_as_a_trait_and_the_module_is_a_small_shim():
    figure = FigureWidget(go.Figure(go.Bar(y=[1, 2, 3])))
    bundle = (Path(plotly.__file__).parent / "package_data" / "widgetbundle.js").read_text(encoding="utf-8")
    state = figure.get_state()
    assert state["_plotly_bundle"] == bundle  # plotly's own front end, byte for byte
    assert len(state["_esm"]) < 4_000 < len(bundle)  # what anywidget imports inside its deadline is a few KB
    assert list(figure.data[0].y) == [1, 2, 3] and isinstance(figure, go.FigureWidget)


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
