"""The patching and attribution widgets of notebook 12: patch the residual stream from another prompt, cell by cell.

`PatchingExplorer` runs the batched patching sweep once per pair of prompts, with a progress bar; its layer and
position sliders only index the stored logits. `attribution_by_layer`, `top_heads` and `patching_flips` reduce a
direct logit attribution or a sweep to what the notebook's bars and reveals show. Errors appear in the widget's
`output` area. The sweep comes from `llmviz.stages.interventions`; the figures from the builders.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import torch
from IPython.display import display

from llmviz.names import every_layer
from llmviz.stages import interventions
from llmviz.viz.decoding import probability_comparison
from llmviz.viz.interventions import layer_grid
from llmviz.viz.style import readable_token, token_labels
from llmviz.viz.widgets.common import prompt_ids, run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget
from llmviz.viz.widgets.interventions import MAX_TOKENS, candidates, one_token, readable_ids, update_bars


def same_length_ids(lm, prompt: str, source: str) -> tuple[torch.Tensor, torch.Tensor]:
    """ids [1, pos] of two prompts for patching, or a ValueError naming both lengths when they differ."""
    ids, source_ids = prompt_ids(lm, prompt, MAX_TOKENS), prompt_ids(lm, source, MAX_TOKENS)
    if ids.shape != source_ids.shape:
        raise ValueError(f"Patching copies position by position, so the prompts need the same number of tokens: "
                         f"{ids.shape[1]} ({lm.to_str_tokens(ids)}) and {source_ids.shape[1]} "
                         f"({lm.to_str_tokens(source_ids)}).")
    return ids, source_ids


def sweep_with_progress(lm, prompt: str, source: str, positions_per_forward: int | None = None,
                        progress=None) -> torch.Tensor:
    """`interventions.patching_sweep` over every (layer, position) of blocks.{L}.hook_resid_pre, from `source` into
    `prompt` (branching forwards, `positions_per_forward` positions each; None lets the library choose). progress:
    an IntProgress counting cells, advanced as each block branches, True for a new one displayed in the running cell,
    or None. Returns the last position's logits [layer, pos, d_vocab], equal to `interventions.patching_sweep`."""
    ids, source_ids = same_length_ids(lm, prompt, source)
    _, source_cache = lm.run_with_cache(source_ids, names=every_layer("blocks.{L}.hook_resid_pre", lm.n_layers))
    if progress is True:  # a bar of its own, shown in the notebook cell that runs the sweep
        progress = widgets.IntProgress(description="Cells:", min=0, max=1, layout=widgets.Layout(width="500px"))
        display(progress)
    advance = None
    if progress is not None:
        progress.max, progress.value = lm.n_layers * ids.shape[1], 0

        def advance(layer: int, cells: int) -> None:
            progress.value += cells
    return interventions.patching_sweep(lm, ids, source_cache, positions_per_forward=positions_per_forward,
                                        on_branch=advance)


def _ranges(layers: list[int]) -> str:
    """[0, 1, 2, 5] -> '0–2, 5'."""
    runs, start = [], None
    for i, layer in enumerate(layers):
        start = layer if start is None else start
        if i + 1 == len(layers) or layers[i + 1] != layer + 1:
            runs.append(f"{start}–{layer}" if layer != start else f"{layer}")
            start = None
    return ", ".join(runs)


def patching_flips(difference, tokens: list[str]) -> str:
    """Where patching one cell turns the answer around: for each position, the layers whose cell makes
    difference [layer, pos] (logit(answer) - logit(versus)) negative, e.g. "␣France (position 3) in layers 0–23"."""
    z = np.asarray(difference)
    parts = [f"{tokens[p]} (position {p}) in layers {_ranges(np.nonzero(z[:, p] < 0)[0].tolist())}"
             for p in range(z.shape[1]) if (z[:, p] < 0).any()]
    return "; ".join(parts) if parts else "in no cell"


def attribution_by_layer(dla, position: int = -1, batch: int = 0) -> tuple[list[str], np.ndarray]:
    """A LogitAttribution summed per layer and sub-layer: labels ['embeddings', 'L0 attn', 'L0 MLP', ...,
    'biases'] and their parts [2 * n_layers + 2] at one position; they add up to dla.logit there."""
    heads, mlps = dla.heads[:, :, batch, position].sum(1), dla.mlps[:, batch, position]  # [layer] each
    labels = ["embeddings"] + [f"L{L} {part}" for L in range(len(mlps)) for part in ("attn", "MLP")] + ["biases"]
    values = [dla.embeddings[batch, position], *torch.stack([heads, mlps], 1).flatten(), dla.biases[batch, position]]
    return labels, torch.stack(values).numpy()


def top_heads(dla, k: int = 12, position: int = -1, batch: int = 0) -> tuple[list[str], np.ndarray]:
    """The k heads with the largest |direct attribution| at one position: labels 'L23H4' and values [k], in
    decreasing order of size."""
    heads = dla.heads[:, :, batch, position]  # [layer, head]
    order = heads.flatten().abs().argsort(descending=True)[:k]
    n_heads = heads.shape[1]
    return [f"L{int(i) // n_heads}H{int(i) % n_heads}" for i in order], heads.flatten()[order].numpy()


