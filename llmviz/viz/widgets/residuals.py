"""The widgets of notebook 06 (layer norm, residual stream, depth): what a norm does to each token's numbers, and a
logit-lens explorer that reads the model's next-token guess after every layer.

`layer_norm_before_after` reduces a capture to the per-token mean and variance that `layer_norm_stats` draws: the
norm's input (the residual stream) and its normalising step, `(x - mean) / hook_scale` for LayerNorm or
`x / hook_scale` for RMSNorm, before the learned gain and bias. `LensExplorer` runs the model once per prompt, decodes
every layer with `llmviz.stages.lens.logit_lens` (one position at a time, when the slider first reaches it, then
kept), and wires a position slider and a layer slider to one FigureWidget built by `probability_bars`; the sliders
only index the stored lens (the model runs again only for a new prompt, counted in `model_runs`). Errors inside a
callback appear in the widget's own `output` area. Nothing here decodes residuals or normalises vectors for the
model: the capture and the lens do that, and the builders draw.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from llmviz.names import residual_stream_names
from llmviz.stages.lens import LogitLens, logit_lens_at
from llmviz.viz.decoding import bar_marker, probability_bars
from llmviz.viz.style import readable_token, token_axis, token_labels
from llmviz.viz.widgets.common import PredictReveal, prompt_ids, run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget

MAX_TOKENS = 64  # one slider step per position: longer prompts stop being explorable
_NORM_INPUT = {"ln1": "hook_resid_pre", "ln2": "hook_resid_mid"}  # what each norm of a block reads


def layer_norm_before_after(cache, layer: int, norm: str = "ln1", subtract_mean: bool = True,
                            batch: int = 0) -> dict:
    """Keyword arguments for `layer_norm_stats`: before_mean, before_var, after_mean, after_var, each [pos].

    before: the vector the norm reads (`blocks.{layer}.hook_resid_pre` for ln1, `hook_resid_mid` for ln2).
    after: its normalising step with the captured divisor, `(x - mean) / hook_scale` (LayerNorm, subtract_mean=True)
    or `x / hook_scale` (RMSNorm), i.e. before the learned gain and bias. Variances are population variances
    (divide by d_model), as the norm uses.
    """
    if norm not in _NORM_INPUT:
        raise ValueError(f"norm must be one of {sorted(_NORM_INPUT)} (the block's first or second norm), not "
                         f"{norm!r}.")
    source, scale_name = f"blocks.{layer}.{_NORM_INPUT[norm]}", f"blocks.{layer}.{norm}.hook_scale"
    if source not in cache or scale_name not in cache:
        raise KeyError(f"Need {source} and {scale_name} in the cache; run run_with_cache with names=None.")
    x = cache[source][batch].float()                 # [pos, d_model]
    scale = cache[scale_name][batch].float()         # [pos, 1]
    after = ((x - x.mean(-1, keepdim=True)) if subtract_mean else x) / scale  # [pos, d_model]
    return dict(before_mean=x.mean(-1).numpy(), before_var=x.var(-1, unbiased=False).numpy(),
                after_mean=after.mean(-1).numpy(), after_var=after.var(-1, unbiased=False).numpy())


def first_layer_with_final_answer(lens: LogitLens, position: int = -1) -> int:
    """The first lens row (0 = the embedding, L + 1 = after block L) whose top guess at `position` is the token the
    model finally predicts there; the last row always qualifies."""
    hits = lens.top_ids[:, position, 0] == lens.final_ids[position]  # [n_layers + 1]
    return int(hits.nonzero()[0, 0])


def depth_name(label: str) -> str:
    """A lens row's label for a sentence: 'embed' -> 'the embedding', 'block 2' stays."""
    return "the embedding" if label == "embed" else label


def lens_checkpoint(lm, lens: LogitLens, position: int = -1) -> PredictReveal:
    """Predict, then reveal: from which lens row is the model's final answer at `position` first the top guess?
    The reveal names the row and lists the answer's probability after every layer (lens.final_probs)."""
    answer = readable_token(lm.to_str_tokens([int(lens.final_ids[position])])[0])
    first = first_layer_with_final_answer(lens, position)
    by_layer = ", ".join(f"{label} {float(p):.3f}" for label, p in zip(lens.labels, lens.final_probs[:, position],
                                                                       strict=True))
    where = "the prompt's last position" if position == -1 else f"position {position}"
    question = (f"at {where} the model finally predicts {html.escape(answer)}. From which row does the "
                f"logit lens first put it on top? (0 = the embedding, 1 = after block 0, …, {len(lens.labels) - 1} "
                "= after the last block)")
    return PredictReveal(question, f"row {first} ({depth_name(lens.labels[first])}). The probability of {answer} "
                                   f"after each layer: {by_layer}.", placeholder="a row number")


