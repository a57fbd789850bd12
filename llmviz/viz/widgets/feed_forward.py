"""The widgets of notebook 05 (feed-forward): guess how many MLP neurons fire, then explore which neurons fire on
which tokens.

`firing_checkpoint` is a `PredictReveal` asking what fraction of one layer's MLP neurons are positive (firing) for
one token, answered from a capture. `NeuronExplorer` wires a prompt box and three sliders (layer, token, neuron) to
one FigureWidget of two bar panels: the chosen neuron's activation on every token, and the top-firing neurons of the
chosen token. The activations (`mlp.hook_post` of every layer) are captured once; the sliders only index them, and
only a new prompt re-runs the model (counted in `model_runs`). Errors inside a callback appear in the widget's own
`output` area. Nothing here computes the MLP: the capture does; this module only selects and draws.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from llmviz.names import every_layer
from llmviz.viz.style import BLUE, EXACT, ORANGE, base_layout, readable_token, token_axis, token_labels
from llmviz.viz.widgets.common import PredictReveal, prompt_ids, run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget

MAX_TOKENS = 64  # one bar per token in the left panel: longer prompts stop being readable
TOP = 10  # neurons in the right panel


def capture_neurons(lm, text_or_ids) -> tuple[list[str], np.ndarray]:
    """(tokens [pos], neuron activations [layer, pos, d_mlp]) from one forward that keeps only `mlp.hook_post`.

    Raises ValueError for an empty prompt (from lm.to_tokens) or one longer than MAX_TOKENS tokens."""
    ids = prompt_ids(lm, text_or_ids, MAX_TOKENS)  # [1, pos]
    _, cache = lm.run_with_cache(ids, names=every_layer("blocks.{L}.mlp.hook_post", lm.n_layers))
    acts = cache.stack("post")[:, 0]  # [layer, pos, d_mlp]
    return lm.to_str_tokens(ids), acts.float().numpy()


def top_neurons(row, k: int = TOP) -> list[int]:
    """Indices of the k largest activations of row [d_mlp], largest first."""
    row = np.asarray(row)
    return [int(i) for i in np.argsort(-row, kind="stable")[:k]]


def firing_answer(acts, layer: int, position: int, guess: str = "") -> str:
    """The revealed text for acts [pos, d_mlp] of `layer`: how many neurons are positive for token `position`.

    A guess such as '30%', '0.3' or '30' is compared with the real fraction."""
    row = np.asarray(acts)[position]
    n_on, n = int((row > 0).sum()), row.size
    text = (f"in layer {layer}, {n_on} of {n} neurons ({100 * n_on / n:.1f}%) are positive for this token; "
            f"the strongest is neuron {int(row.argmax())} at {row.max():.3f}.")
    try:
        value = float(guess.strip().rstrip("%"))
    except ValueError:
        return text
    percent = value * 100 if value <= 1 and "%" not in guess else value
    return text + f" You were off by {abs(percent - 100 * n_on / n):.1f} percentage points."


def firing_checkpoint(lm, cache, tokens: list[str], layer: int, position: int = -1) -> PredictReveal:
    """Predict, then reveal: what fraction of `layer`'s d_mlp neurons fire (are > 0) on the token at `position`?
    cache: an ActivationCache holding blocks.{layer}.mlp.hook_post [1, pos, d_mlp]; tokens: its tokens [pos]."""
    if not 0 <= layer < lm.n_layers:
        raise ValueError(f"layer must be in 0..{lm.n_layers - 1}; got {layer}.")
    acts = cache["post", layer][0].float().numpy()  # [pos, d_mlp]
    if len(tokens) != len(acts) or not -len(acts) <= position < len(acts):
        raise ValueError(f"tokens must have one entry per position ({len(acts)}) and position must be in "
                         f"{-len(acts)}..{len(acts) - 1}; got {len(tokens)} tokens and position {position}.")
    token = html.escape(readable_token(tokens[position]))
    question = (f"layer {layer} has {lm.d_mlp} neurons. For the token <code>{token}</code> (position "
                f"{position % len(acts)}), what fraction of them are positive (firing)? Type a percentage, e.g. 50%.")
    return PredictReveal(question, lambda guess: firing_answer(acts, layer, position, guess), placeholder="e.g. 50%")


def neuron_panels(acts: np.ndarray, tokens: list[str], layer: int, position: int, neuron: int) -> dict:
    """What `neuron_figure` draws, as data, so a widget can update its traces without building a figure: the
    neuron's activation on every token [pos], the token's TOP neurons and their activations, colours and titles."""
    n_layers, n_pos, d_mlp = acts.shape
    if not (0 <= layer < n_layers and 0 <= position < n_pos and 0 <= neuron < d_mlp):
        raise ValueError(f"layer must be in 0..{n_layers - 1}, position in 0..{n_pos - 1} and neuron in "
                         f"0..{d_mlp - 1}; got layer={layer}, position={position}, neuron={neuron}.")
    labels = token_labels(tokens)
    best = top_neurons(acts[layer, position])
    return dict(
        labels=labels, column=acts[layer, :, neuron], column_colors=[ORANGE if i == position else BLUE
                                                                      for i in range(n_pos)],
        best=best, best_values=acts[layer, position, best], best_colors=[ORANGE if i == neuron else BLUE for i in best],
        column_hover=f"%{{customdata}}<br>neuron {neuron}: %{{y:{EXACT}}}<extra></extra>",
        titles=(f"Neuron {neuron} on every token", f"Top {len(best)} neurons for {labels[position]}"),
        title=f"Layer {layer}: which MLP neurons fire on which tokens")


def neuron_figure(acts: np.ndarray, tokens: list[str], layer: int, position: int, neuron: int) -> go.Figure:
    """Two bar panels from acts [layer, pos, d_mlp]: [0] neuron `neuron` of `layer` on every token (the chosen
    token orange); [1] the TOP largest activations of the token at `position` (the chosen neuron orange)."""
    d = neuron_panels(acts, tokens, layer, position, neuron)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.58, 0.42], horizontal_spacing=0.1,
                        subplot_titles=list(d["titles"]))
    fig.add_trace(go.Bar(x=list(range(len(d["labels"]))), y=d["column"], customdata=d["labels"], showlegend=False,
                         marker=dict(color=d["column_colors"]), hovertemplate=d["column_hover"]), row=1, col=1)
    fig.add_trace(go.Bar(
        x=list(range(len(d["best"]))), y=d["best_values"], customdata=d["best"], showlegend=False,
        marker=dict(color=d["best_colors"]),
        hovertemplate="neuron %{customdata}<br>activation: %{y:" + EXACT + "}<extra></extra>"), row=1, col=2)
    fig.update_layout(**base_layout(d["title"], "token", "activation (hook_post)", height=480, width=880,
                                    bargap=0.15))
    fig.update_xaxes(**token_axis(d["labels"]), tickangle=-45, row=1, col=1)
    fig.update_xaxes(tickmode="array", tickvals=list(range(len(d["best"]))), ticktext=[str(i) for i in d["best"]],
                     tickangle=-45, title_text="neuron", row=1, col=2)
    fig.update_yaxes(zeroline=True, zerolinecolor="#888888")
    fig.update_annotations(font_size=16)
    return fig


class NeuronExplorer(widgets.VBox):
    """Which neurons fire on which tokens: prompt (Text), layer, position and neuron (IntSliders), figure
    (FigureWidget of `neuron_figure`: trace 0 the neuron on every token, trace 1 the token's top neurons), output
    (errors), acts [layer, pos, d_mlp], tokens, model_runs (forwards run so far)."""

    def __init__(self, lm, prompt: str, layer: int = 0, neuron: int | None = None):
        self.lm, self.model_runs, self._holding = lm, 0, False
        self.tokens, self.acts = self._run(prompt)
        last = len(self.tokens) - 1
        neuron = top_neurons(self.acts[layer, last], 1)[0] if neuron is None else neuron
        self.prompt = widgets.Text(value=prompt, description="Prompt:", continuous_update=False,
                                   layout=widgets.Layout(width="520px"))
        self.layer = widgets.IntSlider(value=layer, min=0, max=lm.n_layers - 1, description="Layer:")
        self.position = widgets.IntSlider(value=last, min=0, max=last, description="Token:")
        self.neuron = widgets.IntSlider(value=neuron, min=0, max=lm.d_mlp - 1, description="Neuron:")
        self.figure = FigureWidget(neuron_figure(self.acts, self.tokens, layer, last, neuron))
        self.output = widgets.Output()
        self.prompt.observe(self._on_prompt, names="value")
        for control in (self.layer, self.position, self.neuron):
            control.observe(self._on_choice, names="value")
        super().__init__([self.prompt, widgets.HBox([self.layer, self.position, self.neuron]), self.output,
                          self.figure])

    def _run(self, text_or_ids):
        result = capture_neurons(self.lm, text_or_ids)
        self.model_runs += 1
        return result

    def _redraw(self) -> None:
        d = neuron_panels(self.acts, self.tokens, self.layer.value, self.position.value, self.neuron.value)
        column, best = self.figure.data
        with self.figure.batch_update():  # only the changed values: rebuilding the subplot figure is far slower
            column.update(x=list(range(len(d["labels"]))), y=d["column"], customdata=d["labels"],
                          marker_color=d["column_colors"], hovertemplate=d["column_hover"])
            best.update(y=d["best_values"], customdata=d["best"], marker_color=d["best_colors"])
            self.figure.layout.title.text = d["title"]
            for annotation, text in zip(self.figure.layout.annotations, d["titles"], strict=True):
                annotation.text = text
            self.figure.layout.xaxis.update(**token_axis(d["labels"]))
            self.figure.layout.xaxis2.update(ticktext=[str(i) for i in d["best"]])

    def _on_choice(self, _change=None) -> None:
        if not self._holding:  # a new prompt moves the token slider itself, then redraws once
            run_safely(self.output, self._redraw)

    def _new_prompt(self, text: str) -> None:
        self.tokens, self.acts = self._run(text)
        self._holding = True
        try:
            last = len(self.tokens) - 1
            self.position.max = max(last, self.position.min)
            self.position.value = last
        finally:
            self._holding = False
        self._redraw()

    def _on_prompt(self, change) -> None:
        run_safely(self.output, lambda: self._new_prompt(change["new"]))
