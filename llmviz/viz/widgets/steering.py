"""The steering widget of notebook 12: add a multiple of a direction, the difference of two prompts' residual streams
entering one block, to every position of the stream while the model generates greedily, and compare the continuation
and the first token's probabilities with the unsteered ones.

`SteeringExplorer` computes the vector once per pair of prompts and layer (two forwards), and generates once per
strength. Errors appear in its `output` area. The edit comes from `llmviz.stages.interventions.steer`, the bars from
`probability_comparison`; nothing here changes the model's weights.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from llmviz.stages import interventions
from llmviz.viz.decoding import probability_comparison
from llmviz.viz.style import token_labels
from llmviz.viz.widgets.common import prompt_ids, run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget
from llmviz.viz.widgets.interventions import MAX_TOKENS, candidates, readable_ids, update_bars


class SteeringExplorer(widgets.VBox):
    """Steering: add `scale` times the difference of two prompts' residual streams (entering block `layer`, at
    their last tokens) to every position of the stream entering that block, while generating greedily.

    Attributes: prompt, positive, negative (Text), layer (IntSlider: a new vector), scale (FloatSlider: the strength),
    bars (FigureWidget: trace 0 the first next token unsteered, trace 1 steered), text (HTML: both continuations),
    output (errors), model_runs (forwards: two per vector, one generation per strength), vector ([d_model]),
    steered (the last GenerationTrace), plain (the unsteered one).
    """

    def __init__(self, lm, prompt: str, positive: str, negative: str, layer: int, scale: float = 0.0,
                 max_new_tokens: int = 12, top_k: int = 8):
        self.lm, self.max_new_tokens, self.top_k, self.model_runs = lm, max_new_tokens, top_k, 0
        text = dict(continuous_update=False, layout=widgets.Layout(width="360px"))
        self.prompt = widgets.Text(value=prompt, description="Prompt:", **text)
        self.positive = widgets.Text(value=positive, description="Towards:", **text)
        self.negative = widgets.Text(value=negative, description="Away from:", **text)
        self.layer = widgets.IntSlider(value=layer, min=0, max=lm.n_layers - 1, description="Layer:",
                                       continuous_update=False)
        self.scale = widgets.FloatSlider(value=scale, min=-8.0, max=8.0, step=0.5, description="Strength:",
                                         continuous_update=False)
        self.text, self.output = widgets.HTML(), widgets.Output()
        self._new_vector()
        self.bars = FigureWidget(probability_comparison(*self._bar_data(), title=""))
        self._draw()
        for control in (self.prompt, self.positive, self.negative, self.layer):
            control.observe(lambda _: run_safely(self.output, self._show_vector), names="value")
        self.scale.observe(lambda _: run_safely(self.output, self._show_scale), names="value")
        super().__init__([widgets.HBox([self.prompt, self.layer]), widgets.HBox([self.positive, self.negative]),
                          self.scale, self.text, self.output, self.bars])

    def _new_vector(self) -> None:
        name = f"blocks.{self.layer.value}.hook_resid_pre"
        ends = []
        for text in (self.positive.value, self.negative.value):
            _, cache = self.lm.run_with_cache(prompt_ids(self.lm, text, MAX_TOKENS), names=[name])
            ends.append(cache[name][0, -1])  # [d_model] at the prompt's last token
            self.model_runs += 1
        self.vector = ends[0] - ends[1]
        self.plain = self._generate(0.0)
        self.steered = self._generate(self.scale.value)

    def _generate(self, scale: float):
        hooks = [interventions.steer(self.layer.value, self.vector, scale)] if scale else None
        trace = self.lm.generate(prompt_ids(self.lm, self.prompt.value, MAX_TOKENS),
                                 max_new_tokens=self.max_new_tokens, temperature=0, capture=None, fwd_hooks=hooks)
        self.model_runs += 1
        return trace

    def _bar_data(self) -> tuple[list[str], dict]:
        plain, steered = (t.steps[0].sample.logits.float().softmax(-1) for t in (self.plain, self.steered))
        ids = self.bar_ids = candidates(plain, steered, k=self.top_k)
        return readable_ids(self.lm, ids), {"unsteered": plain[ids].numpy(),
                                         f"strength {self.scale.value:+g}": steered[ids].numpy()}

    def _draw(self) -> None:
        labels, series = self._bar_data()
        with self.bars.batch_update():
            update_bars(self.bars, token_labels(labels), list(series.values()))
            self.bars.data[1].name = list(series)[1]
            self.bars.layout.title.text = f"The first generated token, unsteered and at strength {self.scale.value:+g}"
        prompt = html.escape(self.prompt.value)
        plain, steered = (html.escape(t.text).replace("\n", "↵") for t in (self.plain, self.steered))
        self.text.value = (f"<b>unsteered:</b> {prompt}<i>{plain}</i><br>"
                           f"<b>strength {self.scale.value:+g}:</b> {prompt}<i>{steered}</i>")

    def _show_scale(self) -> None:
        self.steered = self._generate(self.scale.value)
        self._draw()

    def _show_vector(self) -> None:
        self._new_vector()
        self._draw()
