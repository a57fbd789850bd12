"""The one heatmap trace every grid figure uses: integer positions on both axes, labels in hover and tick text.

Plotting positions 0..n-1 instead of token strings keeps repeated tokens apart (plotly merges equal category
labels) and lets a widget replace `z` without touching the axes. This module only builds traces; it does not
choose colours (style.py) or lay out figures (the builders).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from llmviz.viz.inputs import describe, grid_labels
from llmviz.viz.style import EXACT, MASKED, TICK_SIZE

LARGE = 100_000  # cells; bigger grids are sent as float32 (GPT-2's 1024 x 768 position table: 8 MB -> 4 MB)


def hover_header(x: list[int], y: list[int], x_labels: Sequence[str] | None, y_labels: Sequence[str] | None,
                 x_name: str, y_name: str) -> tuple[np.ndarray | None, str]:
    """(customdata, template) naming a cell's row and column: 'query 3: ␣cat<br>key 1: ␣the'.

    An axis without labels (None) is plain numbers and hovers as %{x} / %{y}; an axis with labels needs the
    phrases in customdata, because %{x} on an axis with tick text shows the tick text, not the position. Plain
    axes keep customdata out of the figure, which matters for a 1024 x 768 positional encoding (35 MB otherwise).
    """
    phrases, parts = [], []
    for axis, positions, labels, name in (("y", y, y_labels, y_name), ("x", x, x_labels, x_name)):
        if labels is None:
            parts.append(f"{name} %{{{axis}}}")
        else:
            phrases.append((axis, describe(name, positions, labels)))
            parts.append(None)
    if not phrases:
        return None, "<br>".join(parts)
    if len(phrases) == 2:
        customdata = grid_labels(phrases[0][1], phrases[1][1])
        return customdata, "%{customdata[0]}<br>%{customdata[1]}"
    axis, phrase = phrases[0]
    row_phrases = np.array(phrase, dtype=object)
    customdata = np.broadcast_to(row_phrases[:, None] if axis == "y" else row_phrases[None, :],
                                 (len(y), len(x))).copy()
    return customdata, "<br>".join(part or "%{customdata}" for part in parts)


def heatmap_trace(z: np.ndarray, x_labels: Sequence[str] | None, y_labels: Sequence[str] | None, *, x_name: str,
                  y_name: str, value_name: str, colorscale=None, zmid: float | None = None,
                  zmin: float | None = None, zmax: float | None = None, x: Sequence[int] | None = None,
                  y: Sequence[int] | None = None, colorbar_title: str | None = None, coloraxis: str | None = None,
                  extra_hover: str = "", **extra) -> go.Heatmap:
    """A heatmap of z [rows, cols] whose hover reads '<y_name> 3: ␣cat / <x_name> 1: ␣the / <value_name>: 0.25'.

    x_labels / y_labels: one label per column / row, or None for a plain numeric axis (see hover_header).
    extra_hover: template text inserted before the value line, e.g. 'top guess: %{text}<br>'. x and y default
    to 0..cols-1 and 0..rows-1. Grids over LARGE cells keep z as float32.
    """
    rows, cols = z.shape
    x = list(range(cols)) if x is None else list(x)
    y = list(range(rows)) if y is None else list(y)
    customdata, header = hover_header(x, y, x_labels, y_labels, x_name, y_name)
    if z.size > LARGE:
        z = z.astype(np.float32)  # halves the page; float32 still holds the 6 digits the hover shows
    trace = dict(z=z, x=x, y=y, hoverongaps=False,
                 hovertemplate=f"{header}<br>{extra_hover}{value_name}: %{{z:{EXACT}}}<extra></extra>")
    if customdata is not None:
        trace["customdata"] = customdata
    if coloraxis is not None:
        trace["coloraxis"] = coloraxis
    else:
        trace.update(colorscale=colorscale, zmid=zmid, zmin=zmin, zmax=zmax,
                     colorbar=dict(title=dict(text=colorbar_title or value_name), tickfont=dict(size=TICK_SIZE)))
    trace.update(extra)
    return go.Heatmap(**trace)


def mask_trace(mask: np.ndarray, x_labels: Sequence[str] | None, y_labels: Sequence[str] | None, *, x_name: str,
               y_name: str, x: Sequence[int] | None = None, y: Sequence[int] | None = None, reason: str = "masked",
               color: str = MASKED) -> go.Heatmap:
    """Grey cells (`color`) where mask [rows, cols] is True (and nothing elsewhere), hovering as `reason`.

    Drawn over a value heatmap whose masked cells are NaN, so a masked cell reads "masked", never 0.
    """
    rows, cols = mask.shape
    x = list(range(cols)) if x is None else list(x)
    y = list(range(rows)) if y is None else list(y)
    customdata, header = hover_header(x, y, x_labels, y_labels, x_name, y_name)
    return go.Heatmap(
        z=np.where(mask, 1.0, np.nan), x=x, y=y, customdata=customdata,
        colorscale=[[0.0, color], [1.0, color]], zmin=0, zmax=1, showscale=False, hoverongaps=False,
        hovertemplate=f"{header}<br>{reason}<extra></extra>", name="mask",
    )