class PatchingExplorer(widgets.VBox):
    """Activation patching: the residual stream entering each block, at each position, copied from `source` into
    `prompt`, one cell at a time; how far does the answer move?

    Attributes: prompt, source, answer, versus (Text), run (Button: run the sweep), progress (IntProgress), layer and
    position (IntSliders: only index the sweep), grid (FigureWidget of layer_grid: logit(answer) - logit(versus)
    after patching each cell), bars (FigureWidget: trace 0 clean, trace 1 patched at the chosen cell), summary
    (HTML), output (errors), sweeps (sweeps run here; `sweep=` hands it one run before), logits
    ([layer, pos, d_vocab]), difference ([layer, pos]), clean_difference (float).
    """

    def __init__(self, lm, prompt: str, source: str, answer: str, versus: str, top_k: int = 8,
                 positions_per_forward: int | None = None, sweep: torch.Tensor | None = None):
        self.lm, self.top_k, self.positions_per_forward, self.sweeps = lm, top_k, positions_per_forward, 0
        text = dict(continuous_update=False, layout=widgets.Layout(width="420px"))
        self.prompt = widgets.Text(value=prompt, description="Patch into:", **text)
        self.source = widgets.Text(value=source, description="From:", **text)
        self.answer = widgets.Text(value=answer, description="Answer:", layout=widgets.Layout(width="200px"))
        self.versus = widgets.Text(value=versus, description="Versus:", layout=widgets.Layout(width="200px"))
        self.run = widgets.Button(description="Run the sweep", button_style="primary",
                                  tooltip="patch every (layer, position) cell: one branching forward")
        self.progress = widgets.IntProgress(description="Cells:", min=0, max=1)
        self.layer = widgets.IntSlider(min=0, max=lm.n_layers - 1, description="Layer:")
        self.position = widgets.IntSlider(min=0, max=0, description="Position:")
        self.summary, self.output = widgets.HTML(), widgets.Output()
        self._sweep(sweep)
        self.grid = FigureWidget(self._grid_figure())
        self.bars = FigureWidget(probability_comparison(*self._bar_data(), title=""))
        self._draw()
        self.run.on_click(lambda _: run_safely(self.output, self._rerun))
        for control in (self.layer, self.position):
            control.observe(lambda _: run_safely(self.output, self._draw), names="value")
        super().__init__([widgets.HBox([self.prompt, self.answer]), widgets.HBox([self.source, self.versus]),
                          widgets.HBox([self.run, self.progress]), widgets.HBox([self.layer, self.position]),
                          self.summary, self.output, self.grid, self.bars])

    def _sweep(self, logits: torch.Tensor | None = None) -> None:
        """Run the sweep (or take `logits` [layer, pos, d_vocab] from `sweep_with_progress` of the same prompts)."""
        answer, versus = one_token(self.lm, self.answer.value), one_token(self.lm, self.versus.value)
        ids, _ = same_length_ids(self.lm, self.prompt.value, self.source.value)
        if logits is None:
            logits = sweep_with_progress(self.lm, self.prompt.value, self.source.value,
                                         self.positions_per_forward, self.progress)
            self.sweeps += 1
        clean = self.lm.run_with_hooks(ids)[0, -1].float()  # [d_vocab]
        self.ids, self.logits, self.pair = ids, logits.float(), (answer, versus)
        self.clean_probs = clean.softmax(-1)
        self.clean_difference = float(clean[answer] - clean[versus])
        self.difference = (self.logits[..., answer] - self.logits[..., versus]).numpy()  # [layer, pos]
        self.tokens = [readable_token(t) for t in self.lm.to_str_tokens(ids)]
        with self.position.hold_trait_notifications():
            self.position.max = len(self.tokens) - 1
            self.position.value = min(self.position.value, self.position.max)

    def _grid_figure(self) -> go.Figure:
        answer, versus = readable_ids(self.lm, self.pair)
        return layer_grid(self.difference, self.tokens, f"logit({answer}) − logit({versus}) after patching one cell "
                          f"(clean: {self.clean_difference:+.2f})", "position patched",
                          f"logit({answer}) − logit({versus})", tokens=True)

    def _bar_data(self) -> tuple[list[str], dict]:
        patched = self.logits[self.layer.value, self.position.value].softmax(-1)
        ids = self.bar_ids = candidates(self.clean_probs, patched, k=self.top_k)
        return readable_ids(self.lm, ids), {"clean": self.clean_probs[ids].numpy(), "patched": patched[ids].numpy()}

    def _draw(self) -> None:
        layer, pos = self.layer.value, self.position.value
        labels, series = self._bar_data()
        with self.bars.batch_update():
            update_bars(self.bars, token_labels(labels), list(series.values()))
            self.bars.layout.title.text = (f"Next token: clean, and with block {layer}'s input at "
                                           f"{self.tokens[pos]!r} patched")
        answer, versus = readable_ids(self.lm, self.pair)
        self.summary.value = (f"Patched cell: layer {layer}, position {pos} (<code>{html.escape(self.tokens[pos])}"
                              f"</code>). logit({html.escape(answer)}) − logit({html.escape(versus)}): "
                              f"{self.clean_difference:+.2f} clean, <b>{self.difference[layer, pos]:+.2f}</b> "
                              "patched.")

    def _rerun(self) -> None:
        self._sweep()
        fresh = self._grid_figure()
        with self.grid.batch_update():
            self.grid.data[0].update(fresh.data[0].to_plotly_json())
            self.grid.layout.update(title=fresh.layout.title, width=fresh.layout.width, xaxis=fresh.layout.xaxis)
        self._draw()
