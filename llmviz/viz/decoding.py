"""Figures of decoding: the next-token distribution and what a sampling filter keeps, the KV cache growing,
the work saved by it, and speculative decoding's accepted and rejected draft tokens.

Inputs are plain numbers and strings: probabilities with a kept mask (from sampling.py's records), per-step cache
sizes, per-step work counts, rows of (token, status). Nothing here samples, filters, or runs a model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from llmviz.viz.inputs import as_array, as_bool_array, check_length
from llmviz.viz.style import (
    BLUE,
    EXACT,
    GREY,
    OKABE_ITO,
    ORANGE,
    STATUS_COLORS,
    VERMILLION,
    base_layout,
    categorical_colorscale,
    plot_text,
    token_axis,
    token_labels,
)
from llmviz.viz.text_alternative import number, percent, quoted, with_alt


def bar_colors(n: int, kept_mask=None, highlight: int | None = None) -> list[str]:
    """Colours for n bars: blue if kept, grey if filtered out, orange for the highlighted (chosen) token."""
    kept = np.ones(n, dtype=bool) if kept_mask is None else as_bool_array(kept_mask, "kept_mask", "[n]").reshape(-1)
    if len(kept) != n:
        raise ValueError(f"`kept_mask` has {len(kept)} entries but there are {n} tokens; give one bool per token.")
    colors = [BLUE if k else GREY for k in kept]
    if highlight is not None:
        if not 0 <= int(highlight) < n:
            raise ValueError(f"`highlight` must be a bar index in [0, {n}); got {highlight}.")
        colors[int(highlight)] = ORANGE
    return colors


def bar_marker(n: int, kept_mask=None, highlight: int | None = None) -> dict:
    """Marker settings for n bars: `bar_colors`, plus hatching on filtered-out bars so they differ by more than
    colour. A widget applies it with `fig.data[0].marker.update(bar_marker(...))`."""
    colors = bar_colors(n, kept_mask, highlight)
    return dict(color=colors, line=dict(width=0), pattern=dict(shape=["/" if c == GREY else "" for c in colors],
                                                               fgcolor="#777777", solidity=0.25))


def probability_bars(tokens: Sequence[str], probs, kept_mask=None, highlight: int | None = None,
                     title: str = "Next-token probabilities", yaxis_title: str = "probability",
                     xaxis_title: str = "candidate next token") -> go.Figure:
    """The next-token distribution over a few candidates as bars: probs [n] for tokens [n].

    kept_mask [n] (bool): which tokens survive a filter (top-k, top-p, min-p); survivors are blue, the rest grey.
    highlight: index of the sampled or greedy token (orange). Works for logits too (set yaxis_title).
    Traces: [0] the bars. A widget updates `fig.data[0].y`, `.marker` (see `bar_marker`) and `.customdata`.
    """
    y = as_array(probs, "probs", 1, "[n]")
    labels = token_labels(check_length(tokens, len(y), "tokens", "probabilities"))
    marker = bar_marker(len(y), kept_mask, highlight)
    status = [_bar_status(c) for c in marker["color"]]
    fig = go.Figure(go.Bar(
        x=list(range(len(y))), y=y, marker=marker,
        customdata=np.array([labels, status], dtype=object).T,
        hovertemplate=f"%{{customdata[0]}}<br>{yaxis_title}: %{{y:{EXACT}}}<br>%{{customdata[1]}}<extra></extra>"))
    fig.update_layout(**base_layout(title, xaxis_title, yaxis_title, height=450,
                                    width=max(600, min(1300, 60 * len(y) + 200)), bargap=0.15))
    fig.update_xaxes(**token_axis(labels), tickangle=-45)
    return with_alt(fig, f"{_ranking(labels, y, yaxis_title)}{_filter_note(marker['color'], labels)}.")


def _bar_status(color: str) -> str:
    return {BLUE: "kept by the filter", GREY: "filtered out", ORANGE: "chosen"}[color]


def probability_comparison(tokens: Sequence[str], series, title: str = "The same candidates, reshaped",
                           yaxis_title: str = "probability", xaxis_title: str = "candidate next token") -> go.Figure:
    """Grouped bars: the same candidate tokens [n] under several settings, series = {label: probs [n]}.

    E.g. {"T = 0.5": ..., "T = 1": ..., "T = 2": ...} shows temperature sharpening or flattening the distribution.
    Traces: [i] is the i-th series, in the order given; its y holds that series' probabilities.
    """
    if not series:
        raise ValueError("`series` is empty; give {label: probs [n]} for at least one setting.")
    labels = token_labels(tokens)
    fig = go.Figure()
    for i, (name, values) in enumerate(series.items()):
        y = as_array(values, f"series[{name!r}]", 1, "[n]")
        check_length(labels, len(y), "tokens", f"values in series[{name!r}]")
        fig.add_trace(go.Bar(x=list(range(len(y))), y=y, name=plot_text(str(name)), customdata=labels,
                             marker=dict(color=OKABE_ITO[i % len(OKABE_ITO)]),
                             hovertemplate=f"{plot_text(str(name))}<br>%{{customdata}}<br>{yaxis_title}: "
                                           f"%{{y:{EXACT}}}<extra></extra>"))
    fig.update_layout(**base_layout(title, xaxis_title, yaxis_title, height=450, barmode="group", bargap=0.2,
                                    width=max(600, min(1400, 25 * len(labels) * len(series) + 250))))
    fig.update_xaxes(**token_axis(labels), tickangle=-45)
    tops = []
    for trace in fig.data:
        values = np.asarray(trace.y, dtype=np.float64)
        best = int(np.argmax(values))
        tops.append(f"{quoted(trace.name)}: {quoted(labels[best])} at {_amount(values[best], yaxis_title)}")
    return with_alt(fig, f"{len(labels)} candidates under {len(fig.data)} settings; the top candidate "
                         f"under each is {'; '.join(tops)}.")


def kv_cache_growth(steps, cache_len, cache_bytes, title: str = "The KV cache grows by one position per step",
                    bytes_unit: str = "KiB") -> go.Figure:
    """Two panels over generation steps: cached positions (left) and the cache's memory (right).

    steps, cache_len, cache_bytes: [steps]. bytes_unit: "B", "KiB" or "MiB" for the right axis (hover also
    gives the exact byte count). Traces: [0] cache length, [1] cache size in bytes_unit.
    """
    x = as_array(steps, "steps", 1, "[steps]")
    length = as_array(cache_len, "cache_len", 1, "[steps]")
    size = as_array(cache_bytes, "cache_bytes", 1, "[steps]")
    if not len(x) == len(length) == len(size):
        raise ValueError(f"`steps`, `cache_len` and `cache_bytes` must have equal lengths; got "
                         f"{len(x)}, {len(length)} and {len(size)}.")
    scale = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2}
    if bytes_unit not in scale:
        raise ValueError(f"`bytes_unit` must be one of {list(scale)}; got {bytes_unit!r}.")
    fig = make_subplots(rows=1, cols=2, subplot_titles=["positions in the cache", "memory used by the cache"],
                        horizontal_spacing=0.14)
    fig.add_trace(go.Scatter(x=x, y=length, mode="lines+markers", name="cache length", line=dict(color=BLUE, width=3),
                             hovertemplate="step %{x}<br>cached positions: %{y}<extra></extra>"), 1, 1)
    fig.add_trace(go.Scatter(x=x, y=size / scale[bytes_unit], customdata=size, mode="lines+markers",
                             name="cache memory", line=dict(color=ORANGE, width=3),
                             hovertemplate=f"step %{{x}}<br>cache: %{{y:{EXACT}}} {bytes_unit}"
                                           "<br>(%{customdata:,} bytes)<extra></extra>"), 1, 2)
    fig.update_layout(**base_layout(title, "", "", height=420, width=1000, showlegend=False))
    fig.update_xaxes(title_text="generation step")
    fig.update_yaxes(title_text="cached positions", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text=f"cache size ({bytes_unit})", rangemode="tozero", row=1, col=2)
    unit = scale[bytes_unit]
    return with_alt(fig, f"over {len(x)} steps the cache grows from {number(length[0])} to "
                         f"{number(length[-1])} positions and from {number(size[0] / unit)} to "
                         f"{number(size[-1] / unit)} {bytes_unit}.")


def cost_with_without_cache(steps, work_with, work_without, title: str = "Work per step, with and without a KV cache",
                            yaxis_title: str = "positions computed") -> go.Figure:
    """Work per generation step with the KV cache (one new position) and without it (the whole prefix again).

    steps, work_with, work_without: [steps], any unit (positions, FLOPs, milliseconds: name it in yaxis_title).
    The hover gives both values and their ratio. Traces: [0] without the cache, [1] with it.
    """
    x = as_array(steps, "steps", 1, "[steps]")
    with_cache = as_array(work_with, "work_with", 1, "[steps]")
    without = as_array(work_without, "work_without", 1, "[steps]")
    if not len(x) == len(with_cache) == len(without):
        raise ValueError(f"`steps`, `work_with` and `work_without` must have equal lengths; got "
                         f"{len(x)}, {len(with_cache)} and {len(without)}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(with_cache != 0, without / with_cache, np.nan)
    fig = go.Figure()
    for y, name, color in ((without, "without cache", VERMILLION), (with_cache, "with cache", BLUE)):
        fig.add_trace(go.Scatter(x=x, y=y, customdata=ratio, mode="lines+markers", name=name,
                                 line=dict(color=color, width=3), marker=dict(size=8),
                                 hovertemplate=f"{name}<br>step %{{x}}<br>{yaxis_title}: %{{y:{EXACT}}}"
                                               "<br>without / with: %{customdata:.3g}×<extra></extra>"))
    fig.update_layout(**base_layout(title, "generation step", yaxis_title, height=450, width=800))
    fig.update_yaxes(rangemode="tozero")
    return with_alt(fig, f"at the last step ({number(x[-1])}) the work is {number(without[-1])} without "
                         f"the cache and {number(with_cache[-1])} with it, {number(ratio[-1])}× less; over all "
                         f"{len(x)} steps, {number(without.sum())} against {number(with_cache.sum())} "
                         f"({yaxis_title}).")


# Besides colour: struck through when rejected, italic when never checked, bold for the target's own tokens.
STATUS_MARKUP = {"accepted": "{}", "rejected": "<s>{}</s>", "replacement": "<b>{}</b>", "bonus": "<b>{}</b>",
                 "discarded": "<i>{}</i>"}
SPECULATIVE_STATUSES = ["accepted", "rejected", "replacement", "bonus", "discarded"]
SPECULATIVE_MEANING = {
    "accepted": "draft token accepted by the target",
    "rejected": "draft token rejected by the target",
    "replacement": "the target's own token, replacing the rejected one",
    "bonus": "extra token from the target after all drafts were accepted",
    "discarded": "draft token after a rejection: never checked",
}


def _speculative_row(row, i: int) -> list[tuple[str, str]]:
    if hasattr(row, "tokens") and hasattr(row, "statuses"):
        pairs = list(zip(row.tokens, row.statuses, strict=True))
    else:
        pairs = [tuple(cell) for cell in row]
    for _token, status in pairs:
        if status not in SPECULATIVE_STATUSES:
            raise ValueError(f"rows[{i}] has status {status!r}; use one of {SPECULATIVE_STATUSES}.")
    return pairs


def speculative_steps(rows, title: str = "Speculative decoding: draft, then verify") -> go.Figure:
    """A grid of speculative decoding: one row per step, one cell per proposed token, coloured by status.

    rows: a list of steps, each a list of (token, status) pairs or an object with `.tokens` and `.statuses`.
    Status is one of "accepted", "rejected", "replacement", "bonus", "discarded". Traces: [0] the grid (z holds
    status codes, index into SPECULATIVE_STATUSES; text the tokens; empty cells None), then one invisible legend
    entry per status.
    """
    steps = [_speculative_row(row, i) for i, row in enumerate(rows)]
    if not steps or not any(steps):
        raise ValueError("`rows` is empty; give one list of (token, status) pairs per verification step.")
    width = max(len(step) for step in steps)
    z = np.full((len(steps), width), np.nan)
    text = np.full((len(steps), width), "", dtype=object)
    meaning = np.full((len(steps), width), "", dtype=object)
    for i, step in enumerate(steps):
        labels = token_labels([token for token, _ in step])
        for j, (label, (_, status)) in enumerate(zip(labels, step, strict=True)):
            z[i, j] = SPECULATIVE_STATUSES.index(status)
            text[i, j] = STATUS_MARKUP[status].format(label)
            meaning[i, j] = f"{status}: {SPECULATIVE_MEANING[status]}"
    colors = [STATUS_COLORS[s] for s in SPECULATIVE_STATUSES]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(width)), y=list(range(len(steps))), text=text, texttemplate="%{text}",
        textfont=dict(size=15), customdata=meaning, xgap=3, ygap=3, hoverongaps=False,
        colorscale=categorical_colorscale(colors), zmin=-0.5, zmax=len(colors) - 0.5, showscale=False,
        hovertemplate="step %{y}, slot %{x}: %{text}<br>%{customdata}<extra></extra>"))
    for status, color in zip(SPECULATIVE_STATUSES, colors, strict=True):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=status,
                                 marker=dict(size=14, color=color, symbol="square")))
    fig.update_layout(**base_layout(title, "draft proposals, then the target's own token", "verification step",
                                    height=max(300, 50 * len(steps) + 200), width=max(600, 110 * width + 300)))
    fig.update_xaxes(tickmode="linear", dtick=1, showgrid=False, zeroline=False)
    fig.update_yaxes(autorange="reversed", tickmode="linear", dtick=1, showgrid=False, zeroline=False)
    counts = Counter(status for step in steps for _, status in step)
    return with_alt(fig, f"{len(steps)} verification steps; " +
                         ", ".join(f"{counts[s]} {s}" for s in SPECULATIVE_STATUSES if counts[s]) + ".")


def _amount(value: float, value_name: str) -> str:
    return percent(value) if "probab" in value_name else number(value)


def _ranking(labels: list[str], values: np.ndarray, value_name: str, n: int = 5) -> str:
    """'the top token is ' mat' at 15.0%; the next four are ' bed' 12.0%, ...' (values [n], any order)."""
    order = np.argsort(-values, kind="stable")
    first, rest = int(order[0]), [int(i) for i in order[1:n]]
    text = f"the top token is {quoted(labels[first])} at {_amount(values[first], value_name)}"
    if rest:
        text += f"; the next {len(rest)} are " + ", ".join(f"{quoted(labels[i])} {_amount(values[i], value_name)}"
                                                          for i in rest)
    return text


def _filter_note(colors: list[str], labels: list[str]) -> str:
    """'; 3 of 10 are filtered out; the chosen token is ' mat'' from bar_colors' colours, or ''."""
    parts = []
    dropped = sum(c == GREY for c in colors)
    if dropped:
        parts.append(f"{dropped} of {len(colors)} are filtered out")
    if ORANGE in colors:
        parts.append(f"the chosen token is {quoted(labels[colors.index(ORANGE)])}")
    return "".join(f"; {part}" for part in parts)
