"""Figures of vectors: rows of numbers (embeddings, q/k/v, MLP activations, positional encodings), 2-D maps of
the vocabulary, similarity matrices, and which neurons fire on which tokens.

Signed values use the diverging scale centred at 0, so white always means exactly zero. The builders take the
numbers already computed (a PCA projection, a cosine-similarity matrix, a positional encoding); they do not
compute embeddings or run a model. Choosing the top neurons to show is the only selection done here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from llmviz.viz.heatmap_traces import heatmap_trace
from llmviz.viz.inputs import as_array, check_length
from llmviz.viz.style import (
    DIVERGING,
    EXACT,
    OKABE_ITO,
    SEQUENTIAL,
    VERMILLION,
    base_layout,
    fitted_size,
    plot_text,
    token_axis,
    token_labels,
)
from llmviz.viz.text_alternative import extreme_cell, grid_summary, number, quoted, value_range, with_alt


def vector_heatmap(matrix, row_labels: Sequence[str], title: str = "Vectors", xaxis_title: str = "dimension",
                   yaxis_title: str = "token", value_name: str = "value", column_labels: Sequence[str] | None = None,
                   colorscale=None) -> go.Figure:
    """matrix [rows, dims] as a diverging heatmap centred at 0: one row per token (or per head, neuron, ...).

    row_labels: one per row (tokens are shown readably). Traces: [0] the heatmap; a widget updates `fig.data[0].z`.
    """
    z = as_array(matrix, "matrix", 2, "[rows, dims]")
    rows, dims = z.shape
    labels = token_labels(check_length(row_labels, rows, "row_labels", "rows"))
    columns = None if column_labels is None else \
        token_labels(check_length(column_labels, dims, "column_labels", "columns"))
    fig = go.Figure(heatmap_trace(z, columns, labels, x_name=xaxis_title, y_name=yaxis_title, value_name=value_name,
                                  colorscale=colorscale or DIVERGING, zmid=0.0))
    fig.update_layout(**base_layout(title, xaxis_title, yaxis_title, height=fitted_size(rows, maximum=800),
                                    width=max(600, min(1200, dims * 14 + 260))))
    fig.update_yaxes(**token_axis(labels), autorange="reversed", showgrid=False, zeroline=False)
    if column_labels is not None:
        fig.update_xaxes(**token_axis(columns), tickangle=-45)
    fig.update_xaxes(showgrid=False, zeroline=False)
    return with_alt(fig, grid_summary(z, yaxis_title, xaxis_title, labels, columns))


def vector_panels(matrices, row_labels: Sequence[str], title: str = "Vectors side by side",
                  yaxis_title: str = "token", xaxis_title: str = "dimension", value_name: str = "value") -> go.Figure:
    """Several matrices [rows, dims_i] side by side on one shared diverging scale, e.g. {"q": ..., "k": ...,
    "v": ...} for one head, or one sentence's vectors next to another's.

    All share the rows (row_labels). Traces: [i] is the i-th matrix in the order given; a widget switching heads
    updates `fig.data[i].z`.
    """
    if not matrices:
        raise ValueError("`matrices` is empty; give {name: matrix [rows, dims]} for at least one panel.")
    arrays = {str(name): as_array(m, f"matrices[{name!r}]", 2, "[rows, dims]") for name, m in matrices.items()}
    rows = {a.shape[0] for a in arrays.values()}
    if len(rows) != 1:
        raise ValueError(f"Every matrix needs the same number of rows (one per label); got {sorted(rows)}.")
    labels = token_labels(check_length(row_labels, rows.pop(), "row_labels", "rows"))
    names = list(arrays)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=[plot_text(n) for n in names],
                        horizontal_spacing=0.05, column_widths=[a.shape[1] for a in arrays.values()])
    # One colour range for all panels, symmetric about 0, so equal colours mean equal numbers across panels.
    limit = max(float(np.nanmax(np.abs(a))) for a in arrays.values()) or 1.0
    for i, name in enumerate(names):
        fig.add_trace(heatmap_trace(arrays[name], None, labels,
                                    x_name=f"{plot_text(name)} {xaxis_title}", y_name=yaxis_title,
                                    value_name=value_name, coloraxis="coloraxis"), row=1, col=i + 1)
    fig.update_layout(**base_layout(title, "", "", height=fitted_size(len(labels), maximum=800),
                                    width=max(600, min(1400, 300 * len(names) + 200))),
                      coloraxis=dict(colorscale=DIVERGING, cmid=0.0, cmin=-limit, cmax=limit,
                                     colorbar=dict(title=dict(text=value_name))))
    fig.update_xaxes(title_text=xaxis_title, showgrid=False, zeroline=False)
    fig.update_yaxes(**token_axis(labels), autorange="reversed", showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=True, title_text=yaxis_title, row=1, col=1)
    return with_alt(fig, f"{len(names)} panels ({', '.join(quoted(n) for n in names)}) over {len(labels)} rows; " +
                         "; ".join(f"{quoted(n)} runs {value_range(a)}" for n, a in arrays.items()))


def embedding_map(points, labels: Sequence[str], highlight: Sequence[int] | Sequence[str] | None = None,
                  title: str = "The vocabulary in two dimensions", xaxis_title: str = "principal component 1",
                  yaxis_title: str = "principal component 2") -> go.Figure:
    """A scatter of points [n, 2] (e.g. a PCA of the embedding matrix), hovering each point's label.

    highlight: indices, or labels (matched after readable display), to draw large and named. Traces: [0] every
    point (small, grey-blue), [1] the highlighted points (vermillion, labelled).
    """
    xy = as_array(points, "points", 2, "[n, 2]")
    if xy.shape[1] != 2:
        raise ValueError(f"`points` must have shape [n, 2]; got {xy.shape}. Project to two dimensions first (PCA).")
    names = token_labels(check_length(labels, len(xy), "labels", "points"))
    chosen = _highlighted(highlight, names, len(xy))
    hover = f"%{{customdata}}<br>x: %{{x:{EXACT}}}<br>y: %{{y:{EXACT}}}<extra></extra>"
    fig = go.Figure([
        go.Scattergl(x=xy[:, 0], y=xy[:, 1], mode="markers", name="all tokens", customdata=names,
                     marker=dict(size=5, color=OKABE_ITO[0], opacity=0.35), hovertemplate=hover),
        # WebGL like the cloud, so the highlights are drawn on the same layer, above it.
        go.Scattergl(x=xy[chosen, 0], y=xy[chosen, 1], mode="markers+text", name="highlighted",
                   customdata=[names[i] for i in chosen], text=[names[i] for i in chosen],
                   textposition="top center", marker=dict(size=11, color=VERMILLION, line=dict(width=1, color="white")),
                   hovertemplate=hover),
    ])
    fig.update_layout(**base_layout(title, xaxis_title, yaxis_title, height=650, width=800))
    shown = "".join(f", {quoted(names[i])} at ({number(xy[i, 0])}, {number(xy[i, 1])})" for i in chosen[:8])
    return with_alt(fig, f"{len(xy)} points; x runs {value_range(xy[:, 0])} and y {value_range(xy[:, 1])}" +
                         (f"; highlighted{shown}" if chosen else ""))


def _highlighted(highlight, names: list[str], n: int) -> list[int]:
    if highlight is None:
        return []
    chosen = []
    for item in highlight:
        if isinstance(item, (int, np.integer)):
            if not 0 <= int(item) < n:
                raise ValueError(f"`highlight` index {item} is outside [0, {n}); give indices of points.")
            chosen.append(int(item))
        else:
            wanted = token_labels([item])[0]
            matches = [i for i, name in enumerate(names) if name == wanted]
            if not matches:
                raise ValueError(f"`highlight` label {item!r} is not among the labels; give a label or an index.")
            chosen += matches
    return chosen


def similarity_matrix(sim, labels: Sequence[str], title: str = "Cosine similarity", value_name: str = "similarity",
                      zmin: float | None = -1.0, zmax: float | None = 1.0, show_values: bool | None = None,
                      axis_title: str = "token") -> go.Figure:
    """sim [n, n] as a diverging heatmap centred at 0 (default range -1..1 for cosine similarity).

    Pass zmin=zmax=None for unbounded similarities (dot products). show_values writes the numbers into the cells
    (default: when n <= 12). Traces: [0] the heatmap.
    """
    z = as_array(sim, "sim", 2, "[n, n]")
    n = z.shape[0]
    if z.shape[1] != n:
        raise ValueError(f"`sim` must be square [n, n]; got {z.shape}.")
    names = token_labels(check_length(labels, n, "labels", "rows"))
    show = n <= 12 if show_values is None else show_values
    extra = dict(texttemplate="%{z:.2f}") if show else {}
    fig = go.Figure(heatmap_trace(z, names, names, x_name=axis_title, y_name=axis_title, value_name=value_name,
                                  colorscale=DIVERGING, zmid=0.0, zmin=zmin, zmax=zmax, **extra))
    side = fitted_size(n, minimum=380, maximum=800, extra=200)
    fig.update_layout(**base_layout(title, axis_title, axis_title, height=side, width=side + 100))
    fig.update_xaxes(**token_axis(names), tickangle=-45, showgrid=False, zeroline=False)
    fig.update_yaxes(**token_axis(names), autorange="reversed", showgrid=False, zeroline=False)
    others = np.where(np.eye(n, dtype=bool), np.nan, z)  # the diagonal is every token with itself
    pair = ""
    if n > 1 and np.isfinite(others).any():
        i, j, value = extreme_cell(others)
        pair = f"; the most similar pair of different rows is {quoted(names[i])} and {quoted(names[j])} at " \
               f"{number(value)}"
    return with_alt(fig, f"{n} × {n} {value_name} between {axis_title}s, values {value_range(z)}{pair}")


def positional_heatmap(encoding, title: str = "Positional encoding", value_name: str = "value") -> go.Figure:
    """encoding [pos, dim] (sinusoidal, learned, ...) as a diverging heatmap: position down, dimension across.

    Traces: [0] the heatmap.
    """
    z = as_array(encoding, "encoding", 2, "[pos, dim]")
    n_pos, dims = z.shape
    fig = go.Figure(heatmap_trace(z, None, None, x_name="dimension",
                                  y_name="position", value_name=value_name, colorscale=DIVERGING, zmid=0.0))
    fig.update_layout(**base_layout(title, "dimension", "position", height=fitted_size(n_pos, maximum=650),
                                    width=850))
    fig.update_yaxes(autorange="reversed", showgrid=False, zeroline=False)
    fig.update_xaxes(showgrid=False, zeroline=False)
    return with_alt(fig, grid_summary(z, "position", "dimension"))


def position_similarity(sim, title: str = "Similarity between positions", value_name: str = "cosine similarity",
                        zmin: float | None = -1.0, zmax: float | None = 1.0) -> go.Figure:
    """sim [pos, pos] (e.g. cosine similarity of position vectors): does position i look like position j?

    Traces: [0] the heatmap.
    """
    z = as_array(sim, "sim", 2, "[pos, pos]")
    n = z.shape[0]
    if z.shape[1] != n:
        raise ValueError(f"`sim` must be square [pos, pos]; got {z.shape}.")
    fig = go.Figure(heatmap_trace(z, None, None, x_name="position", y_name="position", value_name=value_name,
                                  colorscale=DIVERGING, zmid=0.0, zmin=zmin, zmax=zmax))
    side = fitted_size(n, minimum=420, maximum=700, extra=200)
    fig.update_layout(**base_layout(title, "position", "position", height=side, width=side + 100))
    fig.update_yaxes(autorange="reversed", showgrid=False, zeroline=False)
    fig.update_xaxes(showgrid=False, zeroline=False)
    return with_alt(fig, grid_summary(z, "position", "position"))


def top_neuron_indices(acts: np.ndarray, k: int) -> list[int]:
    """The k neurons with the largest activation anywhere in acts [pos, neurons], strongest first."""
    peak = acts.max(axis=0)  # [neurons]
    return [int(i) for i in np.argsort(-peak, kind="stable")[:k]]


def neuron_activations(acts, tokens: Sequence[str], top_neurons: int | Sequence[int] = 20,
                       title: str = "Which neurons fire on which tokens", value_name: str = "activation",
                       sequential: bool = False) -> go.Figure:
    """MLP activations acts [pos, neurons] for selected neurons: tokens down, neurons across.

    top_neurons: an int k picks the k neurons with the highest peak activation; a list picks those neurons.
    Diverging scale centred at 0 (GELU and SwiGLU outputs can be negative); sequential=True uses the 0-based
    scale for non-negative values. Traces: [0] the heatmap; its x holds the neuron indices.
    """
    z = as_array(acts, "acts", 2, "[pos, neurons]")
    n_pos, n_neurons = z.shape
    labels = token_labels(check_length(tokens, n_pos, "tokens", "positions"))
    if isinstance(top_neurons, (int, np.integer)):
        if top_neurons < 1:
            raise ValueError(f"`top_neurons` must be at least 1 (or a list of neuron indices); got {top_neurons}.")
        chosen = top_neuron_indices(z, int(top_neurons))
    else:
        chosen = [int(i) for i in top_neurons]
        bad = [i for i in chosen if not 0 <= i < n_neurons]
        if bad or not chosen:
            raise ValueError(f"`top_neurons` indices must lie in [0, {n_neurons}); got {bad or 'none'}.")
    scale = dict(colorscale=SEQUENTIAL) if sequential else dict(colorscale=DIVERGING, zmid=0.0)
    fig = go.Figure(heatmap_trace(z[:, chosen], None, labels, x_name="neuron", y_name="token",
                                  value_name=value_name, x=chosen, **scale))
    fig.update_layout(**base_layout(title, "neuron", "token", height=fitted_size(n_pos, maximum=800),
                                    width=max(500, min(1200, len(chosen) * 34 + 260))))
    # Neuron indices are not contiguous, so plot them as categories in the chosen order.
    fig.update_xaxes(type="category", tickangle=-45, showgrid=False, zeroline=False)
    fig.update_yaxes(**token_axis(labels), autorange="reversed", showgrid=False, zeroline=False)
    return with_alt(fig, f"{len(chosen)} of {n_neurons} neurons; " +
                         grid_summary(z[:, chosen], "token", "neuron", labels, column_numbers=chosen))
