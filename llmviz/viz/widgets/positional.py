"""The widgets of notebook 03 (positional encoding): the "dog bites man" checkpoint and a position explorer.

`word_order_keys` turns a `llmviz.stages.word_order` result into side-by-side key panels, and `word_order_checkpoint`
asks, with `PredictReveal`, whether attention alone can tell "dog bites man." from "man bites dog.". The explorer
`PositionExplorer` wires a scheme dropdown (sinusoidal, learned, RoPE, ALiBi) and a position slider to one
FigureWidget built once by `line_by_layer`: how alike position p is to every other position (for ALiBi, the bias
that query p adds to each key's score). All tables are computed up front by `llmviz.stages.positional` (counted in
`computations`); the dropdown and the slider only index them, and a new `base` recomputes the two schemes that use
it. Errors appear in the widget's own output area. Nothing here computes an encoding or runs a model.
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from llmviz.stages import positional
from llmviz.viz.depth import line_by_layer
from llmviz.viz.style import BLACK, EXACT, VERMILLION
from llmviz.viz.vectors import vector_panels
from llmviz.viz.widgets.common import PredictReveal, run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget

SIMILARITY = "cosine similarity to position p"
BIAS = "bias added to the score (query p → key)"


def word_order_keys(result, positions: bool):
    """Layer 0's keys [pos, d_model] of the permuted sentence beside the original's, its rows reordered to the
    permuted order: two identical panels mean attention sees the same bag of keys. result: a WordOrderResult."""
    condition = result.with_positions if positions else result.without_positions
    a, b = condition.original, condition.permuted
    state = "with" if positions else "without"
    return vector_panels({f"{b.text.strip()!r}": b.keys, f"{a.text.strip()!r}, rows reordered": a.keys[
        result.token_order]}, b.tokens, title=f"Layer 0 keys {state} positions", xaxis_title="key dimension")


def word_order_checkpoint(result) -> PredictReveal:
    """Predict, then reveal: without positions, is the last position's attention output the same for both
    sentences? The answer quotes the measured differences from `result` (a WordOrderResult)."""
    without, with_ = result.without_positions, result.with_positions

    def answer(guess: str) -> str:
        same = without.last_attention_max_diff < 1e-4
        said = guess.strip().lower()
        verdict = "" if not said else ("Right. " if said.startswith("same") == same else "Not quite. ")
        return (f"{verdict}Without positions the last position's attention output differs by at most "
                f"{without.last_attention_max_diff:.2g} between the sentences (rounding only): the same. With "
                f"the model's learned positions it differs by up to {with_.last_attention_max_diff:.3g}.")

    return PredictReveal(f"Take away the position vectors. Will layer 0's attention output at the last token "
                         f"('.') be the same or different for {result.original.strip()!r} and "
                         f"{result.permuted.strip()!r}? Type same or different.", answer,
                         placeholder="same / different")


def position_tables(lm, n_positions: int, base: float) -> dict[str, tuple[np.ndarray, str]]:
    """{scheme: (table [pos, pos], what its values are)} for the explorer: row p of a table is what the figure
    shows at position p. sinusoidal and RoPE use `base`; RoPE uses lm's head size; learned is lm's own `wpe`
    (GPT-2 models only); ALiBi shows lm.n_heads heads' slopes, the steepest and the gentlest."""
    if not isinstance(base, (int, float)) or not math.isfinite(base) or base <= 1:
        raise ValueError(f"base must be a number greater than 1 (the original Transformer uses 10000); got {base!r}.")
    tables = {"sinusoidal": positional.sinusoidal(n_positions, lm.d_model, float(base)).similarity,
              f"RoPE (one vector, head size {lm.d_head})": positional.rope(n_positions, lm.d_head,
                                                                           float(base)).similarity}
    tables = {name: (sim.numpy(), SIMILARITY) for name, sim in tables.items()}
    if lm.architecture == "gpt2":
        if n_positions > lm.n_ctx:
            raise ValueError(f"n_positions must be at most the model's n_ctx = {lm.n_ctx}; got {n_positions}.")
        learned = positional.learned(lm).similarity[:n_positions, :n_positions]
        tables = {"sinusoidal": tables["sinusoidal"], "learned (this model's wpe)": (learned.numpy(), SIMILARITY),
                  **{k: v for k, v in tables.items() if k != "sinusoidal"}}
    alibi = positional.alibi(lm.n_heads, n_positions)
    for label, head in (("steepest", int(alibi.slopes.argmax())), ("gentlest", int(alibi.slopes.argmin()))):
        bias = alibi.bias[head].double().numpy().copy()  # [query, key]
        bias[~alibi.causal_mask.numpy()] = np.nan  # future keys are masked, not biased
        tables[f"ALiBi, {label} head (slope {alibi.slopes[head]:.4g})"] = (bias, BIAS)
    return tables


