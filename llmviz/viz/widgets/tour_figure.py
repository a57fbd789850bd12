"""The tour's data and its one linked figure: a prompt's whole forward pass, seen from one chosen token.

`tour_data` runs the model once, capturing only what the tour shows (embeddings, attention patterns, residual
stream, final norm), and returns a `TourData` of plain arrays plus a `TourLens`, which decodes the logit lens for one
position when the figure first shows it (it keeps the model for that). `tour_figure` is a pure builder: data, a
chosen position and a layer in, a plotly figure of four panels out (embedding, attention, residual-stream norms with
the logit lens, next-token probabilities). `update_tour_figure` changes the same figure's traces in place, so a
widget builds it once. Nothing here displays or samples; the widget in `tour.py` does the wiring.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from llmviz.names import every_layer, residual_stream_names
from llmviz.stages.lens import logit_lens_at
from llmviz.viz.attention import causal_mask, masked_values
from llmviz.viz.inputs import nan_to_none
from llmviz.viz.style import (
    BLUE,
    DIVERGING,
    EXACT,
    GREY,
    MASKED,
    ORANGE,
    SEQUENTIAL,
    base_layout,
    token_labels,
)
from llmviz.viz.widgets.common import prompt_ids

MAX_TOKENS = 128  # the tour draws every position in every panel; longer prompts belong in the stage notebooks
TOP_K = 10


def tour_names(lm) -> list[str]:
    """The names= list for run_with_cache: only what the tour draws (cheap even on SmolLM2's 30 layers)."""
    return (["hook_embed", "ln_final.hook_normalized"] + residual_stream_names(lm.n_layers)
            + every_layer("blocks.{L}.attn.hook_pattern", lm.n_layers))


@dataclass
class TourLens:
    """The logit lens' top-1 guess at every depth for one position, decoded when first asked and then kept.

    Decoding every depth and position at once costs (n_layers + 1) * pos rows through the unembedding (on SmolLM2 a
    49152 x 576 matrix, several times the forward pass), yet the tour only shows the chosen token's column: one
    position is n_layers + 1 rows. benchmarks/widgets.py times it."""
    lm: object
    stream: dict                   # the lens' inputs: blocks.0.hook_resid_pre and each hook_resid_post, [1, pos, d]
    _memo: dict = field(default_factory=dict, repr=False)

    def at(self, position: int) -> tuple[list[str], np.ndarray]:
        """([n] readable top tokens, [n] their probabilities) at `position` (0..pos-1), one per depth."""
        if position not in self._memo:
            lens = logit_lens_at(self.lm, self.stream, position, top_k=1)
            self._memo[position] = ([layer[0][0] for layer in lens.top_tokens], lens.top_probs[:, 0, 0].numpy())
        return self._memo[position]


@dataclass
class TourData:
    """One forward pass, as arrays. n = n_layers + 1 stream readings (the embedding, then after each block)."""
    ids: list[int]                 # [pos] token ids
    tokens: list[str]              # [pos] readable tokens ('␣cat')
    embed: np.ndarray              # [pos, d_model] hook_embed, the looked-up rows of the embedding matrix
    patterns: np.ndarray           # [layer, head, query_pos, key_pos] every layer's hook_pattern
    resid_norms: np.ndarray        # [n, pos] L2 norm of the residual stream: resid_pre 0, then resid_post L
    lens: TourLens                 # the logit lens' top token per depth, decoded one position at a time
    top_tokens: list[list[str]]    # [pos][TOP_K] most probable next tokens after each position
    top_probs: np.ndarray          # [pos, TOP_K] their probabilities (softmax of the model's logits)
    top_ids: np.ndarray            # [pos, TOP_K] their ids


def tour_data(lm, text_or_ids) -> TourData:
    """Run `lm` once on a prompt (text or ids) and keep what the tour shows. Raises ValueError for prompts longer
    than MAX_TOKENS tokens or empty ones (from lm.to_tokens)."""
    ids = prompt_ids(lm, text_or_ids, MAX_TOKENS, view="the tour")  # [1, pos]
    logits, cache = lm.run_with_cache(ids, names=tour_names(lm))
    probs = torch.softmax(logits[0].float(), dim=-1)  # [pos, vocab]
    top = probs.topk(TOP_K, dim=-1)
    stream = cache.accumulated_resid()[:, 0]  # [n, pos, d_model]
    names = sorted(set(top.indices.flatten().tolist()))
    readable = dict(zip(names, (lm.to_str_tokens([i])[0] for i in names), strict=True))
    return TourData(
        ids=ids[0].tolist(), tokens=lm.to_str_tokens(ids),
        embed=cache["hook_embed"][0].float().numpy(),
        patterns=cache.stack("pattern")[:, 0].float().numpy(),
        resid_norms=stream.float().norm(dim=-1).numpy(),
        lens=TourLens(lm, {name: cache[name] for name in residual_stream_names(lm.n_layers)}),
        top_tokens=[[readable[i] for i in row] for row in top.indices.tolist()],
        top_probs=top.values.numpy(), top_ids=top.indices.numpy())


def _panels(data: TourData, position: int, layer: int) -> dict:
    """Every trace's data for one choice; the builder and the widget's update share it. Traces:
    [0] embedding heatmap, [1] attention heatmap (heads x keys), [2] attention mask, [3] other tokens' norms,
    [4] the chosen token's norms, [5] next-token bars."""
    labels = token_labels(data.tokens)
    pos, n_heads = len(labels), data.patterns.shape[1]
    mask = np.repeat(causal_mask(pos, pos)[position][None, :], n_heads, axis=0)  # [head, key]
    depth = list(range(data.resid_norms.shape[0]))
    others = [[], []]
    for p in range(pos):  # one scatter for every other token: lines joined by None gaps
        if p != position:
            others[0] += depth + [None]
            others[1] += data.resid_norms[:, p].tolist() + [None]
    lens = [f"{token_labels([t])[0]} ({p:.2f})" for t, p in zip(*data.lens.at(position), strict=True)]
    top = token_labels(data.top_tokens[position])
    return dict(
        labels=labels, mask=mask, others=others, lens=lens,
        # masked cells as None (JSON null), not NaN: a FigureWidget's messages must be valid JSON
        embed=data.embed, attention=nan_to_none(masked_values(data.patterns[layer, :, position, :], mask)),
        mask_z=nan_to_none(np.where(mask, 1.0, np.nan)),
        norms=data.resid_norms[:, position], bars=(data.top_probs[position][::-1], top[::-1]),
        row_box=dict(x0=-0.5, x1=data.embed.shape[1] - 0.5, y0=position - 0.5, y1=position + 0.5),
        titles=(f"1 · Embedding of each token ({labels[position]} boxed)",
                f"2 · Layer {layer}: where {labels[position]} looks",
                f"3 · Residual stream of {labels[position]}",
                f"4 · Next token after {labels[position]}"))


def tour_figure(data: TourData, position: int, layer: int = 0) -> go.Figure:
    """Four linked panels for the token at `position` (0..pos-1) and the attention of `layer` (0..n_layers-1).
    Traces as listed in `_panels`; the chosen embedding row is `layout.shapes[0]`."""
    p = _panels(data, position, layer)
    fig = make_subplots(rows=2, cols=2, subplot_titles=p["titles"], vertical_spacing=0.2, horizontal_spacing=0.14)
    pos = len(p["labels"])
    fig.add_trace(go.Heatmap(z=p["embed"], y=list(range(pos)), colorscale=DIVERGING, zmid=0.0, showscale=False,
                             hovertemplate=f"position %{{y}}<br>dimension %{{x}}<br>value: %{{z:{EXACT}}}"
                                           "<extra></extra>"), 1, 1)
    fig.add_trace(go.Heatmap(z=p["attention"], x=list(range(pos)), colorscale=SEQUENTIAL, zmin=0, zmax=1,
                             colorbar=dict(title=dict(text="attention"), x=1.0, y=0.8, len=0.4),
                             hoverongaps=False, hovertemplate=f"head %{{y}}<br>key position %{{x}}<br>"
                                                              f"attention: %{{z:{EXACT}}}<extra></extra>"), 1, 2)
    fig.add_trace(go.Heatmap(z=p["mask_z"], x=list(range(pos)), showscale=False,
                             colorscale=[[0, MASKED], [1, MASKED]], hoverongaps=False, zmin=0, zmax=1,
                             hovertemplate="masked: a token cannot attend to a later token<extra></extra>"), 1, 2)
    fig.add_trace(go.Scatter(x=p["others"][0], y=p["others"][1], mode="lines", line=dict(color=GREY, width=1),
                             name="other tokens", hoverinfo="skip"), 2, 1)
    fig.add_trace(go.Scatter(y=p["norms"], mode="lines+markers", line=dict(color=ORANGE, width=3),
                             name="chosen token", customdata=p["lens"],
                             hovertemplate=f"depth %{{x}}<br>norm: %{{y:{EXACT}}}<br>logit lens reads: "
                                           "%{customdata}<extra></extra>"), 2, 1)
    fig.add_trace(go.Bar(x=p["bars"][0], y=list(range(TOP_K)), customdata=p["bars"][1], orientation="h",
                         marker_color=BLUE, hovertemplate=f"%{{customdata}}<br>probability: %{{x:{EXACT}}}"
                                                          "<extra></extra>"), 2, 2)
    fig.add_shape(type="rect", xref="x", yref="y", line=dict(color=ORANGE, width=3), **p["row_box"])
    fig.update_layout(**base_layout("", "", "", height=780, width=950, showlegend=False,
                                    margin=dict(l=90, r=30, t=50, b=60)))
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_yaxes(autorange="reversed", title_text="head", row=1, col=2)
    fig.update_xaxes(title_text="dimension of the vector", row=1, col=1)
    fig.update_xaxes(title_text="key token (what it attends to)", row=1, col=2)
    fig.update_xaxes(title_text="depth (0 = embedding)", row=2, col=1)
    fig.update_yaxes(title_text="vector norm (log scale)", type="log", row=2, col=1)
    fig.update_xaxes(title_text="probability", row=2, col=2)
    _axes(fig, p["labels"], data.patterns.shape[1], p["bars"][1])
    return fig


def _axes(fig: go.Figure, labels: list[str], n_heads: int, bar_labels: list[str]) -> None:
    ticks = dict(tickmode="array", tickvals=list(range(len(labels))), ticktext=labels)
    fig.update_yaxes(row=1, col=1, **ticks)
    fig.update_xaxes(row=1, col=2, tickangle=-45, **ticks)
    fig.update_yaxes(row=1, col=2, tickmode="array", tickvals=list(range(n_heads)))
    fig.update_yaxes(row=2, col=2, tickmode="array", tickvals=list(range(len(bar_labels))), ticktext=bar_labels)


def update_tour_figure(fig: go.Figure, data: TourData, position: int, layer: int) -> None:
    """Change `fig` (built by tour_figure, usually a FigureWidget) in place for a new choice or new data."""
    p = _panels(data, position, layer)
    pos = len(p["labels"])
    with fig.batch_update():
        fig.data[0].update(z=p["embed"], y=list(range(pos)))
        fig.data[1].update(z=p["attention"], x=list(range(pos)))
        fig.data[2].update(z=p["mask_z"], x=list(range(pos)))
        fig.data[3].update(x=p["others"][0], y=p["others"][1])
        fig.data[4].update(y=p["norms"], customdata=p["lens"])
        fig.data[5].update(x=p["bars"][0], customdata=p["bars"][1])
        fig.layout.shapes[0].update(**p["row_box"])
        for annotation, title in zip(fig.layout.annotations, p["titles"], strict=True):
            annotation.text = title
        _axes(fig, p["labels"], data.patterns.shape[1], p["bars"][1])
