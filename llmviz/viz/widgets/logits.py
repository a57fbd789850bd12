"""The widget of the output stage (notebook 07): a temperature explorer that reshapes the next-token distribution
live.

Each widget builds one plotly FigureWidget once from a `llmviz.viz` builder, keeps the logits it needs, and its
callbacks only index and rescale them inside `fig.batch_update()`; only a new prompt re-runs the model (counted in
`model_runs`). Errors inside a callback are shown in the widget's own output area. This module does not compute
anything the library already records (sampling.py does the filtering), and it never draws outside a widget.
"""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go
import torch

from llmviz.decoding.forward import next_token_logits
from llmviz.viz.decoding import probability_bars
from llmviz.viz.style import BLACK, token_axis, token_labels
from llmviz.viz.widgets.common import run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget


class TemperatureExplorer(widgets.VBox):
    """The next-token distribution of a prompt under a temperature slider: probs = softmax(logits / T).

    The model runs once per prompt; the slider only rescales the stored logits [vocab]. The bars show the `n` most
    likely tokens (temperature never changes their order); black markers show the model's own distribution (T = 1).
    Attributes: `prompt` (Text), `run` (Button), `temperature` (FloatSlider), `figure` (FigureWidget; trace 0 the
    bars at T, trace 1 the T = 1 markers), `output` (Output), `logits` [vocab], `top_ids` [n], `model_runs`.
    """

    def __init__(self, lm, prompt: str, n: int = 15, temperature: float = 1.0):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"`n` must be a positive int (how many tokens to show); got {n!r}.")
        self.lm, self.n, self.model_runs = lm, n, 0
        self.prompt = widgets.Text(value=prompt, description="Prompt:", layout=widgets.Layout(width="520px"))
        self.run = widgets.Button(description="Run the model", button_style="primary")
        self.temperature = widgets.FloatSlider(value=temperature, min=0.05, max=3.0, step=0.05,
                                               description="temperature", style={"description_width": "initial"},
                                               continuous_update=True, readout_format=".2f")
        self.output = widgets.Output()
        self._forward(prompt)  # fills logits, top_ids, labels
        probs = self.probs_at(self.temperature.value)
        self.figure = FigureWidget(probability_bars(self.labels, probs[self.top_ids], title=self._title(probs)))
        self.figure.add_trace(go.Scatter(
            x=list(range(len(self.top_ids))), y=self.probs_at(1.0)[self.top_ids].numpy(), mode="markers",
            name="T = 1 (the model's own)",
            marker=dict(color=BLACK, symbol="line-ew-open", size=22, line=dict(width=3)),
            hovertemplate="T = 1: %{y:.6~g}<extra></extra>"))
        self.figure.data[0].update(name="at temperature T", customdata=self.labels,
                                   hovertemplate="%{customdata}<br>probability at T: %{y:.6~g}<extra></extra>")
        self.figure.update_layout(showlegend=True, width=900, yaxis=dict(range=[0, 1]),
                                  legend=dict(orientation="h", x=1, xanchor="right", y=1.0, yanchor="bottom"))
        self.temperature.observe(lambda _: self._safely(self._update), names="value")
        self.run.on_click(lambda _: self._safely(self._new_prompt))
        super().__init__([widgets.HBox([self.prompt, self.run]), self.temperature, self.figure, self.output])

    def probs_at(self, temperature: float) -> torch.Tensor:
        """[vocab] softmax(logits / temperature) over the whole vocabulary."""
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0 here (0 is greedy: all mass on the top token); got "
                             f"{temperature!r}.")
        return (self.logits / temperature).softmax(-1)

    def _forward(self, prompt: str) -> None:
        self.logits = next_token_logits(self.lm, prompt).float().cpu()  # [vocab]
        self.model_runs += 1
        self.top_ids = torch.topk(self.logits, min(self.n, self.logits.numel())).indices  # [n], most likely first
        self.labels = token_labels(self.lm.to_str_tokens(self.top_ids))

    def _title(self, probs: torch.Tensor) -> str:
        shown = float(probs[self.top_ids].sum())
        top = float(probs[self.top_ids[0]])
        return (f"T = {self.temperature.value:.2f}: top token '{self.labels[0]}' gets {top:.1%}"
                f"; these {len(self.top_ids)} tokens hold {shown:.1%}")

    def _safely(self, callback) -> None:
        run_safely(self.output, callback)

    def _update(self) -> None:
        probs = self.probs_at(self.temperature.value)
        with self.figure.batch_update():
            self.figure.data[0].y = probs[self.top_ids].numpy()
            self.figure.layout.title.text = self._title(probs)

    def _new_prompt(self) -> None:
        self._forward(self.prompt.value)
        probs = self.probs_at(self.temperature.value)
        with self.figure.batch_update():
            self.figure.data[0].y = probs[self.top_ids].numpy()
            self.figure.data[0].customdata = self.labels
            self.figure.data[1].y = self.probs_at(1.0)[self.top_ids].numpy()
            self.figure.update_xaxes(**token_axis(self.labels))
            self.figure.layout.title.text = self._title(probs)


def temperature_explorer(lm, prompt: str, n: int = 15, temperature: float = 1.0) -> TemperatureExplorer:
    """A TemperatureExplorer for `prompt` (see the class): slider T, bars of softmax(logits / T) for the top n."""
    return TemperatureExplorer(lm, prompt, n=n, temperature=temperature)
