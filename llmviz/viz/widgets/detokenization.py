"""The streaming-detokenization explorer of notebook 11: a step slider feeds a text's tokens one at a time into
`llmviz.tokenization.detokenize.Utf8Stream` and shows, per token, its bytes, what a naive one-token decode prints,
what the stream emits, and which bytes it holds back.

The text is tokenized once per Tokenize press (no model forward is needed: detokenization is the tokenizer's
inverse); the slider only indexes the precomputed steps and updates the one FigureWidget inside
`fig.batch_update()`. The decoding itself is the library's (detokenize.py, bytelevel.py); this module only wires
controls to it and draws. Errors inside a callback appear in the widget's own output area.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import plotly.graph_objects as go

from llmviz.tokenization.bytelevel import readable
from llmviz.tokenization.detokenize import Utf8Stream, token_text_bytes
from llmviz.viz.style import MASKED, OKABE_ITO, base_layout, categorical_colorscale, plot_text, token_axis, token_labels
from llmviz.viz.widgets.common import run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget

ROWS = ["bytes (hex)", "decoded alone", "stream emits", "held back"]
# Cell codes -> colours: not received yet, received, broken (U+FFFD), held back, emitted, nothing.
CODES = dict(future=0, received=1, broken=2, held=3, emitted=4, empty=5)
COLOURS = [MASKED, "#CFE3F3", OKABE_ITO[3], OKABE_ITO[1], "#9FD9C4", "#FFFFFF"]


@dataclass
class StreamStep:
    """What happened when token `position` arrived: its bytes, the naive decode, the stream's output and held bytes."""
    position: int
    token_id: int
    data: bytes          # the token's text bytes (b"" for a special token such as <|endoftext|>)
    naive: str           # tokenizer.decode([token_id]) alone: U+FFFD where the token is part of a character
    emitted: str         # the complete characters Utf8Stream.feed returned for this token
    held: bytes          # Utf8Stream.pending after this token


def stream_steps(lm, ids) -> list[StreamStep]:
    """Feed ids [n] one token at a time through a Utf8Stream; one StreamStep per token."""
    stream, steps = Utf8Stream(), []
    special = set(lm.tokenizer.all_special_ids)
    for position, token_id in enumerate(int(i) for i in ids):
        data = token_text_bytes(lm, token_id, special)
        naive = lm.tokenizer.decode([token_id], clean_up_tokenization_spaces=False)
        steps.append(StreamStep(position, token_id, data, naive, stream.feed(data), stream.pending))
    return steps


def _hex(data: bytes) -> str:
    pairs = [f"{b:02X}" for b in data]
    return "<br>".join(" ".join(pairs[i:i + 2]) for i in range(0, len(pairs), 2)) or "—"


