"""Figures of how tokenizers cut text: several tokenizers side by side on one text, and a segmentation
lattice (every candidate piece of a word, Viterbi's best path on top) for Unigram models.

Inputs are plain: each tokenizer's pieces and ids, or spans (start, end, piece, score) over a word's characters,
which unigram.py's lattice nodes already are. Nothing here tokenizes or searches; it draws what it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from llmviz.viz.inputs import check_length
from llmviz.viz.style import (
    EXACT,
    ORANGE,
    SEQUENTIAL,
    TICK_SIZE,
    base_layout,
    categorical_colorscale,
    plot_text,
    readable_token,
    token_labels,
)
from llmviz.viz.text_alternative import number, quoted, with_alt
from llmviz.viz.tokens import TOKEN_TINTS


def token_comparison(rows: Mapping[str, tuple[Sequence[str], Sequence[int]]],
                     title: str = "One text, several tokenizers", per_row: int | None = None) -> go.Figure:
    """One row per tokenizer: its pieces left to right (piece over id), so row length is the token count.

    rows: {tokenizer name: (tokens, ids)}, in display order. per_row: wrap each tokenizer's pieces onto lines of at
    most this many cells, so a long text fits a notebook's width (None: one line each). Traces: [0] a heatmap
    [lines, cells per line] whose z is the tint index (NaN past a row's end), text the cell label, customdata
    [name, position, piece, id].
    """
    if not rows:
        raise ValueError("`rows` is empty; give {tokenizer name: (tokens, ids)} for at least one tokenizer.")
    if per_row is not None and (not isinstance(per_row, int) or per_row < 1):
        raise ValueError(f"`per_row` must be a positive int or None; got {per_row!r}.")
    names = list(rows)
    parsed = []
    for name in names:
        tokens, ids = rows[name]
        ids = [int(i) for i in (ids.tolist() if hasattr(ids, "tolist") else ids)]
        parsed.append((token_labels(check_length(tokens, len(ids), f"rows[{name!r}] tokens", "ids")), ids))
    longest = max(1, max(len(ids) for _, ids in parsed))
    width = min(longest, per_row or longest)
    lines = [(r, start) for r, (_, ids) in enumerate(parsed) for start in range(0, max(1, len(ids)), width)]
    z = np.full((len(lines), width), np.nan)
    text = np.full((len(lines), width), "", dtype=object)
    custom = np.full((len(lines), width, 4), "", dtype=object)
    for line, (r, start) in enumerate(lines):
        labels, ids = parsed[r]
        for c, (label, token_id) in enumerate(zip(labels[start:start + width], ids[start:start + width],
                                                  strict=True)):
            z[line, c] = (start + c) % len(TOKEN_TINTS)
            text[line, c] = f"<b>{label}</b><br>{token_id}"
            custom[line, c] = [plot_text(names[r]), start + c, label, token_id]
    fig = go.Figure(go.Heatmap(
        z=z, text=text, texttemplate="%{text}", textfont=dict(size=14, color="#222222"), customdata=custom,
        colorscale=categorical_colorscale(TOKEN_TINTS), zmin=-0.5, zmax=len(TOKEN_TINTS) - 0.5, showscale=False,
        xgap=3, ygap=6, hoverongaps=False,
        hovertemplate="%{customdata[0]}<br>token %{customdata[1]}: %{customdata[2]}<br>id: %{customdata[3]}"
                      "<extra></extra>"))
    wrapped = width < longest
    fig.update_layout(**base_layout(title, "token position" + (" (hover for the position in the text)" if wrapped
                                                               else ""), "tokenizer", height=90 * len(lines) + 170,
                                    width=max(600, min(1600, 90 * width + 260))))
    fig.update_xaxes(tickmode="linear", dtick=1 if width <= 30 else 5, showgrid=False, zeroline=False,
                     showticklabels=not wrapped)
    fig.update_yaxes(tickmode="array", tickvals=list(range(len(lines))), autorange="reversed", showgrid=False,
                     zeroline=False, ticklabelstandoff=6,
                     ticktext=[f"{plot_text(names[r])} ({len(parsed[r][1])})" if start == 0 else "↳ continued"
                               for r, start in lines])
    return with_alt(fig, "; ".join(f"{quoted(name)}: {len(ids)} tokens" for name, (_, ids) in
                                   zip(names, parsed, strict=True)))


def _span(item, i: int) -> tuple[int, int, str, float]:
    if isinstance(item, Mapping):
        fields = [item.get(k) for k in ("start", "end", "piece", "score")]
    elif hasattr(item, "start"):
        fields = [getattr(item, k, None) for k in ("start", "end", "piece", "score")]
    else:
        fields = list(item)
    if len(fields) != 4 or any(f is None for f in fields) or not 0 <= int(fields[0]) < int(fields[1]):
        raise ValueError(f"spans[{i}] must be (start, end, piece, score) with 0 <= start < end; got {item!r}.")
    return int(fields[0]), int(fields[1]), str(fields[2]), float(fields[3])


def segmentation_lattice(word: str, spans, best: Sequence[int] = (), title: str | None = None,
                         value_name: str = "log-probability") -> go.Figure:
    """Every candidate piece of `word` as a bar over the characters it covers, the chosen path on the top row.

    spans: (start, end, piece, score) tuples, dicts or objects (e.g. unigram.py's LatticeNode) over character
    positions of `word`. best: indices into spans of the chosen segmentation, left to right. Candidates are packed
    into rows so none overlap. Traces: [0] every candidate (colour = score), [1] the chosen pieces (orange).
    """
    items = [_span(item, i) for i, item in enumerate(spans)]
    if not items:
        raise ValueError("`spans` is empty; give at least one (start, end, piece, score).")
    if max(end for _, end, _, _ in items) > len(word):
        raise ValueError(f"a span ends past the word's {len(word)} characters; spans index characters of `word`.")
    chosen = [int(i) for i in best]
    if any(not 0 <= i < len(items) for i in chosen):
        raise ValueError(f"`best` must index spans (0..{len(items) - 1}); got {chosen}.")
    # Greedy interval packing: each candidate goes in the first row whose last piece ends at or before its start.
    row_ends: list[int] = []
    rows = []
    for start, end, _, _ in sorted(items, key=lambda s: (s[0], s[1])):
        row = next((r for r, last in enumerate(row_ends) if last <= start), len(row_ends))
        if row == len(row_ends):
            row_ends.append(0)
        row_ends[row] = end
        rows.append(row)
    order = sorted(range(len(items)), key=lambda i: (items[i][0], items[i][1]))
    row_of = {i: rows[k] + 1 for k, i in enumerate(order)}  # row 0 is the chosen path

    def bars(indices, **style):
        labels = [plot_text(readable_token(items[i][2], byte_level=False)) for i in indices]
        return go.Bar(
            orientation="h", base=[items[i][0] for i in indices], x=[items[i][1] - items[i][0] for i in indices],
            text=labels, textposition="inside", insidetextanchor="middle", textfont=dict(size=TICK_SIZE),
            customdata=[[labels[k], items[i][0], items[i][1], items[i][3]] for k, i in enumerate(indices)],
            hovertemplate=("%{customdata[0]}<br>characters %{customdata[1]}–%{customdata[2]}"
                           f"<br>{value_name}: %{{customdata[3]:{EXACT}}}<extra></extra>"), **style)

    scores = [items[i][3] for i in range(len(items))]
    fig = go.Figure([
        bars(list(range(len(items))), y=[row_of[i] for i in range(len(items))], name="candidate piece",
             marker=dict(color=scores, colorscale=SEQUENTIAL, line=dict(color="white", width=1),
                         colorbar=dict(title=dict(text=value_name), tickfont=dict(size=TICK_SIZE)))),
        bars(chosen, y=[0] * len(chosen), name="chosen path",
             marker=dict(color=ORANGE, line=dict(color="white", width=2))),
    ])
    n_rows = len(row_ends) + 1
    shown = plot_text(readable_token(word, byte_level=False))
    fig.update_layout(**base_layout(title or f"Segmentation lattice of “{shown}”", "character position",
                                    "candidate pieces", height=45 * n_rows + 200,
                                    width=max(600, min(1400, 70 * len(word) + 300)), bargap=0.15,
                                    barmode="overlay", showlegend=False))
    fig.update_layout(margin=dict(t=130))  # the character axis sits on top, under the title
    chars = [plot_text(readable_token(ch, byte_level=False)) for ch in word]
    fig.update_xaxes(tickmode="array", tickvals=[i + 0.5 for i in range(len(word))], ticktext=chars,
                     range=[0, len(word)], showgrid=False, zeroline=False, side="top")
    fig.update_xaxes(tickfont=dict(size=TICK_SIZE + 4))
    fig.update_yaxes(tickmode="array", tickvals=list(range(n_rows)), ticktext=["chosen"] + [""] * (n_rows - 1),
                     autorange="reversed", showgrid=False, zeroline=False)
    path = " | ".join(quoted(readable_token(items[i][2], byte_level=False)) for i in chosen)
    return with_alt(fig, f"{len(items)} candidate pieces over {len(word)} characters; " +
                         (f"the chosen path is {path}, total {value_name} {number(sum(items[i][3] for i in chosen))}"
                          if chosen else "no path is marked as chosen"))
