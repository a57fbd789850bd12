"""The widgets of notebook 01: a BPE trainer that learns merges from the learner's own paragraph, and the merge
explorer, a step slider that replays a byte-level BPE tokenizer's merges on a text, one merge rule at a time.

The explorer tokenizes once per Tokenize press (`llmviz.tokenization.bpe.replay`, the tokenizer's own merges in our
loop) and precomputes every step (`merge_timeline`); the slider only indexes those states and updates the one
FigureWidget inside `fig.batch_update()`, its rows drawn by `llmviz.viz.merges` as the static merge figure's are.
Step k applies the k-th distinct merge rule the text uses, in the order the tokenizer learned them, at every place it
occurs: within a chunk BPE applies rules in increasing rank, so this global order gives exactly each chunk's own
sequence. The trainer calls `llmviz.tokenization.bpe_train.train_bpe`. This module computes nothing else (no
tokenizing, no training of its own); errors inside a callback appear in the widget's output area.
"""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go

from llmviz.tokenization.bpe import MergeState, merge_timeline, piece_ids, replay
from llmviz.tokenization.bpe_train import train_bpe
from llmviz.tokenization.tokenizers import load_tokenizer
from llmviz.viz.merges import BYTES_ROW, TOKENS_ROW, byte_bars, merge_bars, step_label, text_bytes
from llmviz.viz.style import base_layout, token_labels
from llmviz.viz.tokens import TOKEN_TINTS
from llmviz.viz.widgets.common import run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget

BYTE_LEVEL_BPE = ("tiny", "gpt2", "smollm2")  # the tokenizers whose merges `replay` can show
ROWS = [BYTES_ROW, "after step k", TOKENS_ROW]


class MergeExplorer(widgets.VBox):
    """Replay a byte-level BPE tokenizer's merges on a text with a step slider.

    Rows of the figure: the text's bytes (one piece each), the pieces after step k (orange: made by step k's merge),
    and the tokenizer's final tokens with their ids. Attributes: `text` (Text), `tokenizer` (Dropdown: tiny, gpt2,
    smollm2), `run` (Button), `step` (IntSlider), `figure` (FigureWidget; traces [0] bytes, [1] pieces after step k,
    [2] final tokens, horizontal bars over byte positions), `output` (Output), `states` (list of MergeState),
    `replay` (the BPEReplay), `replays` (how many times a text was tokenized).
    """

    def __init__(self, text: str, tokenizer: str = "tiny", max_bytes: int = 40, step: int = 0):
        if not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"`max_bytes` must be a positive int; got {max_bytes!r}.")
        if tokenizer not in BYTE_LEVEL_BPE:
            raise ValueError(f"`tokenizer` must be one of {', '.join(BYTE_LEVEL_BPE)}; got {tokenizer!r}.")
        self.max_bytes, self.replays = max_bytes, 0
        self.text = widgets.Text(value=text, description="Text:", layout=widgets.Layout(width="460px"))
        self.tokenizer = widgets.Dropdown(options=list(BYTE_LEVEL_BPE), value=tokenizer, description="Tokenizer:")
        self.run = widgets.Button(description="Tokenize", button_style="primary")
        self.output = widgets.Output()
        self._tokenize()
        self.step = widgets.IntSlider(value=min(step, len(self.states) - 1), min=0, max=len(self.states) - 1,
                                      description="merge step", style={"description_width": "initial"},
                                      layout=widgets.Layout(width="600px"))
        self.figure = FigureWidget([go.Bar(orientation="h", name=name, textposition="inside",
                                              insidetextanchor="middle", textangle=0, cliponaxis=False,
                                              hovertemplate="%{customdata}<extra></extra>") for name in ROWS])
        self.figure.update_layout(**base_layout("", "byte position in the text", "", height=340, showlegend=False,
                                                barmode="overlay", bargap=0.2, margin=dict(l=120, r=30, t=100, b=60)))
        self.figure.update_layout(uniformtext=dict(minsize=10, mode="hide"))
        self.figure.update_yaxes(tickmode="array", tickvals=[0, 1, 2], ticktext=ROWS, autorange="reversed")
        self._redraw()
        self.step.observe(lambda _: run_safely(self.output, self._update), names="value")
        self.run.on_click(lambda _: run_safely(self.output, self._new_text))
        super().__init__([widgets.HBox([self.text, self.tokenizer, self.run]), self.step, self.figure, self.output])

    @property
    def state(self) -> MergeState:
        return self.states[self.step.value]

    def _tokenize(self) -> None:
        text = self.text.value
        if not text:
            raise ValueError("The text is empty; type a word or a sentence, e.g. ' unbelievable'.")
        if len(text.encode("utf-8")) > self.max_bytes:
            raise ValueError(f"The text is {len(text.encode('utf-8'))} bytes; the explorer shows at most "
                             f"{self.max_bytes}. Shorten it.")
        self._tok = load_tokenizer(self.tokenizer.value)
        self.replay = replay(self._tok, text)
        self.states = merge_timeline(self.replay)
        self._ids = piece_ids(self._tok, self.states)
        self.replays += 1

    def _title(self) -> str:
        s, last = self.state, len(self.states) - 1
        head = f"Step 0 of {last}: {len(s.pieces)} bytes, one piece each; no merge yet" if s.merge is None else \
            f"Step {s.step} of {last}: {step_label(s)} · {len(s.pieces)} pieces"
        tail = " = the tokenizer's own tokens" if s.step == last else ""
        return f"{head}{tail}<br><span style='font-size:14px'>{self.tokenizer.value} tokenizer, " \
               f"lower ranks were learned earlier and are applied first</span>"

    def _redraw(self) -> None:
        """Every trace, the axis and the title, for a new text."""
        n = self.states[0].spans[-1][1] if self.states[0].spans else 0
        with self.figure.batch_update():
            self.figure.data[0].update(**byte_bars(text_bytes(self.states), 0))
            self.figure.data[2].update(**merge_bars(self.states[-1], self._ids, 2, final=True))
            self.figure.update_xaxes(range=[0, max(n, 1)])
            self.figure.layout.width = max(700, min(960, 30 * n + 200))  # a notebook cell is ~960 px wide
            self._update()

    def _update(self) -> None:
        with self.figure.batch_update():
            self.figure.data[1].update(**merge_bars(self.state, self._ids, 1))
            self.figure.layout.title.text = self._title()
            self.figure.layout.yaxis.ticktext = [ROWS[0], f"after step {self.step.value}", ROWS[2]]

    def _new_text(self) -> None:
        self._tokenize()
        self.step.max = len(self.states) - 1  # clamps the value, whose observer redraws from the new states
        self._redraw()


