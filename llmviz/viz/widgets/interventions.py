"""The widgets of notebook 12 (interventions): remove a head and watch the change travel (patching.py patches the
residual stream from another prompt cell by cell; steering.py steers generation with a vector).

`AblationExplorer` runs a prompt once clean and once with every head removed in turn (one batched forward, again on
a button after a new prompt), draws that as a clickable (layer, head) grid, and re-runs the model once per edit (a
layer, head or position): the clean and edited next-token bars side by side and the edited run's logit lens with the
changed cells boxed (the causal cone). Errors appear in each widget's `output` area. The edits and sweeps come from
`llmviz.stages.interventions`; the figures from the builders.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import torch

from llmviz.names import every_layer, residual_stream_names
from llmviz.stages import interventions
from llmviz.stages.lens import logit_lens
from llmviz.viz.adapters import lens_grid
from llmviz.viz.decoding import probability_comparison
from llmviz.viz.inputs import nan_to_none
from llmviz.viz.interventions import cone_cells, cone_grid, layer_grid
from llmviz.viz.style import readable_token, token_axis, token_labels
from llmviz.viz.widgets.common import prompt_ids, run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget

MAX_TOKENS = 64
EVERY = "every"  # the position menu's first choice (a Dropdown shows a value of None as an empty box)
CONE_THRESHOLD = 1e-3  # |edited - clean| of a residual vector above this counts as changed (norms are 10s to 100s)


def one_token(lm, text: str) -> int:
    """The id of `text` when it is exactly one token, else a ValueError that shows how it splits."""
    ids = lm.to_tokens(text)[0]
    if len(ids) != 1:
        raise ValueError(f"{text!r} is {len(ids)} tokens ({lm.to_str_tokens(text)}); choose one token, e.g. with "
                         "its leading space.")
    return int(ids[0])


def readable_ids(lm, ids) -> list[str]:
    return [readable_token(lm.to_str_tokens([int(i)])[0]) for i in ids]


def candidates(*probs: torch.Tensor, k: int) -> torch.Tensor:
    """The k token ids with the highest probability under any of `probs` ([d_vocab] each), most probable first."""
    return torch.stack(probs).max(0).values.topk(k).indices


def update_bars(fig: FigureWidget, labels: list[str], series: list[np.ndarray]) -> None:
    for trace, y in zip(fig.data, series, strict=True):
        trace.update(x=list(range(len(labels))), y=y, customdata=labels)
    fig.update_xaxes(**token_axis(labels))


class AblationExplorer(widgets.VBox):
    """Remove one head (zero its z, at every position or at one) and compare with the clean run.

    Attributes: prompt (Text), layer and head (IntSliders), position (Dropdown: EVERY or a position), every_head
    (Button: fill the grid), heads (FigureWidget: each head's effect on the clean top token's log-probability, empty
    after a new prompt until every_head is pressed; click a cell to choose that head), bars (FigureWidget: trace 0
    clean, trace 1 edited probabilities), cone (FigureWidget of cone_grid), summary (HTML), output (errors),
    model_runs (forwards: the clean capture, one per edit, one batched forward per press of every_head), bar_ids
    (the bars' token ids), clean_probs and edited_probs ([d_vocab] at the last position), head_effects ([layer,
    head], NaN until computed), change ([n_layers + 1, pos] from causal_cone).

    The grid is filled when the widget is built; a new prompt only runs the clean capture and the edit, because
    removing every head in turn costs n_layers * n_heads rows of the prompt (35 x 64 tokens: about 0.3 s on tiny).
    """

    def __init__(self, lm, prompt: str, layer: int = 0, head: int = 0, top_k: int = 8):
        self.lm, self.top_k, self.model_runs, self._quiet = lm, top_k, 0, False
        self.prompt = widgets.Text(value=prompt, description="Prompt:", continuous_update=False,
                                   layout=widgets.Layout(width="620px"))
        self.layer = widgets.IntSlider(value=layer, min=0, max=lm.n_layers - 1, description="Layer:")
        self.head = widgets.IntSlider(value=head, min=0, max=lm.n_heads - 1, description="Head:")
        self.position = widgets.Dropdown(description="At:", layout=widgets.Layout(width="300px"))
        self.every_head = widgets.Button(description="Remove every head in turn", button_style="info",
                                         layout=widgets.Layout(width="260px"),
                                         tooltip="fill the grid: one batched forward, a row per head")
        self.summary, self.output = widgets.HTML(), widgets.Output()
        self._capture_clean(prompt)
        self._sweep_heads()
        self._edit()
        self.heads = FigureWidget(self._heads_figure())
        self.bars = FigureWidget(probability_comparison(*self._bar_data(), title=self._bars_title()))
        self.cone = FigureWidget(cone_grid(**self._cone_data(), threshold=CONE_THRESHOLD,
                                              title="Logit lens of the edited run; boxed cells changed"))
        self.heads.data[0].on_click(self._clicked)
        self.prompt.observe(lambda _: run_safely(self.output, self._new_prompt), names="value")
        self.every_head.on_click(lambda _: run_safely(self.output, self._show_heads))
        for control in (self.layer, self.head, self.position):
            control.observe(lambda _: run_safely(self.output, self._show_edit), names="value")
        super().__init__([self.prompt, widgets.HBox([self.layer, self.head, self.position]), self.summary,
                          self.output, self.every_head, self.heads, self.bars, self.cone])

    def _names(self) -> list[str]:
        return [*residual_stream_names(self.lm.n_layers), *every_layer("blocks.{L}.hook_resid_pre", self.lm.n_layers),
                "hook_logits"]

    def _capture_clean(self, text: str) -> None:
        ids = prompt_ids(self.lm, text, MAX_TOKENS)  # [1, pos]
        _, clean = self.lm.run_with_cache(ids, names=self._names())
        self.model_runs += 1
        self.ids, self.clean = ids, clean
        self.tokens = [readable_token(t) for t in self.lm.to_str_tokens(ids)]
        self.clean_probs = clean["hook_logits"][0, -1].float().softmax(-1)  # [d_vocab]
        self.answer = int(self.clean_probs.argmax())
        self.head_effects = np.full((self.lm.n_layers, self.lm.n_heads), np.nan)  # until _sweep_heads
        self._quiet = True  # a new prompt's menu starts at EVERY: not an edit to run
        try:
            self.position.options = [("every position", EVERY)] + [(f"{p}: {t}", p) for p, t in enumerate(self.tokens)]
            self.position.value = EVERY
        finally:
            self._quiet = False

    def _sweep_heads(self) -> None:
        """Every head removed in turn, one batched forward: the change in log p(answer) per head."""
        swept = interventions.head_ablation_sweep(self.lm, self.ids)  # [layer, head, d_vocab]
        self.model_runs += 1
        self.head_effects = (swept.float().log_softmax(-1)[..., self.answer]
                             - self.clean_probs.log()[self.answer]).numpy()  # [layer, head]

    def _show_heads(self) -> None:
        self._sweep_heads()
        self._draw_heads()

    def _draw_heads(self) -> None:
        fresh = self._heads_figure()
        with self.heads.batch_update():
            self.heads.data[0].z = nan_to_none(self.head_effects)
            self.heads.layout.title.text = fresh.layout.title.text

    def _edit(self) -> None:
        """The one forward of an edit: the edited capture, its lens and where it differs from the clean one."""
        edit = interventions.ablation(f"blocks.{self.layer.value}.attn.hook_z", head=self.head.value,
                                      position=self.where())
        _, self.edited = self.lm.run_with_cache(self.ids, names=self._names(), fwd_hooks=[edit])
        self.model_runs += 1
        self.edited_probs = self.edited["hook_logits"][0, -1].float().softmax(-1)
        self.lens = logit_lens(self.lm, self.edited, top_k=1)
        self.change = interventions.causal_cone(self.clean, self.edited).float()
        answer = readable_ids(self.lm, [self.answer])[0]
        where = "every position" if self.where() is None else f"position {self.where()} only"
        before, after = float(self.clean_probs[self.answer]), float(self.edited_probs[self.answer])
        changed = self.change > CONE_THRESHOLD
        self.summary.value = (
            f"Removed <b>layer {self.layer.value}, head {self.head.value}</b> at {where}. The clean top token "
            f"<code>{html.escape(answer)}</code>: {before:.1%} clean, <b>{after:.1%}</b> edited. The edit changed "
            f"{int(changed.sum())} of {changed.numel()} cells of the residual stream, none before row "
            f"{self.layer.value + 1} ({html.escape(self.lens.labels[self.layer.value + 1])}).")

    def where(self) -> int | None:
        """The position the head is removed at, or None for every position."""
        return None if self.position.value == EVERY else self.position.value

    def _heads_figure(self) -> go.Figure:
        answer = readable_ids(self.lm, [self.answer])[0]
        title = (f"Remove one head: change in log p({answer}); click a head" if not np.isnan(self.head_effects).all()
                 else f"Press 'Remove every head in turn' to fill this grid for log p({answer})")
        return layer_grid(np.nan_to_num(self.head_effects), [str(h) for h in range(self.lm.n_heads)], title, "head",
                          f"change in log p({answer})")

    def _bar_data(self) -> tuple[list[str], dict]:
        ids = self.bar_ids = candidates(self.clean_probs, self.edited_probs, k=self.top_k)
        return readable_ids(self.lm, ids), {"clean": self.clean_probs[ids].numpy(),
                                         "edited": self.edited_probs[ids].numpy()}

    def _bars_title(self) -> str:
        return f"Next token after {self.tokens[-1]!r}: clean and with L{self.layer.value}H{self.head.value} removed"

    def _cone_data(self) -> dict:
        return dict(**lens_grid(self.lens, self.tokens), change=self.change.numpy())

    def _clicked(self, trace, points, state) -> None:
        if points.xs:  # the grid's x is the head, its y the layer
            layer, head = int(points.ys[0]), int(points.xs[0])
            run_safely(self.output, lambda: self.choose(layer, head))

    def choose(self, layer: int, head: int) -> None:
        """Select a head as a click on the grid does: both sliders move, and the model runs once."""
        self._quiet = True  # the sliders' own callbacks would run the edit once per slider
        try:
            self.layer.value, self.head.value = layer, head
        finally:
            self._quiet = False
        self._show_edit()

    def _show_edit(self) -> None:
        if self._quiet:
            return
        self._edit()
        self._draw()

    def _draw(self) -> None:
        labels, series = self._bar_data()
        with self.bars.batch_update():
            update_bars(self.bars, token_labels(labels), list(series.values()))
            self.bars.layout.title.text = self._bars_title()
        data = self._cone_data()
        xs, ys, values = cone_cells(data["change"], CONE_THRESHOLD)
        with self.cone.batch_update():
            self.cone.data[0].update(z=data["probs"], text=np.array([token_labels(r) for r in data["top_tokens"]],
                                                                    dtype=object))
            self.cone.data[1].update(x=xs, y=ys, customdata=values)

    def _new_prompt(self) -> None:
        self._capture_clean(self.prompt.value)
        self._edit()
        fresh_cone = cone_grid(**self._cone_data(), threshold=CONE_THRESHOLD)
        self._draw_heads()
        with self.cone.batch_update():  # new tokens: cells, labels, hover text and size change
            for old, new in zip(self.cone.data, fresh_cone.data, strict=True):
                old.update(new.to_plotly_json())
            self.cone.layout.xaxis.update(tickvals=fresh_cone.layout.xaxis.tickvals,
                                          ticktext=fresh_cone.layout.xaxis.ticktext)
            self.cone.layout.update(width=fresh_cone.layout.width)
        self._draw()
