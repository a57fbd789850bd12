"""Attention figures: one head's pattern, every head as small multiples, and the three steps
QKᵀ/√d -> causal mask -> softmax side by side.

The causal mask is drawn as its own light-grey layer over cells left empty (NaN), so a learner sees "masked" where a
token cannot look ahead, never a 0 that looks like a learned weight. Builders take one pattern already indexed to
[query_pos, key_pos] (or [head, query_pos, key_pos]); they do not pick layers from a cache or run a model.
Queries may be fewer than keys (a KV-cache step): they are then the last positions, as in `hook_pattern`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from llmviz.viz.heatmap_traces import heatmap_trace, mask_trace
from llmviz.viz.inputs import as_array, as_bool_array, check_length
from llmviz.viz.style import (
    DIVERGING,
    MASKED,
    MASKED_SIGNED,
    SEQUENTIAL,
    TICK_SIZE,
    base_layout,
    fitted_size,
    token_axis,
    token_labels,
)
from llmviz.viz.text_alternative import extreme_cell, number, quoted, value_range, with_alt

MASK_REASON = "masked: a token cannot attend to a later token"
# HF's eager attention writes the dtype's minimum (about -3.4e38) instead of -inf into masked scores.
MASKED_SCORE = -1e20


def causal_mask(n_query: int, n_key: int) -> np.ndarray:
    """mask [n_query, n_key], True where key position > query position; queries are the last n_query positions."""
    offset = n_key - n_query  # with a KV cache, query i sits at absolute position offset + i
    return np.arange(n_key)[None, :] > (offset + np.arange(n_query))[:, None]


def _mask_for(shape: tuple[int, int], mask) -> np.ndarray:
    if mask is None:
        return causal_mask(*shape)
    mask = as_bool_array(mask, "mask", "[query_pos, key_pos]")
    if mask.shape != shape:
        raise ValueError(f"`mask` must have shape {shape} (query_pos, key_pos), True where masked; got {mask.shape}.")
    return mask


def _query_positions(n_query: int, n_key: int) -> list[int]:
    return list(range(n_key - n_query, n_key))


def attention_heatmap(pattern, tokens: Sequence[str], title: str = "Attention pattern", mask=None,
                      value_name: str = "attention", signed: bool = False) -> go.Figure:
    """One head's attention pattern [query_pos, key_pos] with the causal mask marked.

    tokens: the key tokens (key_pos of them); queries are the last query_pos of them. mask: optional bool
    [query_pos, key_pos], True where masked; default causal. signed=True draws signed values (scores, ALiBi
    biases) on the diverging scale centred at 0 instead of weights on 0..1. Traces: [0] the values (masked cells NaN),
    [1] the grey mask layer. A widget updates `fig.data[0].z` (keeping masked cells NaN, see `masked_values`).
    """
    z = as_array(pattern, "pattern", 2, "[query_pos, key_pos]")
    n_query, n_key = z.shape
    if n_query > n_key:
        raise ValueError(f"`pattern` has {n_query} queries but only {n_key} keys; expected query_pos <= key_pos.")
    keys = token_labels(check_length(tokens, n_key, "tokens", "key positions"))
    masked = _mask_for((n_query, n_key), mask)
    queries_at = _query_positions(n_query, n_key)
    queries = [keys[i] for i in queries_at]
    fig = go.Figure([
        heatmap_trace(masked_values(z, masked), keys, queries, x_name="key", y_name="query", value_name=value_name,
                      y=queries_at, **(dict(colorscale=DIVERGING, zmid=0.0) if signed else
                                       dict(colorscale=SEQUENTIAL, zmin=0.0, zmax=1.0))),
        mask_trace(masked, keys, queries, x_name="key", y_name="query", y=queries_at, reason=MASK_REASON,
                   color=MASKED_SIGNED if signed else MASKED),
    ])
    side = fitted_size(max(n_key, n_query))
    fig.update_layout(**base_layout(title, "key position (attended to)", "query position (attending)",
                                    height=side, width=side + 120))
    fig.update_xaxes(**token_axis(keys), tickangle=-45, showgrid=False, zeroline=False)
    fig.update_yaxes(**token_axis(keys), autorange="reversed", showgrid=False, zeroline=False)  # query 0 on top
    return with_alt(fig, f"{value_name} of {n_query} queries over {n_key} keys"
                         f"{_strongest(masked_values(z, masked), keys, queries_at)}; masked cells are grey.")


def _strongest_cell(z: np.ndarray) -> tuple[int, int, float, bool]:
    """(row, col, value, skipped) of the largest weight in z [query, key] (NaN = masked), among the queries that can
    see more than one key when there are any (skipped: some rows were left out): a query that sees one key gives it
    all its weight, which says nothing."""
    choices = np.isfinite(z).sum(axis=1) > 1  # [query]
    row, col, value = extreme_cell(np.where(choices[:, None], z, np.nan) if choices.any() else z)
    return row, col, value, bool(choices.any() and not choices.all())


def _strongest(z: np.ndarray, keys: list[str], queries_at: list[int], head: str = "") -> str:
    """'; values run from 0.01 to 1; the largest is 0.92, from query 2 ('cat') to key 0 ('The')' (see _strongest_cell)
    for z [query, key] (NaN = masked)."""
    if not np.isfinite(z).any():
        return "; every cell is masked"
    row, col, value, skipped = _strongest_cell(z)
    q = queries_at[row]
    among = " among queries that see more than one key" if skipped else ""
    return (f"; values run {value_range(z)}; the largest{among} is {number(value)}{head}, from query {q} "
            f"({quoted(keys[q])}) to key {col} ({quoted(keys[col])})")


def masked_values(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A copy of values [q, k] with masked cells (and -inf or HF's huge negative fill) set to NaN."""
    out = np.array(values, dtype=np.float64, copy=True)
    out[mask | ~np.isfinite(out) | (out <= MASKED_SCORE)] = np.nan
    return out


