"""The BPE merge steps as a picture: a text's bytes, its pieces after each merge rule, and its final tokens, drawn
as horizontal bars over byte positions (one bar per piece, as wide as the piece's bytes).

`byte_bars` and `merge_bars` give one row's bar data. The merge explorer widget (one step at a time on a slider) and
`bpe_merge_steps` (every step at once, for a slide or a handout) both draw their rows with them, so the two never
disagree. The inputs are the states of `llmviz.tokenization.bpe.merge_timeline` (objects with fields step, merge,
occurrences, pieces, spans, new) and a piece -> id table; nothing here tokenizes or merges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from llmviz.tokenization.bytelevel import readable_bytes, token_bytes
from llmviz.viz.style import GREY, ORANGE, TEXT, base_layout, plot_text, token_labels
from llmviz.viz.text_alternative import quoted, with_alt
from llmviz.viz.tokens import TOKEN_TINTS

BYTES_ROW, TOKENS_ROW = "bytes", "final tokens"


def byte_bars(data: bytes, row: int) -> dict:
    """Bar keywords for row `row`: one grey bar per byte of `data`, labelled with the byte's readable character."""
    return dict(y=[row] * len(data), base=list(range(len(data))), x=[1] * len(data),
                marker=dict(color=[GREY] * len(data), line=dict(color=["white"] * len(data), width=[2] * len(data))),
                text=[plot_text(readable_bytes(bytes([b]))) for b in data],
                customdata=[f"byte {i}: 0x{b:02X}" for i, b in enumerate(data)])


def merge_bars(state, token_ids: Mapping[str, int], row: int, final: bool = False) -> dict:
    """Bar keywords for row `row`: one bar per piece of `state` over its bytes [start, end).

    The pieces this state's merge made are orange with a dark outline (not told apart by colour alone); the others
    alternate two light tints. final=True draws the finished tokens: no highlight, each label over its id.
    """
    labels = token_labels(state.pieces, byte_level=True)
    missing = [p for p in state.pieces if p not in token_ids]
    if missing:
        raise ValueError(f"`token_ids` has no id for the piece {missing[0]!r}; give every piece of every state, "
                         "e.g. llmviz.tokenization.bpe.piece_ids(tokenizer, states).")
    ids = [token_ids[p] for p in state.pieces]
    made = [bool(n) and not final for n in state.new]
    return dict(y=[row] * len(labels), base=[s for s, _ in state.spans], x=[e - s for s, e in state.spans],
                marker=dict(color=[ORANGE if m else TOKEN_TINTS[i % 2] for i, m in enumerate(made)],
                            line=dict(color=[TEXT if m else "white" for m in made],
                                      width=[3 if m else 2 for m in made])),
                text=[f"<b>{lab}</b><br>{i}" if final else f"<b>{lab}</b>"
                      for lab, i in zip(labels, ids, strict=True)],
                customdata=[f"{lab} · id {i} · bytes {s}–{e - 1}" for lab, i, (s, e)
                            in zip(labels, ids, state.spans, strict=True)])


def step_label(state) -> str:
    """'merge ␣ + t → ␣t (rank 12), 2×' for a state made by a merge; 'no merge yet' for step 0."""
    if state.merge is None:
        return "no merge yet"
    a, b = token_labels(list(state.merge.pair), byte_level=True)
    (merged,) = token_labels([state.merge.merged], byte_level=True)
    return f"merge {a} + {b} → {merged} (rank {state.merge.rank}), {state.occurrences}×"


def text_bytes(states: Sequence) -> bytes:
    """The text's bytes, read back from the first state's pieces."""
    return b"".join(token_bytes(p) for p in states[0].pieces)


def bpe_merge_steps(states: Sequence, token_ids: Mapping[str, int], title: str | None = None,
                    max_steps: int = 24) -> go.Figure:
    """Every step of a BPE encoding, top to bottom: the bytes, the pieces after each merge rule, the final tokens.

    states: `merge_timeline(replay(tokenizer, text))` (state 0 holds the bytes, state k the pieces after the k-th
    rule); token_ids: piece -> id for every piece shown. Traces: [0] the bytes (row 0), [k] the pieces after step k
    (row k, k = 1..len(states)-1), [-1] the final tokens with their ids (the last row). A ValueError if there are more
    than `max_steps` merge steps: a slide cannot show them all, so shorten the text.
    """
    states = list(states)
    if not states or not states[0].pieces:
        raise ValueError("`states` is empty; give merge_timeline(replay(tokenizer, text)) for a non-empty text.")
    n_steps = len(states) - 1
    if n_steps > max_steps:
        raise ValueError(f"The text takes {n_steps} merge steps; the figure shows at most {max_steps}. "
                         "Shorten the text (one or two words) or raise max_steps.")
    data = text_bytes(states)
    rows = [byte_bars(data, 0)] + [merge_bars(s, token_ids, k) for k, s in enumerate(states[1:], start=1)]
    rows.append(merge_bars(states[-1], token_ids, n_steps + 1, final=True))
    names = [BYTES_ROW] + [f"{k}: {step_label(s).split(' (')[0].removeprefix('merge ')}"
                           for k, s in enumerate(states[1:], start=1)] + [TOKENS_ROW]
    fig = go.Figure([go.Bar(orientation="h", name=name, textposition="inside", insidetextanchor="middle", textangle=0,
                            hovertemplate="%{customdata}<extra></extra>", **row) for name, row in zip(names, rows,
                                                                                                     strict=True)])
    n_tokens = len(states[-1].pieces)
    title = title or (f"BPE: {len(data)} bytes → {n_tokens} tokens in {n_steps} merge steps"
                      "<br><span style='font-size:14px'>orange, outlined: the pieces each step's merge made</span>")
    fig.update_layout(**base_layout(title, "byte position in the text", "", showlegend=False, barmode="overlay",
                                    bargap=0.2, height=44 * len(rows) + 200, width=max(700, min(1400, 34 * len(data)
                                                                                                 + 320)),
                                    margin=dict(l=200, r=30, t=100, b=60)))
    fig.update_layout(uniformtext=dict(minsize=10, mode="hide"))
    fig.update_xaxes(range=[0, len(data)], showgrid=False, zeroline=False)
    fig.update_yaxes(tickmode="array", tickvals=list(range(len(rows))), ticktext=names, autorange="reversed",
                     showgrid=False, zeroline=False)
    final = token_labels(states[-1].pieces, byte_level=True)
    ids = [token_ids[p] for p in states[-1].pieces]
    first = f"; the first is {step_label(states[1])}" if n_steps else ""
    return with_alt(fig, f"{len(data)} bytes become {n_tokens} tokens in {n_steps} merge steps{first}; the tokens are "
                         + ", ".join(f"{quoted(label)} ({i})" for label, i in zip(final, ids, strict=True)))
