"""The loop explorer of notebook 09: scrub through a generation step by step (a step slider and a Next-token button) and
watch the text grow, the KV cache grow, and the attention work per step with and without the cache.

The model runs once per prompt: one greedy generation with the KV cache and the same generation without it
(`llmviz.decoding.generation.generate`; greedy, so both runs choose the same tokens). The slider and the button only
index the two stored traces and move markers inside `fig.batch_update()`. This module does not generate anything itself
(generation.py does) and never draws outside its widget. Errors inside a callback appear in the widget's output area.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import plotly.graph_objects as go

from llmviz.viz.adapters import cache_cost_series
from llmviz.viz.decoding import cost_with_without_cache
from llmviz.viz.style import BLACK
from llmviz.viz.widgets.common import run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget


class LoopExplorer(widgets.VBox):
    """Step through one greedy generation: the text so far, the token chosen, the cache, and the work per step.

    Figure traces: [0] query·key products per step without the cache, [1] with it (both from
    `cache_cost_series`), [2] and [3] markers at the selected step on each line. Attributes: `prompt` (Text),
    `run` (Button), `step` (IntSlider over step indices), `next_token` (Button: step + 1), `text` (HTML: the
    output so far, newest token in bold), `figure` (FigureWidget), `output` (Output), `trace` / `trace_no_cache`
    (GenerationTrace with and without the KV cache), `model_runs` (generations run, one per prompt).
    """

    def __init__(self, lm, prompt: str, max_new_tokens: int = 20, stop=None):
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or not 1 <= max_new_tokens <= 200:
            raise ValueError(f"`max_new_tokens` must be an int in 1..200 (steps to precompute); "
                             f"got {max_new_tokens!r}.")
        self.lm, self.max_new_tokens, self.stop, self.model_runs = lm, max_new_tokens, stop, 0
        style = {"description_width": "initial"}
        self.prompt = widgets.Text(value=prompt, description="Prompt:", layout=widgets.Layout(width="520px"))
        self.run = widgets.Button(description="Generate", button_style="primary")
        self.next_token = widgets.Button(description="Next token ▶", button_style="info")
        self.step = widgets.IntSlider(value=0, min=0, max=0, description="step", style=style,
                                      layout=widgets.Layout(width="520px"))
        self.text = widgets.HTML()
        self.output = widgets.Output()
        self._generate(prompt)
        self.figure = FigureWidget(cost_with_without_cache(**self._series(),
                                                              title="Attention work per step"))
        for line in (0, 1):
            color = self.figure.data[line].line.color
            self.figure.add_trace(go.Scatter(x=[0], y=[0], mode="markers", showlegend=False, hoverinfo="skip",
                                             marker=dict(size=16, color=color, line=dict(color=BLACK, width=2))))
        self.figure.update_layout(width=900, height=420)
        self.step.observe(lambda _: self._safely(self._update), names="value")
        self.next_token.on_click(lambda _: self._safely(self._advance))
        self.run.on_click(lambda _: self._safely(self._new_prompt))
        super().__init__([widgets.HBox([self.prompt, self.run]), widgets.HBox([self.step, self.next_token]),
                          self.text, self.figure, self.output])
        self._update()

    def _generate(self, prompt: str) -> None:
        kwargs = dict(max_new_tokens=self.max_new_tokens, temperature=0, stop=self.stop, capture=None)
        trace = self.lm.generate(prompt, use_cache=True, **kwargs)
        trace_no_cache = self.lm.generate(prompt, use_cache=False, **kwargs)
        self.model_runs += 1
        self.trace, self.trace_no_cache = trace, trace_no_cache
        self.step.max = len(trace.steps) - 1
        self.step.value = 0

    def _series(self) -> dict:
        return cache_cost_series(self.trace, self.trace_no_cache)

    def _safely(self, callback) -> None:
        run_safely(self.output, callback)

    def _advance(self) -> None:
        """The Next-token button: show one more step (the slider's observer redraws)."""
        if self.step.value >= self.step.max:
            raise ValueError(f"The generation already stopped ({self.trace.stop_reason}); press Generate for a "
                             f"new run or move the step slider back.")
        self.step.value += 1

    def _text_html(self, index: int) -> str:
        steps = self.trace.steps
        before = html.escape("".join(s.text for s in steps[:index]))
        new = html.escape(steps[index].text) or "∅"
        prompt = html.escape(self.lm.to_string(self.trace.prompt_ids))
        return (f"<div style='font-family:monospace;white-space:pre-wrap;max-width:880px'>"
                f"<span style='color:#666'>{prompt}</span>{before}"
                f"<b style='background:#ffe3b3'>{new}</b></div>")

    def _update(self) -> None:
        i = self.step.value
        cached, full = self.trace.steps[i], self.trace_no_cache.steps[i]
        ended = f"; stopped: {self.trace.stop_reason}" if i == len(self.trace.steps) - 1 else ""
        self.text.value = self._text_html(i)
        with self.figure.batch_update():
            self.figure.data[2].update(x=[full.index], y=[full.attention_dot_products])
            self.figure.data[3].update(x=[cached.index], y=[cached.attention_dot_products])
            self.figure.layout.title.text = (
                f"Step {i}: without cache {full.attention_dot_products:,} query·key products, with cache "
                f"{cached.attention_dot_products:,}<br>KV cache: {cached.kv_cache_length} positions, "
                f"{cached.kv_cache_bytes:,} bytes{ended}")

    def _new_prompt(self) -> None:
        self._generate(self.prompt.value)
        series = self._series()
        with self.figure.batch_update():
            ratio = [a / b if b else None for a, b in zip(series["work_without"], series["work_with"], strict=True)]
            for line, key in ((0, "work_without"), (1, "work_with")):
                self.figure.data[line].update(x=series["steps"], y=series[key], customdata=ratio)
        self._update()


def loop_explorer(lm, prompt: str, max_new_tokens: int = 20, stop=None) -> LoopExplorer:
    """A LoopExplorer for `prompt` (see the class): greedy generation with and without the KV cache, stepped."""
    return LoopExplorer(lm, prompt, max_new_tokens=max_new_tokens, stop=stop)
