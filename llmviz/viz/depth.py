"""Figures across depth: a value per layer (the residual stream's norm growing), LayerNorm's effect on each
token's mean and variance, and the logit lens grid (what the model would predict if it stopped at each layer).

The builders take numbers already reduced (norms per layer, means and variances per token, the lens's top tokens
and probabilities); they do not read a cache, apply a norm or decode residuals. They only draw.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from llmviz.viz.heatmap_traces import heatmap_trace
from llmviz.viz.inputs import as_array, check_length, describe
from llmviz.viz.style import (
    BLUE,
    EXACT,
    OKABE_ITO,
    SEQUENTIAL,
    TICK_SIZE,
    VERMILLION,
    base_layout,
    fitted_size,
    plot_text,
    token_axis,
    token_labels,
)
from llmviz.viz.text_alternative import extreme_cell, number, percent, quoted, value_range, with_alt


def line_by_layer(values, title: str = "Across the layers", yaxis_title: str = "value",
                  xaxis_title: str = "layer", layer_labels: Sequence[str] | None = None,
                  log_y: bool = False) -> go.Figure:
    """One line per series over depth. values: [layers] (one series) or {name: [layers]} (several).

    layer_labels name the x positions, e.g. ["embed", "block 0", ...]; default 0..layers-1. Traces: [i] is the
    i-th series, in the order given; each trace's y holds that series.
    """
    if isinstance(values, Mapping):
        series = {str(name): as_array(v, f"values[{name!r}]", 1, "[layers]") for name, v in values.items()}
        if not series:
            raise ValueError("`values` is an empty dict; give at least one series {name: [layers]}.")
    else:
        series = {yaxis_title: as_array(values, "values", 1, "[layers]")}
    lengths = {len(v) for v in series.values()}
    if len(lengths) != 1:
        raise ValueError(f"Every series in `values` must have the same number of layers; "
                         f"got lengths {sorted(lengths)}.")
    n = lengths.pop()
    names = [str(i) for i in range(n)] if layer_labels is None else \
        [plot_text(str(label)) for label in check_length(layer_labels, n, "layer_labels", "layers")]
    fig = go.Figure()
    for i, (name, y) in enumerate(series.items()):
        fig.add_trace(go.Scatter(
            x=list(range(n)), y=y, name=plot_text(name), mode="lines+markers", customdata=names,
            line=dict(color=OKABE_ITO[i % len(OKABE_ITO)], width=3), marker=dict(size=8),
            hovertemplate=f"{plot_text(name)}<br>{xaxis_title} %{{customdata}}<br>{plot_text(yaxis_title)}: "
                          f"%{{y:{EXACT}}}<extra></extra>"))
    fig.update_layout(**base_layout(title, xaxis_title, yaxis_title, height=450, width=800,
                                    showlegend=len(series) > 1))
    fig.update_xaxes(**token_axis(names, max_ticks=40))
    if log_y:
        fig.update_yaxes(type="log")
    parts = []
    for name, y in list(series.items())[:4]:
        peak = int(np.argmax(np.where(np.isfinite(y), y, -np.inf)))
        parts.append(f"{quoted(name)} goes from {number(y[0])} at {xaxis_title} {names[0]} to {number(y[-1])} at "
                     f"{names[-1]}, highest {number(y[peak])} at {names[peak]}")
    more = f"; {len(series) - 4} more series" if len(series) > 4 else ""
    return with_alt(fig, html.unescape("; ".join(parts)) + more)


def layer_norm_stats(before_mean, before_var, after_mean, after_var, tokens: Sequence[str],
                     title: str = "LayerNorm: each token's mean and variance, before and after",
                     before_name: str = "before (residual stream)", after_name: str = "after LayerNorm") -> go.Figure:
    """Per-token mean and variance of a vector before and after normalisation, all four shaped [pos].

    Two panels side by side: mean (left) and variance (right, log scale since the residual stream's variance
    can be hundreds of times LayerNorm's 1). Traces: [0] mean before, [1] mean after, [2] variance before,
    [3] variance after.
    """
    stats = {name: as_array(v, name, 1, "[pos]") for name, v in (
        ("before_mean", before_mean), ("before_var", before_var), ("after_mean", after_mean), ("after_var", after_var))}
    n = len(stats["before_mean"])
    for name, v in stats.items():
        if len(v) != n:
            raise ValueError(f"`{name}` has {len(v)} positions but `before_mean` has {n}; all four must match.")
    labels = token_labels(check_length(tokens, n, "tokens", "positions"))
    fig = make_subplots(rows=1, cols=2, subplot_titles=["mean per token", "variance per token"],
                        horizontal_spacing=0.12)
    x = list(range(n))
    for col, stat in ((1, "mean"), (2, "var")):
        for which, color, label in (("before", BLUE, before_name), ("after", VERMILLION, after_name)):
            value_name = "mean" if stat == "mean" else "variance"
            fig.add_trace(go.Scatter(
                x=x, y=stats[f"{which}_{stat}"], customdata=describe("token", x, labels), name=label, legendgroup=which,
                showlegend=col == 1, mode="lines+markers", line=dict(color=color, width=3), marker=dict(size=9),
                hovertemplate=f"{label}<br>%{{customdata}}<br>{value_name}: %{{y:{EXACT}}}<extra></extra>"),
                row=1, col=col)
    fig.update_layout(**base_layout(title, "", "", height=450, width=1000,
                                    legend=dict(orientation="h", y=-0.3, font=dict(size=TICK_SIZE))))
    fig.update_layout(margin=dict(b=130))
    fig.update_xaxes(title_text="token", **token_axis(labels), tickangle=-45)
    fig.update_yaxes(title_text="mean", row=1, col=1)
    fig.update_yaxes(title_text="variance (log scale)", type="log", row=1, col=2)
    return with_alt(fig, f"across {n} tokens, {before_name} has mean {value_range(stats['before_mean'])} and "
                         f"variance {value_range(stats['before_var'])}; {after_name} has mean "
                         f"{value_range(stats['after_mean'])} and variance {value_range(stats['after_var'])}")


def logit_lens_grid(top_tokens: Sequence[Sequence[str]], probs, tokens: Sequence[str],
                    title: str = "Logit lens: the top prediction after each layer",
                    layer_labels: Sequence[str] | None = None) -> go.Figure:
    """The logit lens as a grid: layers down, positions across, each cell the top next-token guess.

    top_tokens: [layer][pos] strings (shown readably); probs [layer, pos]: that guess's probability, the cell's
    colour. tokens: the input tokens (pos of them); cell (layer, pos) predicts the token after tokens[pos].
    Traces: [0] the heatmap; a widget updates `fig.data[0].z` and `fig.data[0].text` together.
    """
    z = as_array(probs, "probs", 2, "[layer, pos]")
    n_layers, n_pos = z.shape
    rows = check_length(top_tokens, n_layers, "top_tokens", "layers")
    text = [token_labels(check_length(row, n_pos, f"top_tokens[{i}]", "positions")) for i, row in enumerate(rows)]
    labels = token_labels(check_length(tokens, n_pos, "tokens", "positions"))
    layer_names = [str(i) for i in range(n_layers)] if layer_labels is None else \
        [plot_text(str(v)) for v in check_length(layer_labels, n_layers, "layer_labels", "layers")]
    names = [f"layer {i}" for i in range(n_layers)] if layer_labels is None else layer_names
    trace = heatmap_trace(z, labels, layer_names, x_name="position", y_name="after layer", value_name="probability",
                          colorscale=SEQUENTIAL, zmin=0.0, zmax=1.0, text=np.array(text, dtype=object),
                          texttemplate="%{text}", textfont=dict(size=12), extra_hover="top guess: %{text}<br>")
    fig = go.Figure(trace)
    fig.update_layout(**base_layout(title, "input position (predicting the next token)", "layer",
                                    height=fitted_size(n_layers, minimum=350, maximum=900, extra=200),
                                    width=max(600, min(1400, n_pos * 80 + 250))))
    fig.update_xaxes(**token_axis(labels), tickangle=-45, showgrid=False, zeroline=False)
    fig.update_yaxes(tickmode="array", tickvals=list(range(n_layers)), ticktext=names, showgrid=False,
                     zeroline=False, ticklabelstandoff=6)
    return with_alt(fig, lens_summary(z, text, labels, names))


def lens_summary(z: np.ndarray, text: list[list[str]], tokens: list[str], layers: list[str]) -> str:
    """The logit lens in words: the last layer's guess after the last token, and the most confident cell.
    z [layer, pos] probabilities, text [layer][pos] guesses, tokens [pos], layers [layer] (labels may be escaped)."""
    n_layers, n_pos = z.shape
    if not np.isfinite(z).any():
        return f"{n_layers} layers × {n_pos} positions, no values yet"
    row, col, _ = extreme_cell(z)
    return (f"{n_layers} layers × {n_pos} positions; after {html.unescape(layers[-1])}, the guess after the last token "
            f"{quoted(tokens[-1])} is {quoted(text[-1][-1])} at {percent(z[-1, -1])}; the most confident cell is "
            f"{quoted(text[row][col])} at {percent(z[row, col])}, after {html.unescape(layers[row])} at position {col} "
            f"({quoted(tokens[col])})")
