"""`FigureWidget`: plotly's FigureWidget whose front end cannot miss anywidget's 2-second start-up deadline, and whose
5 MB of plotly.js travel to the page once per kernel, not once per figure.

plotly's FigureWidget is an anywidget whose ES module is plotly.js itself (about 5 MB). anywidget gives a model 2 s
(`AbortSignal.timeout(2000)` in its runtime) to load that module and run `initialize`; on a busy machine parsing
plotly.js alone takes longer, the model is marked failed, and every later update from the kernel waits on that failed
start, so the figure never moves again (seen in Voilà on this project's 2-core CI: the layer slider at 3, the figure
still at layer 0). Every figure also sent and parsed its own copy of plotly.js.

Here the module anywidget loads is a few lines: `initialize` returns at once and starts loading plotly's bundle;
`render` waits for it. The bundle is the `source` of one `PlotlyBundle` widget per kernel, which every figure
references (`_bundle`, a widget reference), so the kernel sends it once and a saved notebook stores it once (notebook
12 with its outputs went from 56 MB to a few); the page imports it once, through one promise on `window`. The
figure's data, layout and update messages are plotly's own. This module changes no plotting behaviour and draws
nothing by itself. It also runs, once per page, accessibility.py's script that names every slider handle for screen
readers.
"""

from __future__ import annotations

import hashlib
import pathlib

import ipywidgets
import plotly
import plotly.graph_objects as go
import traitlets

from llmviz.viz.widgets.accessibility import ACCESSIBILITY_JS

_BUNDLE_FILE = pathlib.Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"
PLOTLY_BUNDLE = _BUNDLE_FILE.read_text(encoding="utf-8")
# One shared import per page and per bundle: two plotly versions on one page would not share a key.
_KEY = "__llmviz_plotly_" + hashlib.sha256(PLOTLY_BUNDLE.encode()).hexdigest()[:16]

SHIM_ESM = """
const KEY = "__KEY__";
function plotlyWidget(model) {
  // One import of plotly's widget bundle per page, shared by every figure: parsed once, not once per figure. The
  // bundle is the source of the PlotlyBundle widget this figure references ("IPY_MODEL_<id>").
  if (!window[KEY]) {
    const id = model.get("_bundle").replace(/^IPY_MODEL_/, "");
    window[KEY] = model.widget_manager.get_model(id).then((bundle) => {
      const url = URL.createObjectURL(new Blob([bundle.get("source")], { type: "text/javascript" }));
      return import(url).then((module) => { URL.revokeObjectURL(url); return module.default; });
    });
  }
  return window[KEY];
}
export default () => {
  __ACCESSIBILITY__
  let widget;  // plotly's own { initialize, render } for this model, once its bundle has loaded
  let ready;
  return {
    initialize({ model }) {
      // Return at once: anywidget fails a model whose initialize takes over 2 s, which loading plotly.js can.
      ready = plotlyWidget(model).then((factory) => { widget = factory(); widget.initialize({ model }); });
    },
    async render(context) {
      await ready;
      return widget.render(context);
    },
  };
};
""".replace("__KEY__", _KEY).replace("__ACCESSIBILITY__", ACCESSIBILITY_JS.strip())


class PlotlyBundle(ipywidgets.Widget):
    """plotly's widget bundle (plotly.js and its FigureWidget front end) as one synced string, never displayed: every
    FigureWidget of this kernel references the same one."""

    source = traitlets.Unicode(PLOTLY_BUNDLE).tag(sync=True)


_SHARED: list[PlotlyBundle] = []


def shared_bundle() -> PlotlyBundle:
    """This kernel's PlotlyBundle, made again if it was closed (`Widget.close_all()` closes every widget)."""
    if not _SHARED or _SHARED[0].comm is None:
        _SHARED[:] = [PlotlyBundle()]
    return _SHARED[0]


class FigureWidget(go.FigureWidget):
    """plotly.graph_objects.FigureWidget with a front end that starts within anywidget's deadline and a plotly.js
    sent once per kernel (see the module)."""

    _esm = SHIM_ESM
    _bundle = traitlets.Instance(PlotlyBundle).tag(sync=True, **ipywidgets.widget_serialization)

    @traitlets.default("_bundle")
    def _shared_bundle(self) -> PlotlyBundle:
        return shared_bundle()