class LensExplorer(widgets.VBox):
    """The logit lens, one layer and position at a time: the top_k next-token guesses as bars, the model's final
    answer in orange when it is among them.

    Attributes: prompt (Text), position (IntSlider over the prompt's tokens), layer (IntSlider, 0 = the embedding,
    L + 1 = after block L), figure (FigureWidget of probability_bars; trace 0 the bars), output (errors), tokens
    (readable input tokens), model_runs (forwards run so far). `lens_at(pos)` is the LogitLens of one position.
    """

    def __init__(self, lm, prompt: str, top_k: int = 10):
        if not isinstance(top_k, int) or not 1 <= top_k <= lm.d_vocab:
            raise ValueError(f"top_k must be an int in 1..{lm.d_vocab} (how many guesses to show), not {top_k!r}.")
        self.lm, self.top_k, self.model_runs = lm, top_k, 0
        self._run(prompt)
        n = len(self.tokens)
        self.prompt = widgets.Text(value=prompt, description="Prompt:", continuous_update=False,
                                   layout=widgets.Layout(width="520px"))
        self.position = widgets.IntSlider(value=n - 1, min=0, max=n - 1, description="Position:",
                                          layout=widgets.Layout(width="420px"))
        self.layer = widgets.IntSlider(value=0, min=0, max=lm.n_layers, description="Layer:",
                                       layout=widgets.Layout(width="420px"))
        self.where = widgets.HTML()
        self.figure = FigureWidget(probability_bars(*self._bars(0, n - 1), title=""))
        self.figure.update_layout(yaxis=dict(range=[0, 1]), width=800, height=430)
        self.output = widgets.Output()
        self._draw()
        self.prompt.observe(lambda _: run_safely(self.output, self._new_prompt), names="value")
        self.position.observe(lambda _: run_safely(self.output, self._draw), names="value")
        self.layer.observe(lambda _: run_safely(self.output, self._draw), names="value")
        super().__init__([self.prompt, self.position, self.layer, self.where, self.output, self.figure])

    def _run(self, text_or_ids) -> None:
        ids = prompt_ids(self.lm, text_or_ids, MAX_TOKENS)  # [1, pos]
        _, self._cache = self.lm.run_with_cache(ids, names=residual_stream_names(self.lm.n_layers))
        self.model_runs += 1
        self._lens = {}
        self.tokens = [readable_token(t) for t in self.lm.to_str_tokens(ids)]

    def lens_at(self, pos: int) -> LogitLens:
        """The logit lens of position `pos` alone (its tensors have one position), decoded on first use and kept.
        Decoding all positions up front costs (n_layers + 1) * pos rows through the unembedding, against n_layers + 1
        rows for the one position the bars show (benchmarks/widgets.py times both paths)."""
        if pos not in self._lens:
            self._lens[pos] = logit_lens_at(self.lm, self._cache, pos, top_k=self.top_k)
        return self._lens[pos]

    def _bars(self, layer: int, pos: int) -> tuple[list[str], np.ndarray, None, int | None]:
        """(guesses [top_k], their probabilities [top_k], no filter, index of the final answer or None)."""
        lens = self.lens_at(pos)
        ids = lens.top_ids[layer, 0]  # [top_k]
        final = (ids == lens.final_ids[0]).nonzero()
        return (lens.top_tokens[layer][0], lens.top_probs[layer, 0].numpy(), None,
                int(final[0, 0]) if len(final) else None)

    def _draw(self) -> None:
        layer, pos = self.layer.value, self.position.value
        tokens, probs, _, final = self._bars(layer, pos)
        labels = token_labels(tokens)
        lens = self.lens_at(pos)
        answer = readable_token(self.lm.to_str_tokens([int(lens.final_ids[0])])[0])
        p_answer = float(lens.final_probs[layer, 0])
        with self.figure.batch_update():
            self.figure.data[0].y = probs
            self.figure.data[0].customdata = [[t, "the model's final answer" if i == final else "a guess"]
                                              for i, t in enumerate(labels)]
            self.figure.data[0].marker.update(bar_marker(len(labels), None, final))
            self.figure.update_xaxes(**token_axis(labels))
            self.figure.layout.title.text = (f"After {depth_name(lens.labels[layer])}, reading "
                                             f"{self.tokens[pos]!r}: top guess {labels[0]} ({float(probs[0]):.1%})")
        self.where.value = (f"Layer {layer} = <b>{lens.labels[layer]}</b> · position {pos} = "
                            f"<code>{html.escape(self.tokens[pos])}</code> · the model's final answer here is "
                            f"<code>{html.escape(answer)}</code>, which this layer gives <b>{p_answer:.1%}</b>")

    def _new_prompt(self) -> None:
        self._run(self.prompt.value)
        n = len(self.tokens)
        with self.position.hold_trait_notifications():
            self.position.max = n - 1
            self.position.value = n - 1
        self._draw()
