"""Tests for the intervention widgets (notebook 12) on the shipped tiny model: the edited bars equal an independent
edited run, the boxed cells are exactly where the residual stream changed, the head grid equals removing each head
alone, the patching grid equals one patch by hand, controls that only index never re-run the model, and bad input
(an empty prompt, prompts of different lengths, a two-token answer) shows up in the widget's output area."""

import numpy as np
import pytest
import torch

from llmviz.names import residual_stream_names
from llmviz.stages import interventions
from llmviz.stages.attribution import attribution_names, direct_logit_attribution
from llmviz.viz.widgets.interventions import EVERY, AblationExplorer
from llmviz.viz.widgets.patching import (
    PatchingExplorer,
    attribution_by_layer,
    patching_flips,
    sweep_with_progress,
    top_heads,
)
from llmviz.viz.widgets.steering import SteeringExplorer

PROMPT = "Tom and Lily went to the park. Lily gave the ball to"


def test_ablation_bars_show_an_independent_edited_run(tiny_lm):
    w = AblationExplorer(tiny_lm, PROMPT, layer=3, head=5)
    for layer, head, position in [(0, 0, None), (2, 1, 4), (4, 6, None)]:
        runs, moved = w.model_runs, w.where() != position
        w.position.value = EVERY if position is None else position
        w.choose(layer, head)
        # by hand: zero the head's slice of z, nothing else
        def zero(z, hook, head=head, position=position):
            z[:, slice(None) if position is None else position, head] = 0
            return z
        edited = tiny_lm.run_with_hooks(PROMPT, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", zero)])[0, -1].softmax(-1)
        clean = tiny_lm.run_with_hooks(PROMPT)[0, -1].softmax(-1)
        torch.testing.assert_close(torch.tensor(w.bars.data[1].y), edited[w.bar_ids], atol=1e-5, rtol=0)
        torch.testing.assert_close(torch.tensor(w.bars.data[0].y), clean[w.bar_ids], atol=1e-5, rtol=0)
        assert w.model_runs == runs + 1 + moved  # one forward per edit: the dropdown's, then the click's
    assert not w.output.outputs


def test_boxed_cells_are_where_the_stream_changed(tiny_lm):
    w = AblationExplorer(tiny_lm, PROMPT, layer=2, head=1)
    w.position.value = 6
    _, clean = tiny_lm.run_with_cache(PROMPT, names=residual_stream_names(tiny_lm.n_layers))
    _, edited = tiny_lm.run_with_cache(PROMPT, names=residual_stream_names(tiny_lm.n_layers),
                                       fwd_hooks=[interventions.ablation("blocks.2.attn.hook_z", head=1, position=6)])
    names = residual_stream_names(tiny_lm.n_layers)  # embed, then after each block: the lens rows
    change = torch.stack([(edited[n][0] - clean[n][0]).norm(dim=-1) for n in names])  # [n_layers + 1, pos]
    boxed = set(zip(w.cone.data[1].y, w.cone.data[1].x, strict=True))
    assert boxed == {(int(r), int(c)) for r, c in (change > 1e-3).nonzero()}
    assert min(r for r, _ in boxed) == 3 and min(c for _, c in boxed) == 6  # after block 2, at position 6 and later
    assert boxed >= {(3, 6), (5, 6), (5, 12)} and (3, 7) not in boxed  # block 2 changes position 6 alone; later
    # blocks attend to it, so the change spreads right as it goes up


def test_a_click_on_the_grid_removes_that_head_with_one_forward(tiny_lm):
    from plotly.callbacks import Points

    w = AblationExplorer(tiny_lm, PROMPT)
    runs = w.model_runs
    w.heads.data[0]._dispatch_on_click(Points(point_inds=[[3, 5]], xs=[5], ys=[3], trace_name="", trace_index=0),
                                       None)
    assert (w.layer.value, w.head.value) == (3, 5) and w.model_runs == runs + 1 and not w.output.outputs
    assert "layer 3, head 5" in w.summary.value


def test_head_grid_equals_removing_each_head_alone(tiny_lm):
    w = AblationExplorer(tiny_lm, PROMPT)
    clean = tiny_lm.run_with_hooks(PROMPT)[0, -1].log_softmax(-1)
    answer = int(clean.argmax())
    for layer, head in [(0, 0), (3, 5), (4, 2)]:
        alone = tiny_lm.run_with_hooks(PROMPT, fwd_hooks=[interventions.ablate_head(layer, head)])[0, -1]
        expected = float(alone.log_softmax(-1)[answer] - clean[answer])
        assert w.heads.data[0].z[layer][head] == pytest.approx(expected, abs=1e-4)
    assert np.argmin(np.array(w.heads.data[0].z)) == 0  # L0H0 hurts ' Lily' most on this prompt


def test_ablation_new_prompt_and_errors(tiny_lm):
    w = AblationExplorer(tiny_lm, PROMPT)
    w.prompt.value = "The cat sat on the mat"
    assert w.position.label == "every position"  # the menu shows its choice, never an empty box
    assert not w.output.outputs and len(w.position.options) == 1 + len(tiny_lm.to_str_tokens("The cat sat on the mat"))
    assert len(w.cone.data[0].x) == len(w.position.options) - 1
    assert all(v is None for row in w.heads.data[0].z for v in row)  # the grid waits for its button
    runs = w.model_runs
    w.every_head.click()
    alone = tiny_lm.run_with_hooks("The cat sat on the mat", fwd_hooks=[interventions.ablate_head(1, 2)])[0, -1]
    clean = tiny_lm.run_with_hooks("The cat sat on the mat")[0, -1].log_softmax(-1)
    expected = float(alone.log_softmax(-1)[clean.argmax()] - clean.max())
    assert w.heads.data[0].z[1][2] == pytest.approx(expected, abs=1e-4) and w.model_runs == runs + 1
    shown = list(w.bars.data[1].y)
    w.prompt.value = ""
    assert "ValueError" in w.output.outputs[0]["text"] and "empty" in w.output.outputs[0]["text"]
    assert list(w.bars.data[1].y) == shown  # the last good picture stays


def test_patching_grid_equals_one_patch_by_hand(tiny_lm):
    prompt, source = "Lily gave the ball to Tom", "Lily gave the cake to Tom"
    w = PatchingExplorer(tiny_lm, prompt, source, " and", ".")
    _, source_cache = tiny_lm.run_with_cache(source)
    a, b = (int(tiny_lm.to_tokens(t)[0, 0]) for t in (" and", "."))
    for layer, pos in [(0, 3), (2, 3), (4, 5), (1, 0)]:
        edit = interventions.patch(f"blocks.{layer}.hook_resid_pre", source_cache, positions=pos)
        logits = tiny_lm.run_with_hooks(prompt, fwd_hooks=[edit])[0, -1]
        assert w.grid.data[0].z[layer][pos] == pytest.approx(float(logits[a] - logits[b]), abs=1e-4)
    runs = w.sweeps
    w.layer.value, w.position.value = 2, 3
    patched = tiny_lm.run_with_hooks(prompt, fwd_hooks=[interventions.patch("blocks.2.hook_resid_pre", source_cache,
                                                                            positions=3)])[0, -1].softmax(-1)
    torch.testing.assert_close(torch.tensor(w.bars.data[1].y), patched[w.bar_ids], atol=1e-5, rtol=0)
    assert w.sweeps == runs == 1 and not w.output.outputs  # the sliders only index the sweep


def test_sweep_with_progress_equals_the_library_sweep_and_fills_the_bar(tiny_lm):
    import ipywidgets as widgets

    prompt, source = "The cat sat on the mat", "The dog sat on the mat"
    bar = widgets.IntProgress()
    ours = sweep_with_progress(tiny_lm, prompt, source, positions_per_forward=2, progress=bar)
    _, source_cache = tiny_lm.run_with_cache(source)
    torch.testing.assert_close(ours, interventions.patching_sweep(tiny_lm, prompt, source_cache), atol=1e-4, rtol=0)
    assert bar.value == bar.max == tiny_lm.n_layers * len(tiny_lm.to_str_tokens(prompt))


def test_patching_errors_show_in_the_widget(tiny_lm):
    w = PatchingExplorer(tiny_lm, "The cat sat on the mat", "The dog sat on the mat", ".", " and")
    grid = [list(row) for row in w.grid.data[0].z]
    w.source.value = "The big dog sat on the mat"
    w.run.click()
    text = w.output.outputs[0]["text"]
    assert "ValueError" in text and "same number of tokens" in text and "6" in text and "7" in text
    w.source.value, w.answer.value = "The dog sat on the mat", " elephant-shaped"
    w.run.click()
    assert "tokens" in w.output.outputs[0]["text"] and "one token" in w.output.outputs[0]["text"]
    w.answer.value, w.prompt.value, w.source.value = ".", "", ""
    w.run.click()
    assert "empty" in w.output.outputs[0]["text"]
    assert [list(row) for row in w.grid.data[0].z] == grid and w.sweeps == 1


def test_steering_adds_the_difference_of_two_streams(tiny_lm):
    w = SteeringExplorer(tiny_lm, "Once upon a time", "happy", "sad", layer=2, scale=0.0, max_new_tokens=6)
    name = "blocks.2.hook_resid_pre"
    ends = [tiny_lm.run_with_cache(t, names=[name])[1][name][0, -1] for t in ("happy", "sad")]
    torch.testing.assert_close(w.vector, ends[0] - ends[1])
    assert w.steered.text == w.plain.text
    runs = w.model_runs
    w.scale.value = 4.0
    by_hand = tiny_lm.generate("Once upon a time", max_new_tokens=6, temperature=0, capture=None,
                               fwd_hooks=[interventions.steer(2, ends[0] - ends[1], 4.0)])
    assert w.steered.text == by_hand.text and w.model_runs == runs + 1
    first = by_hand.steps[0].sample.logits.softmax(-1)
    torch.testing.assert_close(torch.tensor(w.bars.data[1].y), first[w.bar_ids], atol=1e-5, rtol=0)
    assert "strength +4" in w.text.value
    w.positive.value = ""
    assert "empty" in w.output.outputs[0]["text"]


def test_attribution_summaries_add_up(tiny_lm):
    _, cache = tiny_lm.run_with_cache(PROMPT, names=attribution_names(tiny_lm))
    dla = direct_logit_attribution(tiny_lm, cache, " Lily", versus=" Tom")
    labels, values = attribution_by_layer(dla)
    assert len(labels) == 2 * tiny_lm.n_layers + 2 and labels[1:3] == ["L0 attn", "L0 MLP"]
    assert values.sum() == pytest.approx(float(dla.logit[0, -1]), abs=1e-4)
    assert values[1 + 2 * 3] == pytest.approx(float(dla.heads[3, :, 0, -1].sum()))
    names, parts = top_heads(dla, k=5)
    assert list(np.abs(parts)) == sorted(np.abs(parts), reverse=True)
    layer, head = (int(x) for x in names[0][1:].split("H"))
    assert parts[0] == pytest.approx(float(dla.heads[layer, head, 0, -1]))


def test_patching_flips_names_the_cells():
    difference = np.array([[1.0, -2.0, 1.0], [1.0, -1.0, 1.0], [1.0, 3.0, -1.0]])  # [layer, pos]
    assert patching_flips(difference, ["a", "b", "c"]) == "b (position 1) in layers 0–1; c (position 2) in layers 2"
    assert patching_flips(np.ones((2, 2)), ["a", "b"]) == "in no cell"