def _y_range(table: np.ndarray) -> list[float]:
    low, high = float(np.nanmin(table)), float(np.nanmax(table))
    pad = 0.05 * (high - low or 1.0)
    return [low - pad, high + pad]


def _hover(what: str) -> str:
    return f"position %{{x}}<br>{what}: %{{y:{EXACT}}}<extra></extra>"


class PositionExplorer(widgets.VBox):
    """How alike is position p to every other position, under each scheme? Attributes: scheme (Dropdown),
    position (IntSlider), base (FloatText, for sinusoidal and RoPE), figure (FigureWidget of line_by_layer: trace 0
    the row of the chosen table, trace 1 a marker at p), output (errors), tables ({scheme: ([pos, pos], what)}),
    computations (how many times the tables were computed)."""

    def __init__(self, lm, n_positions: int = 64, position: int = 10, base: float = 10000.0):
        if not isinstance(n_positions, int) or n_positions < 2:
            raise ValueError(f"n_positions must be an int of at least 2; got {n_positions!r}.")
        if not isinstance(position, int) or not 0 <= position < n_positions:
            raise ValueError(f"position must be an int in 0..{n_positions - 1}; got {position!r}.")
        self.lm, self.n_positions, self.computations = lm, n_positions, 0
        self._compute(base)
        names = list(self.tables)
        self.scheme = widgets.Dropdown(options=names, value=names[0], description="Scheme:",
                                       layout=widgets.Layout(width="460px"))
        self.position = widgets.IntSlider(value=position, min=0, max=n_positions - 1, description="Position p:",
                                          style={"description_width": "initial"}, continuous_update=True,
                                          layout=widgets.Layout(width="520px"))
        self.base = widgets.FloatText(value=base, description="base (sinusoidal, RoPE):",
                                      style={"description_width": "initial"}, layout=widgets.Layout(width="300px"))
        self.output = widgets.Output()
        table, what = self.tables[self.scheme.value]
        fig = line_by_layer(table[position], title=self._title(names[0], position), yaxis_title=what,
                            xaxis_title="position")
        fig.update_traces(hovertemplate=_hover(what), selector=0)
        fig.add_trace(go.Scatter(x=[position], y=[table[position, position]], mode="markers", name="position p",
                                 marker=dict(color=VERMILLION, size=16, line=dict(color=BLACK, width=1)),
                                 hovertemplate="position p = %{x}<extra></extra>"))
        fig.update_layout(width=900, height=460, yaxis=dict(range=_y_range(table)), showlegend=False)
        self.figure = FigureWidget(fig)
        self.scheme.observe(self._on_choice, names="value")
        self.position.observe(self._on_choice, names="value")
        self.base.observe(self._on_base, names="value")
        super().__init__([widgets.HBox([self.scheme, self.base]), self.position, self.output, self.figure])

    def _compute(self, base: float) -> None:
        self.tables = position_tables(self.lm, self.n_positions, base)
        self.computations += 1

    @staticmethod
    def _title(scheme: str, p: int) -> str:
        return f"{scheme}: position {p} against every position"

    def _draw(self) -> None:
        table, what = self.tables[self.scheme.value]
        p = self.position.value
        row = [None if math.isnan(v) else float(v) for v in table[p]]  # NaN (masked) as a gap: JSON-safe
        with self.figure.batch_update():
            self.figure.data[0].y = row
            self.figure.data[1].x, self.figure.data[1].y = [p], [float(table[p, p])]
            self.figure.data[0].hovertemplate = _hover(what)
            self.figure.layout.title.text = self._title(self.scheme.value, p)
            self.figure.layout.yaxis.title.text = what
            self.figure.layout.yaxis.range = _y_range(table)

    def _on_choice(self, _change=None) -> None:
        run_safely(self.output, self._draw)

    def _on_base(self, change) -> None:
        def recompute():
            self._compute(change["new"])  # the same schemes (the dropdown stays valid), new numbers
            self._draw()
        run_safely(self.output, recompute)
