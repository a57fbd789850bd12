"""The widgets of notebook 01: a BPE trainer that learns merges from the learner's own paragraph, and the merge
explorer, a step slider that replays a byte-level BPE tokenizer's merges on a text, one merge rule at a time.

The explorer tokenizes once per Tokenize press (`llmviz.tokenization.bpe.replay`, the tokenizer's own merges in our
loop) and precomputes every step; the slider only indexes those states and updates the one FigureWidget inside
`fig.batch_update()`. Step k applies the k-th distinct merge rule the text uses, in the order the tokenizer learned
them, at every place it occurs: within a chunk BPE applies rules in increasing rank, so this global order gives
exactly each chunk's own sequence. The trainer calls `llmviz.tokenization.bpe_train.train_bpe`. This module computes
nothing else (no tokenizing, no training of its own); errors inside a callback appear in the widget's output area.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import plotly.graph_objects as go

from llmviz.tokenization.bpe import MergeStep, replay
from llmviz.tokenization.bpe_train import train_bpe
from llmviz.tokenization.bytelevel import readable_bytes, token_bytes
from llmviz.tokenization.tokenizers import load_tokenizer
from llmviz.viz.style import GREY, ORANGE, base_layout, plot_text, token_labels
from llmviz.viz.tokens import TOKEN_TINTS
from llmviz.viz.widgets.common import run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget

BYTE_LEVEL_BPE = ("tiny", "gpt2", "smollm2")  # the tokenizers whose merges `replay` can show
ROWS = ["bytes", "after step k", "final tokens"]


@dataclass
class MergeState:
    """The whole text after global merge step `step` (0: bytes, nothing merged)."""
    step: int
    merge: MergeStep | None  # the rule applied at this step (pair, rank, merged), None at step 0
    occurrences: int  # how many places in the whole text the rule merged
    pieces: list[str]  # raw vocabulary strings, e.g. 'Ġt'
    spans: list[tuple[int, int]]  # each piece's byte offsets [start, end) in the text's bytes
    new: list[bool]  # True for the pieces this step's merge created


def merge_timeline(rep) -> list[MergeState]:
    """Every state of a `BPEReplay` under the global order of its merge rules: len = distinct ranks used + 1."""
    ranks = sorted({s.rank for c in rep.chunks for s in c.steps})
    states = []
    for k in range(len(ranks) + 1):
        limit = ranks[k - 1] if k else -1
        pieces, new, widths, merge, count = [], [], [], None, 0
        for chunk in rep.chunks:
            if chunk.special or chunk.whole_word:  # matched whole: one piece from the start
                pieces.append(chunk.tokens[0])
                new.append(False)
                widths.append(len(chunk.text.encode("utf-8")))
                continue
            done = [s for s in chunk.steps if s.rank <= limit]
            current = done[-1].pieces if done else [c for c in chunk.byte_chars if c not in chunk.dropped]
            hit = bool(done) and done[-1].rank == limit
            if hit:
                merge, count = done[-1], count + done[-1].occurrences
            pieces += current
            new += [hit and p == done[-1].merged for p in current]
            widths += [len(token_bytes(p)) for p in current]
        ends = [sum(widths[:i + 1]) for i in range(len(widths))]
        spans = [(end - w, end) for w, end in zip(widths, ends, strict=True)]
        states.append(MergeState(k, merge, count, pieces, spans, new))
    return states


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
        self.replays += 1

    def _bars(self, state: MergeState, final: bool = False) -> dict:
        labels = token_labels(state.pieces, byte_level=True)
        ids = [self._tok.convert_tokens_to_ids(p) for p in state.pieces]
        colors = [ORANGE if n and not final else TOKEN_TINTS[i % 2] for i, n in enumerate(state.new)]
        return dict(y=[2 if final else 1] * len(labels), base=[s for s, _ in state.spans],
                    x=[e - s for s, e in state.spans], marker=dict(color=colors, line=dict(color="white", width=2)),
                    text=[f"<b>{lab}</b><br>{i}" if final else f"<b>{lab}</b>" for lab, i in zip(labels, ids,
                                                                                             strict=True)],
                    customdata=[f"{lab} · id {i} · bytes {s}–{e - 1}" for lab, i, (s, e)
                                in zip(labels, ids, state.spans, strict=True)])

    def _title(self) -> str:
        s, last = self.state, len(self.states) - 1
        if s.merge is None:
            head = f"Step 0 of {last}: {len(s.pieces)} bytes, one piece each; no merge yet"
        else:
            a, b = token_labels(list(s.merge.pair), byte_level=True)
            (merged,) = token_labels([s.merge.merged], byte_level=True)
            head = (f"Step {s.step} of {last}: merge {a} + {b} → {merged} (rank {s.merge.rank}), "
                    f"{s.occurrences}× · {len(s.pieces)} pieces")
        tail = " = the tokenizer's own tokens" if s.step == last else ""
        return f"{head}{tail}<br><span style='font-size:14px'>{self.tokenizer.value} tokenizer, " \
               f"lower ranks were learned earlier and are applied first</span>"

    def _redraw(self) -> None:
        """Every trace, the axis and the title, for a new text."""
        first, n = self.states[0], self.states[0].spans[-1][1] if self.states[0].spans else 0
        data = b"".join(token_bytes(p) for p in first.pieces)
        with self.figure.batch_update():
            self.figure.data[0].update(y=[0] * len(data), base=list(range(len(data))), x=[1] * len(data),
                                       marker=dict(color=GREY, line=dict(color="white", width=2)),
                                       text=[plot_text(readable_bytes(bytes([b]))) for b in data],
                                       customdata=[f"byte {i}: 0x{b:02X}" for i, b in enumerate(data)])
            self.figure.data[2].update(**self._bars(self.states[-1], final=True))
            self.figure.update_xaxes(range=[0, max(n, 1)])
            self.figure.layout.width = max(700, min(960, 30 * n + 200))  # a notebook cell is ~960 px wide
            self._update()

    def _update(self) -> None:
        with self.figure.batch_update():
            self.figure.data[1].update(**self._bars(self.state))
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