def attention_heads(pattern, tokens: Sequence[str], title: str = "Attention pattern of every head",
                    head_labels: Sequence[str] | None = None, columns: int = 4) -> go.Figure:
    """Small multiples of pattern [head, query_pos, key_pos], one heatmap per head on one shared colour scale.

    Masked cells are NaN and show the grey plot background. Traces: [h] is head h, so a widget switching
    layers updates `fig.data[h].z` for every h. head_labels default to "head 0", "head 1", ...
    """
    z = as_array(pattern, "pattern", 3, "[head, query_pos, key_pos]")
    n_heads, n_query, n_key = z.shape
    if n_query > n_key:
        raise ValueError(f"`pattern` has {n_query} queries but only {n_key} keys; expected query_pos <= key_pos.")
    keys = token_labels(check_length(tokens, n_key, "tokens", "key positions"))
    names = [f"head {h}" for h in range(n_heads)] if head_labels is None else \
        check_length(head_labels, n_heads, "head_labels", "heads")
    masked = causal_mask(n_query, n_key)
    queries_at = _query_positions(n_query, n_key)
    queries = [keys[i] for i in queries_at]
    columns = max(1, min(columns, n_heads))
    rows = -(-n_heads // columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=names, horizontal_spacing=0.04,
                        vertical_spacing=0.12 / rows + 0.04)
    for h in range(n_heads):
        row, col = h // columns + 1, h % columns + 1
        fig.add_trace(heatmap_trace(masked_values(z[h], masked), keys, queries, x_name="key", y_name="query",
                                    value_name=f"{names[h]} attention", y=queries_at, coloraxis="coloraxis"),
                      row=row, col=col)
    panel = 170 if max(n_key, n_query) <= 16 else 220
    fig.update_layout(**base_layout(title, "", "", height=rows * panel + 160, width=columns * panel + 200),
                      coloraxis=dict(colorscale=SEQUENTIAL, cmin=0.0, cmax=1.0,
                                     colorbar=dict(title=dict(text="attention"), tickfont=dict(size=TICK_SIZE))),
                      plot_bgcolor=MASKED)
    show_ticks = max(n_key, n_query) <= 16
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
    for h in range(n_heads):
        row, col = h // columns + 1, h % columns + 1
        if row == rows or h + columns >= n_heads:  # the lowest panel in its column
            fig.update_xaxes(title_text="key", row=row, col=col, showticklabels=show_ticks,
                             **token_axis(keys), tickangle=-60)
        if col == 1:
            fig.update_yaxes(title_text="query", row=row, col=col, showticklabels=show_ticks, **token_axis(keys))
    values = np.stack([masked_values(z[h], masked) for h in range(n_heads)])  # [head, q, k]
    best = int(np.argmax([_strongest_cell(v)[2] if np.isfinite(v).any() else -np.inf for v in values]))
    return with_alt(fig, f"{n_heads} heads, each {n_query} queries over {n_key} keys"
                         f"{_strongest(values[best], keys, queries_at, head=f' in {names[best]}')}.")


