"""The one heatmap trace every grid figure uses: integer positions on both axes, labels in hover and tick text.

Plotting positions 0..n-1 instead of token strings keeps repeated tokens apart (plotly merges equal category
labels) and lets a widget replace `z` without touching the axes. This module only builds traces; it does not
choose colours (style.py) or lay out figures (the builders).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from llmviz.viz._data import describe, grid_labels
from llmviz.viz.style import EXACT, MASKED, TICK_SIZE


def heatmap_trace(z: np.ndarray, x_labels: Sequence[str], y_labels: Sequence[str], *, x_name: str, y_name: str,
                  value_name: str, colorscale=None, zmid: float | None = None, zmin: float | None = None,
                  zmax: float | None = None, x: Sequence[int] | None = None, y: Sequence[int] | None = None,
                  colorbar_title: str | None = None, coloraxis: str | None = None, **extra) -> go.Heatmap:
    """A heatmap of z [rows, cols] whose hover reads '<y_name> 3: ␣cat / <x_name> 1: ␣the / <value_name>: 0.25'.

    customdata [rows, cols, 2] holds the two hover phrases; x and y default to 0..cols-1 and 0..rows-1.
    """
    rows, cols = z.shape
    x = list(range(cols)) if x is None else list(x)
    y = list(range(rows)) if y is None else list(y)
    trace = dict(
        z=z, x=x, y=y, customdata=grid_labels(describe(y_name, y, y_labels), describe(x_name, x, x_labels)),
        hovertemplate=f"%{{customdata[0]}}<br>%{{customdata[1]}}<br>{value_name}: %{{z:{EXACT}}}<extra></extra>",
        hoverongaps=False,
    )
    if coloraxis is not None:
        trace["coloraxis"] = coloraxis
    else:
        trace.update(colorscale=colorscale, zmid=zmid, zmin=zmin, zmax=zmax,
                     colorbar=dict(title=dict(text=colorbar_title or value_name), tickfont=dict(size=TICK_SIZE)))
    trace.update(extra)
    return go.Heatmap(**trace)


def mask_trace(mask: np.ndarray, x_labels: Sequence[str], y_labels: Sequence[str], *, x_name: str, y_name: str,
               x: Sequence[int] | None = None, y: Sequence[int] | None = None, reason: str = "masked",
               color: str = MASKED) -> go.Heatmap:
    """Grey cells (`color`) where mask [rows, cols] is True (and nothing elsewhere), hovering as `reason`.

    Drawn over a value heatmap whose masked cells are NaN, so a masked cell reads "masked", never 0.
    """
    rows, cols = mask.shape
    x = list(range(cols)) if x is None else list(x)
    y = list(range(rows)) if y is None else list(y)
    return go.Heatmap(
        z=np.where(mask, 1.0, np.nan), x=x, y=y,
        customdata=grid_labels(describe(y_name, y, y_labels), describe(x_name, x, x_labels)),
        colorscale=[[0.0, color], [1.0, color]], zmin=0, zmax=1, showscale=False, hoverongaps=False,
        hovertemplate=f"%{{customdata[0]}}<br>%{{customdata[1]}}<br>{reason}<extra></extra>",
        name="mask",
    )