class StreamExplorer(widgets.VBox):
    """Step through a text's tokens as a streaming display would receive them.

    Columns: tokens; rows: ROWS. A column right of the slider's step is not received yet (light grey). Orange cells
    are bytes the stream holds back; vermillion cells are where a naive per-token decode prints �.
    Attributes: `text` (Text), `run` (Button), `step` (IntSlider: how many tokens received), `figure` (FigureWidget;
    trace 0 the heatmap, z [4, n] cell codes, text [4, n]), `output` (Output), `steps` (list of StreamStep),
    `ids`, `tokenize_runs`.
    """

    def __init__(self, lm, text: str, max_tokens: int = 24):
        if not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError(f"`max_tokens` must be a positive int; got {max_tokens!r}.")
        self.lm, self.max_tokens, self.tokenize_runs = lm, max_tokens, 0
        self.text = widgets.Text(value=text, description="Text:", layout=widgets.Layout(width="520px"))
        self.run = widgets.Button(description="Tokenize", button_style="primary")
        self.output = widgets.Output()
        self._tokenize(text)
        self.step = widgets.IntSlider(value=min(1, len(self.steps)), min=0, max=len(self.steps),
                                      description="tokens received", style={"description_width": "initial"},
                                      layout=widgets.Layout(width="520px"))
        z, cells = self._cells()
        self.figure = FigureWidget(go.Heatmap(
            x=list(range(len(self.steps))), y=ROWS, z=z, text=cells, texttemplate="%{text}", textfont=dict(size=12),
            xgap=2, ygap=2,
            colorscale=categorical_colorscale(COLOURS), zmin=-0.5, zmax=len(COLOURS) - 0.5, showscale=False,
            hovertemplate="token %{x}, %{y}: %{text}<extra></extra>"))
        self.figure.update_layout(**base_layout(self._title(), "token (as it arrives, left to right)", "",
                                                height=420, margin=dict(l=130, r=20, t=90, b=70)))
        self._relabel()
        self.step.observe(lambda _: run_safely(self.output, self._update), names="value")
        self.run.on_click(lambda _: run_safely(self.output, self._new_text))
        super().__init__([widgets.HBox([self.text, self.run]), self.step, self.figure, self.output])

    def _tokenize(self, text: str) -> None:
        if not isinstance(text, str) or not text:
            raise ValueError("`text` is empty; type some text, e.g. 'cat 🐱 猫'.")
        ids = self.lm.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) > self.max_tokens:
            raise ValueError(f"The text is {len(ids)} tokens; the explorer shows at most {self.max_tokens}. "
                             f"Shorten it.")
        self.tokenize_runs += 1
        self.ids, self.steps = list(ids), stream_steps(self.lm, ids)

    @property
    def received(self) -> bytes:
        """All bytes of the tokens received so far."""
        return b"".join(s.data for s in self.steps[:self.step.value])

    @property
    def emitted(self) -> str:
        """The text the stream has shown so far."""
        return "".join(s.emitted for s in self.steps[:self.step.value])

    @property
    def held(self) -> bytes:
        return self.steps[self.step.value - 1].held if self.step.value else b""

    def _cells(self):
        """z [4, n] colour codes and text [4, n] cell labels for the current step."""
        z, text = [[] for _ in ROWS], [[] for _ in ROWS]
        for s in self.steps:
            arrived = s.position < self.step.value
            labels = [_hex(s.data), plot_text(readable(s.naive)) or "—",
                      plot_text(readable(s.emitted)) or "—", _hex(s.held) if s.held else "—"]
            codes = [CODES["received"], CODES["broken"] if "\ufffd" in s.naive else CODES["received"],
                     CODES["emitted"] if s.emitted else CODES["empty"], CODES["held"] if s.held else CODES["empty"]]
            for row in range(len(ROWS)):
                z[row].append(codes[row] if arrived else CODES["future"])
                text[row].append(labels[row] if arrived else "")
        return z, text

    def _title(self) -> str:
        shown = plot_text(readable(self.emitted)) or "(nothing yet)"
        return (f"{self.step.value} of {len(self.steps)} tokens · bytes received: {len(self.received)} · "
                f"characters shown: {len(self.emitted)} · bytes held back: {len(self.held)}"
                f"<br><span style='font-size:15px'>on screen: {shown}</span>")

    def _relabel(self) -> None:
        self.figure.update_xaxes(**token_axis(token_labels([self.lm.token_bytes(i) for i in self.ids])))
        self.figure.update_yaxes(autorange="reversed")

    def _update(self) -> None:
        z, text = self._cells()
        with self.figure.batch_update():
            self.figure.data[0].z, self.figure.data[0].text = z, text
            self.figure.layout.title.text = self._title()

    def _new_text(self) -> None:
        self._tokenize(self.text.value)
        with self.figure.batch_update():
            self.step.max = len(self.steps)
            self.step.value = min(self.step.value, len(self.steps))
            z, text = self._cells()
            self.figure.data[0].x = list(range(len(self.steps)))
            self.figure.data[0].z, self.figure.data[0].text = z, text
            self.figure.layout.title.text = self._title()
            self._relabel()


def stream_explorer(lm, text: str, max_tokens: int = 24) -> StreamExplorer:
    """A StreamExplorer for `text` (see the class)."""
    return StreamExplorer(lm, text, max_tokens=max_tokens)
