"""The widgets of notebook 04 (attention): guess where a head looks, then explore every head of every layer.

`attention_guess` asks which earlier token one head attends to most from the last token, and reveals the real
weights. `AttentionExplorer` wires a prompt box, a layer slider and a head slider to one FigureWidget built once by
`attention_heatmap`; the sliders only index the patterns captured beforehand, a new prompt re-runs the model
(counted in `model_runs`). Errors inside a callback appear in the widget's own `output` area. Nothing here computes
attention: the capture does, and the builders in `llmviz.viz.attention` draw it.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go

from llmviz.names import every_layer
from llmviz.viz.attention import attention_heatmap, causal_mask, masked_values
from llmviz.viz.inputs import nan_to_none
from llmviz.viz.style import readable_token
from llmviz.viz.widgets.common import PredictReveal, prompt_ids, run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget

MAX_TOKENS = 64  # one heatmap cell per token pair: longer prompts stop being readable


def capture_patterns(lm, text_or_ids) -> tuple[list[str], np.ndarray]:
    """(readable tokens [pos], patterns [layer, head, query_pos, key_pos]) from one forward that keeps only
    hook_pattern. Raises ValueError for prompts longer than MAX_TOKENS tokens."""
    ids = prompt_ids(lm, text_or_ids, MAX_TOKENS)  # [1, pos]
    _, cache = lm.run_with_cache(ids, names=every_layer("blocks.{L}.attn.hook_pattern", lm.n_layers))
    patterns = cache.stack("pattern")[:, 0]  # [layer, head, q, k]
    return lm.to_str_tokens(ids), patterns.float().numpy()


def json_safe(fig: go.Figure) -> go.Figure:
    """NaN cells (masked attention) as None, in place: a FigureWidget's messages must be valid JSON."""
    for trace in fig.data:
        if trace.type == "heatmap" and trace.z is not None:
            trace.z = nan_to_none(np.asarray(trace.z, dtype=np.float64))
    return fig


def _title(layer: int, head: int) -> str:
    return f"Layer {layer}, head {head}: each row shares its attention over earlier tokens"


def _heatmap(patterns: np.ndarray, tokens: list[str], layer: int, head: int) -> go.Figure:
    return json_safe(attention_heatmap(patterns[layer, head], tokens, title=_title(layer, head)))


def attention_guess(lm, prompt: str, layer: int, head: int) -> PredictReveal:
    """Predict, then reveal: which earlier token does `head` of `layer` attend to most from the prompt's last token?
    The learner clicks a token; Reveal shows the whole row of weights [pos] (it sums to 1). The model runs once."""
    if not (0 <= layer < lm.n_layers and 0 <= head < lm.n_heads):
        raise ValueError(f"layer must be in 0..{lm.n_layers - 1} and head in 0..{lm.n_heads - 1}; "
                         f"got layer={layer}, head={head}.")
    tokens, patterns = capture_patterns(lm, prompt)
    tokens, weights = [readable_token(t) for t in tokens], patterns[layer, head, -1]  # weights [pos]

    def answer(guess: int | None) -> str:
        best = int(weights.argmax())
        rows = "".join(f"<tr><td><code>{html.escape(t)}</code></td><td>{w:.4f}</td><td><div style='background:"
                       f"#0072B2;height:12px;width:{300 * w:.0f}px'></div></td></tr>"
                       for t, w in zip(tokens, weights, strict=True))
        verdict = "" if guess is None else ("Your guess is right. " if guess == best else
                                            f"Your guess got {weights[guess]:.4f}. ")
        return (f"{verdict}Most attention goes to <code>{html.escape(tokens[best])}</code> (position {best}). "
                f"The whole row of weights (it sums to 1):<table>{rows}</table>")

    question = (f"Layer {layer}, head {head}: from the last token <code>{html.escape(tokens[-1])}</code>, which "
                "token gets the most attention? Click your guess, then Reveal.")
    return PredictReveal(question, answer, choices=[(t, i) for i, t in enumerate(tokens)], question_html=True,
                         answer_html=True)


class AttentionExplorer(widgets.VBox):
    """Every head of every layer: prompt (Text), layer and head (IntSliders), figure (FigureWidget of
    attention_heatmap: trace 0 the weights, trace 1 the mask), output (errors), patterns [layer, head, q, k],
    model_runs (forwards run so far)."""

    def __init__(self, lm, prompt: str):
        self.lm, self.model_runs = lm, 0
        self.tokens, self.patterns = self._run(prompt)
        self.prompt = widgets.Text(value=prompt, description="Prompt:", continuous_update=False,
                                   layout=widgets.Layout(width="520px"))
        self.layer = widgets.IntSlider(value=0, min=0, max=lm.n_layers - 1, description="Layer:")
        self.head = widgets.IntSlider(value=0, min=0, max=lm.n_heads - 1, description="Head:")
        self.figure = FigureWidget(_heatmap(self.patterns, self.tokens, 0, 0))
        self.output = widgets.Output()
        self.prompt.observe(lambda change: run_safely(self.output, lambda: self._show_prompt(change["new"])),
                            names="value")
        for slider in (self.layer, self.head):
            slider.observe(lambda _: run_safely(self.output, self._show_choice), names="value")
        super().__init__([self.prompt, widgets.HBox([self.layer, self.head]), self.output, self.figure])

    def _run(self, text_or_ids):
        result = capture_patterns(self.lm, text_or_ids)
        self.model_runs += 1
        return result

    def _show_choice(self) -> None:
        layer, head = self.layer.value, self.head.value
        n = len(self.tokens)
        # Only the cells change: index the stored patterns, no figure rebuilt and no model run.
        z = nan_to_none(masked_values(self.patterns[layer, head], causal_mask(n, n)))
        with self.figure.batch_update():
            self.figure.data[0].z = z
            self.figure.layout.title.text = _title(layer, head)

    def _show_prompt(self, text: str) -> None:
        self.tokens, self.patterns = self._run(text)
        fresh = _heatmap(self.patterns, self.tokens, self.layer.value, self.head.value)
        with self.figure.batch_update():  # new tokens: cells, labels, hover text, axes and size change
            for old, new in zip(self.figure.data, fresh.data, strict=True):
                old.update(z=new.z, x=new.x, y=new.y, customdata=new.customdata)
            for axis in ("xaxis", "yaxis"):  # only what depends on the tokens; a whole-layout update is slow
                self.figure.layout[axis].update(tickvals=fresh.layout[axis].tickvals,
                                                ticktext=fresh.layout[axis].ticktext)
            self.figure.layout.update(height=fresh.layout.height, width=fresh.layout.width)
