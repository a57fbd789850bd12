"""Figures for slides and handouts, one per kind, from a real model: what `llmviz figure KIND "PROMPT" -o FILE` draws.

Each kind runs the model (or the tokenizer) once and hands the numbers to the same builder the notebooks use
(`attention_heatmap`, `probability_bars`, `logit_lens_grid`, `bpe_merge_steps`), so a printed figure and the
interactive one are the same picture of the same data. `figure` returns the interactive plotly figure;
`llmviz.viz.printable.save_static` turns it into a PNG, SVG or PDF. To add a kind, write a function
`(lm, text, options) -> plotly Figure` and add it to FIGURES. This module computes and picks builders; it draws
nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import torch

from llmviz.decoding.forward import next_token_logits
from llmviz.names import residual_stream_names
from llmviz.tokenization.bpe import merge_timeline, piece_ids, replay
from llmviz.viz.adapters import lens_grid
from llmviz.viz.attention import attention_heatmap
from llmviz.viz.decoding import probability_bars
from llmviz.viz.depth import logit_lens_grid
from llmviz.viz.merges import bpe_merge_steps
from llmviz.viz.style import plot_text, readable_tokens

MAX_BPE_BYTES = 48  # wider than this, a slide's bars get too thin to read their labels


@dataclass
class FigureOptions:
    layer: int = 0  # attention: which layer
    head: int = 0  # attention: which head
    top: int = 10  # next-token: how many bars


def attention(lm, text: str, options: FigureOptions) -> go.Figure:
    """One head's attention pattern [query_pos, key_pos] on the prompt."""
    layer, head = options.layer, options.head
    if not (0 <= layer < lm.n_layers and 0 <= head < lm.n_heads):
        raise ValueError(f"--layer must be in 0..{lm.n_layers - 1} and --head in 0..{lm.n_heads - 1} for "
                         f"{lm.name}; got layer {layer}, head {head}.")
    _, cache = lm.run_with_cache(text, names=[f"blocks.{layer}.attn.hook_pattern"])
    return attention_heatmap(cache["pattern", layer][0, head], readable_tokens(lm.to_str_tokens(text)),
                             title=f"{lm.name}, layer {layer}, head {head}: where each token looks")


def next_token(lm, text: str, options: FigureOptions) -> go.Figure:
    """The `top` most probable next tokens after the prompt, the greedy one highlighted."""
    probs = torch.softmax(next_token_logits(lm, text).float(), dim=-1)  # [vocab]
    best = probs.topk(min(options.top, probs.numel()))
    return probability_bars(readable_tokens(lm.to_str_tokens(best.indices.tolist())), best.values, highlight=0,
                            title=f"{lm.name}: the next token after {plot_text(repr(text))}")


def logit_lens(lm, text: str, options: FigureOptions) -> go.Figure:
    """The logit lens: each layer's top guess [layer, pos] for the token after each position of the prompt."""
    _, cache = lm.run_with_cache(text, names=residual_stream_names(lm.n_layers))
    lens = lm.logit_lens(cache, top_k=1)
    return logit_lens_grid(**lens_grid(lens, readable_tokens(lm.to_str_tokens(text))),
                           title=f"{lm.name}: the logit lens, each layer's top guess for the next token")


def bpe(lm, text: str, options: FigureOptions) -> go.Figure:
    """The BPE merge steps of the model's tokenizer on `text`: bytes, the pieces after each merge, the tokens."""
    size = len(text.encode("utf-8"))
    if size > MAX_BPE_BYTES:
        raise ValueError(f"The text is {size} bytes; the merge figure shows at most {MAX_BPE_BYTES}. "
                         "Give a word or a short phrase, e.g. \" unbelievable\".")
    states = merge_timeline(replay(lm.tokenizer, text))
    summary = f"{size} bytes → {len(states[-1].pieces)} tokens in {len(states) - 1} merge steps"
    return bpe_merge_steps(states, piece_ids(lm.tokenizer, states),
                           title=f"{lm.name}'s BPE on {plot_text(repr(text))}: {summary}<br><span style='font-size:"
                                 "14px'>orange, outlined: the pieces each step's merge made</span>")


FIGURES = {"attention": attention, "next-token": next_token, "logit-lens": logit_lens, "bpe": bpe}
FIGURE_KINDS = tuple(FIGURES)


def figure(lm, kind: str, text: str, layer: int = 0, head: int = 0, top: int = 10) -> go.Figure:
    """The interactive figure of `kind` (one of FIGURE_KINDS) for `text`, from `lm`. A plotly Figure. The text is
    shown escaped: a prompt holding '<b>' reads '<b>', never bold.

    Raises ValueError for an unknown kind, an empty text, or an option out of range, saying what to give instead.
    """
    if kind not in FIGURES:
        raise ValueError(f"Unknown figure kind {kind!r}; choose one of {', '.join(FIGURE_KINDS)}.")
    if not isinstance(text, str) or not text:
        raise ValueError("The prompt is empty; give some text, e.g. \"The cat sat on the\".")
    if top < 1:
        raise ValueError(f"--top must be at least 1; got {top}.")
    return FIGURES[kind](lm, text, FigureOptions(layer=layer, head=head, top=top))
