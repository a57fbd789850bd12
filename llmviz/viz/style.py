"""One look for every llmviz figure: colour-blind-safe scales, a categorical palette, projector-sized fonts and
readable token labels.

Every builder in `llmviz.viz` takes its colours, fonts and layout from here, so the twelve notebooks look like one
product and a change of scheme is one edit. Token labels go through `readable_token`, so byte-level pieces read
as "␣cat" (never "Ġcat"), and through `plot_text`, so a token such as "<b>" is shown literally instead of being
parsed as plotly's pseudo-HTML. This module draws nothing and knows nothing about models.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence

from llmviz.tokenization.bytelevel import readable, readable_bytes, token_bytes, unicode_to_bytes

# ---- colour scales ------------------------------------------------------------------------------------------
# Viridis: perceptually uniform and readable with every common colour-vision deficiency and in greyscale.
# For values >= 0: attention weights, probabilities, norms.
SEQUENTIAL = "Viridis"
# Blue for negative, white at zero, red for positive (ColorBrewer RdBu, reversed so that red means "more").
# Red-blue stays distinct for deuteranopes and protanopes, unlike red-green. For signed values: activations,
# logits, embeddings, cosine similarity. Builders always set zmid=0 so white means exactly zero.
DIVERGING = [
    [0.0, "#053061"], [0.1, "#2166ac"], [0.2, "#4393c3"], [0.3, "#92c5de"], [0.4, "#d1e5f0"],
    [0.5, "#f7f7f7"],
    [0.6, "#fddbc7"], [0.7, "#f4a582"], [0.8, "#d6604d"], [0.9, "#b2182b"], [1.0, "#67001f"],
]

# Okabe & Ito (2008), the standard colour-blind-safe categorical palette (black moved last).
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE, YELLOW, BLACK = OKABE_ITO

GREY = "#BBBBBB"        # dropped, pruned, filtered out: present but not chosen
MASKED = "#E4E4E4"      # causally masked cells: lighter than Viridis' darkest purple, so never read as 0
MASKED_SIGNED = "#9A9A9A"  # the same on the diverging scale, darker so it is never read as its white 0
TEXT = "#222222"

# What a status looks like wherever it appears (beam trees, speculative decoding, sampling filters).
STATUS_COLORS = {
    "kept": BLUE, "finished": GREEN, "pruned": GREY,
    "accepted": GREEN, "rejected": VERMILLION, "replacement": BLUE, "bonus": SKY, "discarded": GREY,
    "chosen": ORANGE, "dropped": GREY,
}

# ---- fonts and sizes (read from the back of a classroom) ----------------------------------------------------
FONT_FAMILY = "Arial, Helvetica, sans-serif"
FONT_SIZE = 16
TITLE_SIZE = 20
TICK_SIZE = 14
ANNOTATION_SIZE = 13
HOVER_SIZE = 15
CELL = 34  # pixels per heatmap cell when a builder sizes itself
# Hover number format: six significant digits, trailing zeros trimmed (d3-format), e.g. 0.204307, 1.2, 3e-05.
EXACT = ".6~g"


def base_layout(title: str, xaxis_title: str, yaxis_title: str, height: int | None = None,
                width: int | None = None, **extra) -> dict:
    """Layout keywords shared by all figures: `fig.update_layout(**base_layout("Attention", "key", "query"))`.

    Extra keywords are passed through (and override the defaults), e.g. `showlegend=False`.
    """
    layout = dict(
        title=dict(text=title, font=dict(size=TITLE_SIZE), x=0.01, xanchor="left"),
        template="plotly_white",
        font=dict(family=FONT_FAMILY, size=FONT_SIZE, color=TEXT),
        hoverlabel=dict(font=dict(family=FONT_FAMILY, size=HOVER_SIZE)),
        xaxis=dict(title=dict(text=xaxis_title), tickfont=dict(size=TICK_SIZE)),
        yaxis=dict(title=dict(text=yaxis_title), tickfont=dict(size=TICK_SIZE)),
        margin=dict(l=80, r=30, t=70, b=70),
        legend=dict(font=dict(size=TICK_SIZE)),
    )
    if height is not None:
        layout["height"] = height
    if width is not None:
        layout["width"] = width
    layout.update(extra)
    return layout


def fitted_size(n: int, minimum: int = 300, maximum: int = 900, extra: int = 160) -> int:
    """A figure side in pixels for `n` cells: CELL pixels each plus room for titles, clamped to a sensible range."""
    return int(min(maximum, max(minimum, n * CELL + extra)))


# ---- tokens -------------------------------------------------------------------------------------------------
# The 68 bytes GPT-2 moves to U+0100 and up (Ġ is the space, Ċ the newline). A token containing one of them and
# made only of alphabet characters is a raw byte-level token; anything else is already text.
_SHIFTED = {char for char in unicode_to_bytes() if ord(char) >= 0x100}


def readable_token(token: str | bytes, byte_level: bool | None = None) -> str:
    """Show one token so every character is visible: b' cat', 'Ġcat', '▁cat' and ' cat' all read '␣cat'.

    `byte_level=None` detects GPT-2 byte-level strings (those containing Ġ, Ċ, ... and nothing outside the byte
    alphabet); pass True or False to decide explicitly. A partial UTF-8 character shows as its hex bytes, <E2>.
    """
    if isinstance(token, (bytes, bytearray)):
        return readable_bytes(bytes(token))
    if not isinstance(token, str):
        raise TypeError(f"A token must be a str or bytes, not {type(token).__name__}.")
    table = unicode_to_bytes()
    if byte_level is None:
        byte_level = any(char in _SHIFTED for char in token) and all(char in table for char in token)
    if byte_level:
        return readable_bytes(token_bytes(token))
    return readable(token.replace("▁", " "))  # SentencePiece's word-start marker is a space too


def readable_tokens(tokens: Sequence[str | bytes], byte_level: bool | None = None) -> list[str]:
    """`readable_token` for each token of a sequence.

    With byte_level=None the whole sequence counts as byte-level when one token is (it contains Ġ, Ċ, ...) and every
    token is written in the byte alphabet, so a lone 'ð' (the first byte of an emoji) reads <F0>, not 'ð'.
    """
    if isinstance(tokens, (str, bytes)):
        raise TypeError("`tokens` must be a list of token strings, not one string; use lm.to_str_tokens(text).")
    tokens = list(tokens)
    if byte_level is None:
        table = unicode_to_bytes()
        texts = [t for t in tokens if isinstance(t, str)]
        if any(char in _SHIFTED for t in texts for char in t) and all(char in table for t in texts for char in t):
            byte_level = True
    return [readable_token(token, byte_level) for token in tokens]


def unique_labels(labels: Sequence[str]) -> list[str]:
    """Make repeated labels distinct by their position, 'the' -> 'the·3', since plotly merges equal categories.

    Labels that occur once are left alone. Builders in llmviz.viz avoid the problem altogether by plotting integer
    positions with token tick text; use this when a categorical axis is wanted.
    """
    counts = Counter(labels)
    return [f"{label}·{i}" if counts[label] > 1 else label for i, label in enumerate(labels)]


def plot_text(text: str) -> str:
    """Escape <, > and & so plotly shows a token such as '<b>' or '&lt;' literally instead of as markup."""
    return html.escape(text, quote=False)


def token_labels(tokens: Sequence[str | bytes], byte_level: bool | None = None) -> list[str]:
    """Readable and escaped labels, ready for tick text, cell text and hover data."""
    return [plot_text(label) for label in readable_tokens(tokens, byte_level)]


def token_axis(labels: Sequence[str], max_ticks: int = 64) -> dict:
    """Axis settings for integer positions 0..n-1 labelled with tokens (at most `max_ticks` labels shown)."""
    n = len(labels)
    step = max(1, -(-n // max_ticks))  # ceil(n / max_ticks): thin the labels on long prompts
    positions = list(range(0, n, step))
    return dict(tickmode="array", tickvals=positions, ticktext=[labels[i] for i in positions],
                tickfont=dict(size=TICK_SIZE), ticklabelstandoff=4)


def categorical_colorscale(colors: Sequence[str]) -> list[list]:
    """A stepped colour scale: with zmin=-0.5 and zmax=len(colors)-0.5, integer code i gets exactly colors[i]."""
    n = len(colors)
    scale = []
    for i, color in enumerate(colors):
        scale += [[i / n, color], [(i + 1) / n, color]]
    return scale
