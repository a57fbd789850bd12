"""Figures of notebook 12 (interventions): what an edit did. The logit-lens grid of an edited run with the cells the
edit changed marked (the causal cone), a grid of one number per (layer, head) or per (layer, position), and signed
bars that add up to a logit difference (direct logit attribution).

Inputs are numbers already computed (lens guesses, cone norms, patched logit differences, attribution parts); nothing
here runs a model, edits a tensor or decides what changed beyond comparing the numbers it is given with a threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from llmviz.viz.depth import lens_summary, logit_lens_grid
from llmviz.viz.heatmap_traces import heatmap_trace
from llmviz.viz.inputs import as_array, check_length
from llmviz.viz.style import (
    BLUE,
    DIVERGING,
    EXACT,
    VERMILLION,
    base_layout,
    fitted_size,
    plot_text,
    token_axis,
    token_labels,
)
from llmviz.viz.text_alternative import grid_summary, number, quoted, with_alt


def cone_cells(change, threshold: float) -> tuple[list[int], list[int], list[float]]:
    """(xs, ys, values) of the cells of change [layer, pos] above `threshold`: where the second trace of
    `cone_grid` draws its boxes."""
    z = as_array(change, "change", 2, "[layer, pos]")
    ys, xs = np.nonzero(z > threshold)
    return xs.tolist(), ys.tolist(), z[ys, xs].tolist()


def cone_grid(top_tokens: Sequence[Sequence[str]], probs, tokens: Sequence[str], change, threshold: float = 1e-3,
              title: str = "Logit lens of the edited run; boxed cells changed",
              layer_labels: Sequence[str] | None = None) -> go.Figure:
    """The logit lens grid of an edited run (see `logit_lens_grid`) with a box on every cell whose residual stream
    the edit changed: change [layer, pos] (e.g. the norm of edited minus clean) above `threshold`.

    Traces: [0] the lens heatmap (z, text), [1] the boxes (a Scatter of open squares: x, y, customdata the change).
    A widget updates both inside `fig.batch_update()`; `cone_cells` gives trace 1's x, y and customdata.
    """
    fig = logit_lens_grid(top_tokens, probs, tokens, title=title, layer_labels=layer_labels)
    n_layers, n_pos = np.shape(probs)
    check_length(as_array(change, "change", 2, "[layer, pos]"), n_layers, "change", "layers")
    xs, ys, values = cone_cells(change, threshold)
    cell = min((fig.layout.height - 200) / n_layers, (fig.layout.width - 250) / max(n_pos, 1))
    fig.add_trace(go.Scatter(
        x=xs, y=ys, customdata=values, mode="markers", name="changed by the edit",
        marker=dict(symbol="square-open", size=max(8, cell * 0.8), color=VERMILLION, line=dict(width=3)),
        hovertemplate=f"changed by the edit<br>|edited − clean| of the stream: %{{customdata:{EXACT}}}<extra></extra>"))
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    lens = fig.data[0]
    return with_alt(fig, lens_summary(np.asarray(lens.z, dtype=np.float64), lens.text.tolist(),
                                      list(fig.layout.xaxis.ticktext), list(fig.layout.yaxis.ticktext)) +
                    f"; {len(xs)} of {n_layers * n_pos} cells changed by more than {number(threshold)}")


def layer_grid(values, column_labels: Sequence[str], title: str, xaxis_title: str, value_name: str,
               layer_labels: Sequence[str] | None = None, colorscale=None, zmid: float | None = 0.0,
               tokens: bool = False) -> go.Figure:
    """One number per (layer, column) as a heatmap, layer 0 at the bottom: values [layer, col].

    Columns are heads (column_labels "0", "1", ...) or positions (`tokens=True`: labels shown readably). With the
    default diverging scale white is exactly 0 (zmid), so red and blue read as up and down.
    Traces: [0] the heatmap; a widget updates `fig.data[0].z` (and clicks report x = column, y = layer).
    """
    z = as_array(values, "values", 2, "[layer, col]")
    n_layers, n_cols = z.shape
    labels = token_labels(check_length(column_labels, n_cols, "column_labels", "columns")) if tokens else \
        [plot_text(str(c)) for c in check_length(column_labels, n_cols, "column_labels", "columns")]
    rows = [str(i) for i in range(n_layers)] if layer_labels is None else \
        [plot_text(str(v)) for v in check_length(layer_labels, n_layers, "layer_labels", "layers")]
    trace = heatmap_trace(z, labels, rows, x_name=xaxis_title, y_name="layer", value_name=value_name,
                          colorscale=colorscale or DIVERGING, zmid=zmid, xgap=1, ygap=1)
    fig = go.Figure(trace)
    fig.update_layout(**base_layout(title, xaxis_title, "layer",
                                    height=fitted_size(n_layers, minimum=350, maximum=900, extra=200),
                                    width=max(500, min(1200, n_cols * 70 + 260))))
    fig.update_xaxes(**token_axis(labels), showgrid=False, zeroline=False)
    fig.update_yaxes(**token_axis(rows), showgrid=False, zeroline=False)
    return with_alt(fig, grid_summary(z, "layer", xaxis_title, rows, labels))


def attribution_bars(labels: Sequence[str], values, title: str, xaxis_title: str = "component",
                     value_name: str = "contribution to the logit difference") -> go.Figure:
    """Signed bars, one per component (embeddings, a head, an MLP, the biases): values [n] in logit units, which
    add up to the logit (difference) they split. Positive bars are blue and point up, negative ones vermillion and
    hatched, pointing down. Traces: [0] the bars."""
    y = as_array(values, "values", 1, "[n]")
    names = [plot_text(str(v)) for v in check_length(labels, len(y), "labels", "values")]
    colors = [BLUE if v >= 0 else VERMILLION for v in y]
    fig = go.Figure(go.Bar(
        x=list(range(len(y))), y=y, customdata=names,
        marker=dict(color=colors, pattern=dict(shape=["" if v >= 0 else "/" for v in y], solidity=0.3)),
        hovertemplate=f"%{{customdata}}<br>{value_name}: %{{y:{EXACT}}}<extra></extra>"))
    fig.update_layout(**base_layout(title, xaxis_title, value_name, height=450,
                                    width=max(600, min(1400, 22 * len(y) + 250)), bargap=0.15))
    fig.update_xaxes(**token_axis(names, max_ticks=80), tickangle=-60)
    high, low = int(np.argmax(y)), int(np.argmin(y))
    return with_alt(fig, f"{len(y)} components sum to {number(y.sum())}; the largest is {quoted(names[high])} at "
                         f"{number(y[high])}, the most negative {quoted(names[low])} at {number(y[low])}")
