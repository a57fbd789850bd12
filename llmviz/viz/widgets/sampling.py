"""The sampling explorer of notebook 08: sliders for temperature, top-k, top-p and min-p over one prompt's
next-token distribution, showing which candidates survive each filter and which token a seeded draw picks.

The model runs once per prompt; the sliders only re-run `llmviz.decoding.sampling.sample` on the stored logits [vocab]
(a few milliseconds) and update the one FigureWidget inside `fig.batch_update()`. The filtering itself is the
library's (sampling.py); this module only wires controls to it and draws. Errors inside a callback appear in the
widget's own output area.
"""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go
import torch

from llmviz.decoding.forward import next_token_logits
from llmviz.decoding.sampling import SamplingSettings, sample
from llmviz.viz.adapters import candidates
from llmviz.viz.decoding import bar_marker, probability_bars
from llmviz.viz.style import BLACK, token_axis, token_labels
from llmviz.viz.widgets.common import run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget


class FilterExplorer(widgets.VBox):
    """Which of the `n` most likely next tokens survive temperature, top-k, top-p and min-p, and which one is drawn.

    Slider values meaning "off": top_k 0, top_p 1, min_p 0. Bars: softmax(logits / T) before the filters (blue kept,
    grey hatched removed, orange the drawn token); black marks: the renormalised distribution the draw uses.
    Attributes: `prompt`, `run`, `temperature`, `top_k`, `top_p`, `min_p` (sliders), `seed` (IntText), `figure`
    (trace 0 bars, trace 1 marks), `output`, `logits` [vocab], `record` (the latest SampleRecord), `model_runs`.
    """

    def __init__(self, lm, prompt: str, n: int = 20):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"`n` must be a positive int (how many candidates to show); got {n!r}.")
        self.lm, self.n, self.model_runs = lm, n, 0
        style = {"description_width": "initial"}
        self.prompt = widgets.Text(value=prompt, description="Prompt:", layout=widgets.Layout(width="520px"))
        self.run = widgets.Button(description="Run the model", button_style="primary")
        self.seed = widgets.BoundedIntText(value=0, min=0, max=2**31 - 1, description="seed", style=style)
        self.temperature = widgets.FloatSlider(value=1.0, min=0.05, max=3.0, step=0.05, description="temperature",
                                               style=style, readout_format=".2f")
        self.top_k = widgets.IntSlider(value=0, min=0, max=50, description="top-k (0 = off)", style=style)
        self.top_p = widgets.FloatSlider(value=1.0, min=0.05, max=1.0, step=0.01, description="top-p (1 = off)",
                                         style=style, readout_format=".2f")
        self.min_p = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.01, description="min-p (0 = off)",
                                         style=style, readout_format=".2f")
        self.output = widgets.Output()
        self._forward(prompt)
        shown = self._shown()
        self.figure = FigureWidget(probability_bars(**shown, title=self._title()))
        self.figure.add_trace(go.Scatter(x=list(range(len(shown["tokens"]))), y=self._after(), mode="markers",
                                         name="after the filters (renormalised)",
                                         marker=dict(color=BLACK, symbol="line-ew-open", size=20, line=dict(width=3)),
                                         hovertemplate="after the filters: %{y:.6~g}<extra></extra>"))
        self.figure.data[0].name = "softmax(logits / T), before the filters"
        self.figure.update_layout(showlegend=True, width=950, yaxis=dict(range=[0, 1]),
                                  legend=dict(orientation="h", x=1, xanchor="right", y=1.0, yanchor="bottom"))
        for control in (self.temperature, self.top_k, self.top_p, self.min_p, self.seed):
            control.observe(lambda _: self._safely(self._update), names="value")
        self.run.on_click(lambda _: self._safely(self._new_prompt))
        super().__init__([widgets.HBox([self.prompt, self.run]), widgets.HBox([self.temperature, self.top_k]),
                          widgets.HBox([self.top_p, self.min_p]), self.seed, self.figure, self.output])

    @property
    def settings(self) -> SamplingSettings:
        return SamplingSettings(temperature=self.temperature.value, top_k=self.top_k.value or None,
                                top_p=self.top_p.value if self.top_p.value < 1 else None,
                                min_p=self.min_p.value or None)

    def _forward(self, prompt: str) -> None:
        self.logits = next_token_logits(self.lm, prompt).float().cpu()  # [vocab]
        self.model_runs += 1
        self.top_ids = torch.topk(self.logits, min(self.n, self.logits.numel())).indices  # [n], fixed per prompt
        self.record = sample(self.logits, settings=self.settings, seed=self.seed.value)

    def _shown(self) -> dict:
        return candidates(self.record, self.lm, n=self.n)

    def _after(self):
        return self.record.probs[self.top_ids].numpy()  # [n] the renormalised survivors (0 where removed)

    def _title(self) -> str:
        drawn = token_labels(self.lm.to_str_tokens([self.record.token_id]))[0]
        return (f"{len(self.record.kept_ids):,} of {self.logits.numel():,} tokens survive; seed {self.seed.value} "
                f"draws {drawn} (p = {self.record.token_prob:.3f})")

    def _safely(self, callback) -> None:
        run_safely(self.output, callback)

    def _redraw(self, relabel: bool) -> None:
        shown = self._shown()
        with self.figure.batch_update():
            self.figure.data[0].y = shown["probs"]
            self.figure.data[0].marker.update(bar_marker(len(shown["probs"]), shown["kept_mask"], shown["highlight"]))
            self.figure.data[1].y = self._after()
            labels = token_labels(shown["tokens"])
            status = ["chosen" if i == shown["highlight"] else "kept by the filter" if kept else "filtered out"
                      for i, kept in enumerate(shown["kept_mask"])]
            self.figure.data[0].customdata = [[label, s] for label, s in zip(labels, status, strict=True)]
            if relabel:
                self.figure.update_xaxes(**token_axis(labels))
            self.figure.layout.title.text = self._title()

    def _update(self) -> None:
        self.record = sample(self.logits, settings=self.settings, seed=self.seed.value)
        self._redraw(relabel=False)

    def _new_prompt(self) -> None:
        self._forward(self.prompt.value)
        self._redraw(relabel=True)


def filter_explorer(lm, prompt: str, n: int = 20) -> FilterExplorer:
    """A FilterExplorer for `prompt` (see the class)."""
    return FilterExplorer(lm, prompt, n=n)
