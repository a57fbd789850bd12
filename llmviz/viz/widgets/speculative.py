"""The speculative-decoding explorer of notebook 10: a `draft_tokens` (k) slider over greedy speculative runs
precomputed for k = 1..6, showing each run's rounds grid (draft proposals, accepted / rejected, the target's token).

The models run only at construction: one greedy speculative generation per k (`lm.generate(..., draft=...)`,
without the timing baseline). The slider only indexes the stored traces and replaces the grid's data inside
`fig.batch_update()`. This module does not decode anything itself (speculative.py does) and never draws outside its
widget. Errors inside a callback appear in the widget's output area.
"""

from __future__ import annotations

import ipywidgets as widgets

from llmviz.viz.adapters import speculative_rows
from llmviz.viz.decoding import speculative_steps
from llmviz.viz.widgets.common import run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget

K_VALUES = tuple(range(1, 7))


def _title(k: int, trace) -> str:
    return (f"k = {k} draft tokens: acceptance rate {trace.acceptance_rate:.0%}, {trace.target_passes} target passes "
            f"for {len(trace.tokens)} tokens<br>= {trace.target_passes_per_token:.2f} passes per token "
            f"(target alone: 1.00)")


class SpeculativeExplorer(widgets.VBox):
    """Compare speculative runs with k = 1..6 draft tokens per round on one prompt.

    Figure traces: [0] the rounds grid of `speculative_steps` (z status codes, text tokens), then its legend
    entries. Attributes: `draft_tokens` (IntSlider over k), `figure` (FigureWidget), `output` (Output), `traces`
    (dict k -> GenerationTrace), `rows` (dict k -> speculative_rows), `model_runs` (generations run, one per k).
    """

    def __init__(self, lm, draft, prompt: str, max_new_tokens: int = 24, k: int = 4):
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or not 1 <= max_new_tokens <= 200:
            raise ValueError(f"`max_new_tokens` must be an int in 1..200; got {max_new_tokens!r}.")
        if k not in K_VALUES:
            raise ValueError(f"`k` must be an int in {K_VALUES[0]}..{K_VALUES[-1]}; got {k!r}.")
        self.lm, self.draft, self.model_runs = lm, draft, 0
        self.traces, self.rows = {}, {}
        for n in K_VALUES:
            self.traces[n] = lm.generate(prompt, draft=draft, draft_tokens=n, temperature=0,
                                         max_new_tokens=max_new_tokens, capture=None)
            self.rows[n] = speculative_rows(self.traces[n], lm)
            self.model_runs += 1
        self.draft_tokens = widgets.IntSlider(value=k, min=K_VALUES[0], max=K_VALUES[-1],
                                              description="draft_tokens (k)", style={"description_width": "initial"},
                                              layout=widgets.Layout(width="520px"))
        self.output = widgets.Output()
        self.figure = FigureWidget(speculative_steps(self.rows[K_VALUES[-1]], title=""))
        self.figure.update_layout(width=900, height=520)
        self.draft_tokens.observe(lambda _: run_safely(self.output, self._update), names="value")
        super().__init__([self.draft_tokens, self.figure, self.output])
        self._update()

    def _update(self) -> None:
        k = self.draft_tokens.value
        if k not in self.traces:
            raise ValueError(f"`draft_tokens` must be in {K_VALUES[0]}..{K_VALUES[-1]}; got {k!r}.")
        grid = speculative_steps(self.rows[k], title="").data[0]
        with self.figure.batch_update():
            self.figure.data[0].update(z=grid.z, x=grid.x, y=grid.y, text=grid.text, customdata=grid.customdata)
            self.figure.layout.title.text = _title(k, self.traces[k])


def speculative_explorer(lm, draft, prompt: str, max_new_tokens: int = 24, k: int = 4) -> SpeculativeExplorer:
    """A SpeculativeExplorer for `prompt` (see the class): greedy speculative runs for k = 1..6, one slider."""
    return SpeculativeExplorer(lm, draft, prompt, max_new_tokens=max_new_tokens, k=k)
