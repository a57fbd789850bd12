"""Figures of tokens: the token strip (pieces with their ids) and the byte view used to explain detokenization
(ids -> bytes -> characters, with a character split across tokens marked as held back).

Token strings are shown readably ("␣cat", never "Ġcat"). The byte view reads UTF-8 lead and continuation bytes
itself, because that *is* the picture; it does not tokenize or decode ids (tokenizers.py and detokenize.py do).
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from llmviz.tokenization.bytelevel import readable_bytes
from llmviz.viz.inputs import check_length
from llmviz.viz.style import (
    BLUE,
    ORANGE,
    TICK_SIZE,
    VERMILLION,
    YELLOW,
    base_layout,
    categorical_colorscale,
    plot_text,
    token_labels,
)
from llmviz.viz.text_alternative import quoted, with_alt

# Light tints of the Okabe-Ito colours, cool and warm in turn: dark text stays readable on all of them, and
# neighbours stay apart for deuteranopes and protanopes too (CIELAB ΔE >= 32 under Machado et al.'s simulation; the
# old order put a green tint next to a vermillion one, ΔE 15). No green tint, so no red-against-green pair.
TOKEN_TINTS = ["#B3D4E8", "#F7D9A0", "#EBC7DB", "#F5EDA8", "#C9E6F7", "#F0BFA0"]


def token_table(tokens: Sequence[str], ids: Sequence[int], title: str = "Text → tokens → ids", per_row: int = 8,
                byte_level: bool | None = None) -> go.Figure:
    """Tokens as a coloured strip, each cell showing the readable piece over its id, wrapped every `per_row` cells.
    The default of 8 cells (910 px) fits JupyterLab's output area, about 960 px wide; 12 would scroll sideways.

    tokens [n] (raw 'Ġcat' or readable '␣cat'), ids [n]. Traces: [0] a heatmap whose z is the tint index per cell
    (None past the end), text the cell label, customdata [position, piece, id].
    """
    ids = [int(i) for i in (ids.tolist() if hasattr(ids, "tolist") else ids)]
    if isinstance(tokens, str):
        raise TypeError("`tokens` must be a list of token strings, not one string; use lm.to_str_tokens(text).")
    labels = token_labels(check_length(tokens, len(ids), "tokens", "ids"), byte_level)
    if not ids:
        raise ValueError("`ids` is empty; give at least one token.")
    if per_row < 1:
        raise ValueError(f"`per_row` must be at least 1; got {per_row}.")
    n = len(ids)
    rows, cols = -(-n // per_row), min(per_row, n)
    z = np.full((rows, cols), np.nan)
    text = np.full((rows, cols), "", dtype=object)
    custom = np.full((rows, cols, 3), "", dtype=object)
    for i, (label, token_id) in enumerate(zip(labels, ids, strict=True)):
        r, c = divmod(i, per_row)
        z[r, c] = i % len(TOKEN_TINTS)
        text[r, c] = f"<b>{label}</b><br>{token_id}"
        custom[r, c] = [i, label, token_id]
    fig = go.Figure(go.Heatmap(
        z=z, text=text, texttemplate="%{text}", textfont=dict(size=15, color="#222222"), customdata=custom,
        colorscale=categorical_colorscale(TOKEN_TINTS), zmin=-0.5, zmax=len(TOKEN_TINTS) - 0.5, showscale=False,
        xgap=4, ygap=4, hoverongaps=False,
        hovertemplate="token %{customdata[0]}: %{customdata[1]}<br>id: %{customdata[2]}<extra></extra>"))
    fig.update_layout(**base_layout(f"{title} ({n} tokens)", "token (within the row)", "row",
                                    height=90 * rows + 170, width=max(500, 95 * cols + 150)))
    fig.update_xaxes(tickmode="linear", dtick=1, showgrid=False, zeroline=False)
    fig.update_yaxes(autorange="reversed", tickmode="linear", dtick=1, showgrid=False, zeroline=False)
    listed = ", ".join(f"{quoted(label)} ({token_id})" for label, token_id in zip(labels[:12], ids[:12],
                                                                                      strict=True))
    return with_alt(fig, f"{n} tokens: {listed}" + (", …" if n > 12 else ""))


BYTE_ROLES = ["one-byte character (ASCII)", "first byte of a multi-byte character", "continuation byte",
              "incomplete or invalid"]
BYTE_COLORS = [BLUE, ORANGE, YELLOW, VERMILLION]


def utf8_characters(data: bytes) -> list[tuple[int, int, bool]]:
    """Split data into (start, stop, complete) spans: one per UTF-8 character, or per stray/incomplete byte."""
    spans, i = [], 0
    while i < len(data):
        lead = data[i]
        width = 1 if lead < 0x80 else 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else \
            4 if 0xF0 <= lead <= 0xF4 else 0
        chunk = data[i:i + width]
        if width and len(chunk) == width and all(0x80 <= b <= 0xBF for b in chunk[1:]):
            try:
                chunk.decode("utf-8")
                spans.append((i, i + width, True))
                i += width
                continue
            except UnicodeDecodeError:
                pass
        spans.append((i, i + 1, False))
        i += 1
    return spans


def waiting_tail(data: bytes) -> int | None:
    """Where the bytes of a character still arriving begin (a valid UTF-8 prefix cut by the end), else None."""
    for start in range(max(0, len(data) - 3), len(data)):
        tail = data[start:]
        lead = tail[0]
        width = 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if 0xF0 <= lead <= 0xF4 else 0
        if len(tail) < width:
            try:
                if codecs.getincrementaldecoder("utf-8")().decode(tail, final=False) == "":
                    return start
            except UnicodeDecodeError:
                return None
    return None


def byte_view(pieces: Sequence[str], bytes_per_piece: Sequence[bytes],
              title: str = "Detokenization: token bytes → UTF-8 characters") -> go.Figure:
    """Each token's bytes in hex, grouped under the token and over the characters they decode to.

    pieces [n]: token labels; bytes_per_piece [n]: each token's raw bytes. A character whose bytes span two tokens is
    boxed in vermillion: a streaming decoder holds its first bytes back until the rest arrive; so is the start of a
    character still waiting for its last bytes at the end (shown as …). Traces: [0] a one-row
    heatmap of bytes (z: index into BYTE_ROLES, text: hex), then one legend entry per role and one for
    the split-character box.
    """
    if isinstance(pieces, str):
        raise TypeError("`pieces` must be a list of token strings, not one string.")
    chunks = [bytes(b) for b in check_length(bytes_per_piece, len(pieces), "bytes_per_piece", "pieces")]
    labels = token_labels(pieces)
    data = b"".join(chunks)
    if not data:
        raise ValueError("`bytes_per_piece` holds no bytes at all; give each token's bytes, e.g. lm.token_bytes(id).")
    owner = np.concatenate([np.full(len(c), i) for i, c in enumerate(chunks)]).astype(int)  # [bytes] -> piece
    roles = np.zeros(len(data))
    notes = [""] * len(data)
    annotations, shapes = [], []
    spans = utf8_characters(data)
    waiting = waiting_tail(data)
    if waiting is not None:  # complete=None: the first bytes of a character whose rest has not arrived
        spans = [span for span in spans if span[0] < waiting] + [(waiting, len(data), None)]
    for start, stop, complete in spans:
        first, last = int(owner[start]), int(owner[stop - 1])
        char = plot_text(readable_bytes(data[start:stop])) if complete else \
            "…" if complete is None else f"&lt;{data[start]:02X}&gt;"
        roles[start] = 0 if stop - start == 1 and complete else 3 if complete is False else 1
        roles[start + 1:stop] = 2
        split = complete is None or (complete and first != last)
        note = f"character {char}" if complete else "not a whole UTF-8 character" if complete is False else \
            "held back: the first bytes of a character, waiting for the rest"
        if complete and first != last:
            note += f": split across tokens {first} and {last}; held back after token {first} until token {last}"
        for b in range(start, stop):
            notes[b] = note
        annotations.append(dict(x=(start + stop - 1) / 2, y=1, text=char, showarrow=False,
                                font=dict(size=18, color=VERMILLION if split or not complete else "#222222")))
        if split:
            shapes.append(dict(type="rect", x0=start - 0.5, x1=stop - 0.5, y0=-0.55, y1=1.45,
                               line=dict(color=VERMILLION, width=3, dash="dash")))
    ends = np.cumsum([len(c) for c in chunks])
    for i, (label, end, chunk) in enumerate(zip(labels, ends, chunks, strict=True)):
        if chunk:
            annotations.append(dict(x=end - len(chunk) / 2 - 0.5, y=-1, text=label, showarrow=False,
                                    font=dict(size=16, color="#222222"), bgcolor="#F2F2F2"))
        if i < len(chunks) - 1:
            shapes.append(dict(type="line", x0=end - 0.5, x1=end - 0.5, y0=-1.5, y1=0.5, line=dict(color="#222222",
                                                                                                  width=3)))
    custom = np.array([[labels[owner[b]], int(owner[b]), notes[b]] for b in range(len(data))], dtype=object)
    fig = go.Figure(go.Heatmap(
        z=roles[None, :], x=list(range(len(data))), y=[0], text=[[f"{b:02X}" for b in data]], texttemplate="%{text}",
        textfont=dict(size=14), customdata=custom[None, :, :], colorscale=categorical_colorscale(BYTE_COLORS),
        zmin=-0.5, zmax=len(BYTE_COLORS) - 0.5, showscale=False, xgap=2,
        hovertemplate="byte %{x}: 0x%{text}<br>token %{customdata[1]}: %{customdata[0]}<br>%{customdata[2]}"
                      "<extra></extra>"))
    for role, color in zip(BYTE_ROLES, BYTE_COLORS, strict=True):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=role,
                                 marker=dict(size=14, color=color, symbol="square")))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="held back: character incomplete at a token's end",
                             line=dict(color=VERMILLION, width=3, dash="dash")))
    fig.update_layout(**base_layout(title, "byte position", "stage", height=360,
                                    width=max(600, min(1500, 46 * len(data) + 200)),
                                    annotations=annotations, shapes=shapes,
                                    legend=dict(orientation="h", y=-0.35, font=dict(size=TICK_SIZE))))
    fig.update_layout(margin=dict(b=120))
    fig.update_xaxes(tickmode="linear", dtick=1, showgrid=False, zeroline=False, range=[-0.6, len(data) - 0.4])
    fig.update_yaxes(tickmode="array", tickvals=[-1, 0, 1], ticktext=["token", "bytes", "character"],
                     range=[1.6, -1.6], showgrid=False, zeroline=False)
    whole = [span for span in spans if span[2]]
    split = sum(int(owner[start]) != int(owner[stop - 1]) for start, stop, _ in whole)
    broken = sum(span[2] is False for span in spans)
    return with_alt(fig, f"{len(data)} bytes from {len(chunks)} tokens make {len(whole)} whole characters; "
                         f"{split} of them split across tokens; {broken} bytes are not part of a whole character" +
                         ("; the last bytes wait for the rest of a character" if waiting is not None else ""))