def attention_steps(scores, masked_scores, pattern, tokens: Sequence[str],
                    title: str = "From scores to attention weights", mask=None) -> go.Figure:
    """Three heatmaps side by side: scores QKᵀ/√d, the same with the causal mask, and softmax of that.

    scores, masked_scores, pattern: [query_pos, key_pos]. masked_scores may hold -inf (or HF's large negative fill)
    in masked cells; those and the causal mask show as grey. The two score panels share one diverging scale centred
    at 0; the pattern has a 0..1 sequential scale. Traces: [0] scores, [1] masked scores, [2] pattern,
    [3] and [4] the grey mask layers of panels 2 and 3.
    """
    raw = as_array(scores, "scores", 2, "[query_pos, key_pos]")
    shape = raw.shape
    after = as_array(masked_scores, "masked_scores", 2, "[query_pos, key_pos]")
    weights = as_array(pattern, "pattern", 2, "[query_pos, key_pos]")
    for name, array in (("masked_scores", after), ("pattern", weights)):
        if array.shape != shape:
            raise ValueError(f"`{name}` has shape {array.shape} but `scores` has {shape}; all three must match.")
    n_query, n_key = shape
    if n_query > n_key:
        raise ValueError(f"`scores` has {n_query} queries but only {n_key} keys; expected query_pos <= key_pos.")
    keys = token_labels(check_length(tokens, n_key, "tokens", "key positions"))
    masked = _mask_for(shape, mask) | ~np.isfinite(after) | (after <= MASKED_SCORE)
    queries_at = _query_positions(n_query, n_key)
    queries = [keys[i] for i in queries_at]
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.1,
                        subplot_titles=["1. scores QKᵀ/√d", "2. + causal mask", "3. softmax → attention"])
    common = dict(x_name="key", y_name="query", y=queries_at)
    fig.add_trace(heatmap_trace(raw, keys, queries, value_name="score", coloraxis="coloraxis", **common), 1, 1)
    fig.add_trace(heatmap_trace(masked_values(after, masked), keys, queries, value_name="masked score",
                                coloraxis="coloraxis", **common), 1, 2)
    fig.add_trace(heatmap_trace(masked_values(weights, masked), keys, queries, value_name="attention",
                                coloraxis="coloraxis2", **common), 1, 3)
    fig.add_trace(mask_trace(masked, keys, queries, reason="masked: score set to -∞", color=MASKED_SIGNED,
                             **common), 1, 2)
    fig.add_trace(mask_trace(masked, keys, queries, reason=MASK_REASON, **common), 1, 3)
    side = fitted_size(n_key, minimum=260, maximum=400, extra=60)
    # Rows are the same queries in all three panels, so only panel 1 names them; the gaps hold the colour bars.
    bar = dict(thickness=14, len=0.8, tickfont=dict(size=TICK_SIZE))
    fig.update_layout(**base_layout(title, "", "", height=side + 190, width=3 * side + 330),
                      coloraxis=dict(colorscale=DIVERGING, cmid=0.0,
                                     colorbar=dict(title=dict(text="score"), x=0.655, xanchor="left", **bar)),
                      coloraxis2=dict(colorscale=SEQUENTIAL, cmin=0.0, cmax=1.0,
                                      colorbar=dict(title=dict(text="attention"), x=1.0, xanchor="left", **bar)))
    fig.update_xaxes(title_text="key", **token_axis(keys), tickangle=-45, showgrid=False, zeroline=False)
    fig.update_yaxes(autorange="reversed", **token_axis(keys), showgrid=False, zeroline=False)
    fig.update_yaxes(title_text="query", row=1, col=1)
    fig.update_yaxes(showticklabels=False, row=1, col=2)
    fig.update_yaxes(showticklabels=False, row=1, col=3)
    shown = masked_values(weights, masked)
    return with_alt(fig, f"scores QKᵀ/√d run {value_range(raw)}; the causal mask hides {int(masked.sum())} "
                         f"of {masked.size} cells; after softmax{_strongest(shown, keys, queries_at)[1:]}.")
