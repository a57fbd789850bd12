"""`FigureWidget`: plotly's FigureWidget whose front end cannot miss anywidget's 2-second start-up deadline.

plotly's FigureWidget is an anywidget whose ES module is plotly.js itself (about 5 MB). anywidget gives a model 2 s
(`AbortSignal.timeout(2000)` in its runtime) to load that module and run `initialize`; on a busy machine parsing
plotly.js alone takes longer, the model is marked failed, and every later update from the kernel waits on that failed
start, so the figure never moves again (seen in Voilà on this project's 2-core CI: the layer slider at 3, the figure
still at layer 0). Every figure also parsed its own copy of plotly.js, because each module came from a fresh blob URL.

Here the module anywidget loads is a few lines: `initialize` returns at once and starts loading plotly's bundle (sent
once per model as the `_plotly_bundle` trait, as `_esm` was before), shared by every figure on the page through one
promise on `window`; `render` waits for it. The figure's data, layout and update messages are plotly's own. This
module changes no plotting behaviour and draws nothing by itself. It also runs, once per page, accessibility.py's
script that names every slider handle for screen readers.
"""

from __future__ import annotations

import hashlib
import pathlib

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
  // One import of plotly's widget bundle per page, shared by every figure: parsed once, not once per figure.
  if (!window[KEY]) {
    const url = URL.createObjectURL(new Blob([model.get("_plotly_bundle")], { type: "text/javascript" }));
    window[KEY] = import(url).then((module) => { URL.revokeObjectURL(url); return module.default; });
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


class FigureWidget(go.FigureWidget):
    """plotly.graph_objects.FigureWidget with a front end that starts within anywidget's deadline (see the module)."""

    _esm = SHIM_ESM
    _plotly_bundle = traitlets.Unicode(PLOTLY_BUNDLE).tag(sync=True)