def merge_explorer(text: str, tokenizer: str = "tiny", max_bytes: int = 40, step: int = 0) -> MergeExplorer:
    """A MergeExplorer for `text` (see the class)."""
    return MergeExplorer(text, tokenizer=tokenizer, max_bytes=max_bytes, step=step)


class BPETrainer(widgets.VBox):
    """Train a byte-level BPE on a paragraph: count adjacent pairs, merge the most frequent, repeat.

    The figure has one bar per merge learned, in order: its height is how often the pair occurred when it was
    merged, its label the new token. Attributes: `text` (Textarea), `merges` (BoundedIntText: how many new tokens to
    learn), `train` (Button), `figure` (FigureWidget; trace [0] the bars), `summary` (HTML: the paragraph's words
    after training), `output` (Output), `training` (the BPETraining), `trainings` (how many times it trained).
    """

    def __init__(self, paragraph: str, merges: int = 20):
        self.trainings, self.training = 0, None
        self.text = widgets.Textarea(value=paragraph, description="Paragraph:",
                                     layout=widgets.Layout(width="700px", height="80px"))
        self.merges = widgets.BoundedIntText(value=merges, min=1, max=200, description="new tokens:")
        self.train = widgets.Button(description="Train BPE", button_style="primary")
        self.summary = widgets.HTML()
        self.output = widgets.Output()
        self.figure = FigureWidget(go.Bar(marker=dict(color=TOKEN_TINTS[0]), textposition="outside",
                                             cliponaxis=False, hovertemplate="%{customdata}<extra></extra>"))
        self.figure.update_layout(**base_layout("", "merge (in the order learned)", "pair count when merged",
                                                height=380, width=900, margin=dict(l=80, r=30, t=80, b=60)))
        run_safely(self.output, self._train)
        self.train.on_click(lambda _: run_safely(self.output, self._train))
        super().__init__([self.text, widgets.HBox([self.merges, self.train]), self.figure, self.summary,
                          self.output])

    def _train(self) -> None:
        training = train_bpe(self.text.value, vocab_size=256 + int(self.merges.value), pre_tokenizer="byte_level")
        if not training.steps:
            raise ValueError("Nothing to merge: no word of the paragraph has two characters side by side. "
                             "Type a longer paragraph.")
        self.training, self.trainings = training, self.trainings + 1
        steps = training.steps
        labels = token_labels([s.new_token for s in steps], byte_level=True)
        hover = []
        for s, label in zip(steps, labels, strict=True):
            a, b = token_labels(list(s.pair), byte_level=True)
            rivals = ", ".join(f"{'+'.join(token_labels(list(p), byte_level=True))} ({c})"
                               for p, c in s.candidates[1:4])
            hover.append(f"{a} + {b} → {label} (id {s.new_id}), {s.count}×<br>runners-up: {rivals or 'none'}")
        with self.figure.batch_update():
            self.figure.data[0].update(x=list(range(1, len(steps) + 1)), y=[s.count for s in steps], text=labels,
                                       customdata=hover)
            short = "" if len(steps) >= self.merges.value else "; then no pair was left: every word is one token"
            self.figure.layout.title.text = (f"{len(steps)} merges learned from {sum(training.word_counts)} words "
                                             f"({len(training.words)} distinct){short}"
                                             "<br><span style='font-size:14px'>hover a bar for the pairs that "
                                             "came close</span>")
        pieces = {w: p for w, p in zip(training.words, steps[-1].segmentation, strict=True)}
        words = training.words[:24]
        self.summary.value = "<b>Your words after the last merge:</b> " + " &nbsp; ".join(
            "<code>" + "|".join(token_labels(pieces[w], byte_level=True)) + "</code>" for w in words)


def bpe_trainer(paragraph: str, merges: int = 20) -> BPETrainer:
    """A BPETrainer for `paragraph` (see the class)."""
    return BPETrainer(paragraph, merges=merges)
