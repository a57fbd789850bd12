"""Tests for the feed-forward widgets (notebook 05) on the shipped tiny model: the bars equal the captured neuron
activations, sliders only index them, a new prompt re-runs the model, the checkpoint counts firing neurons, and
errors appear in the widget's output area."""

import pytest
import torch

from llmviz.viz.style import ORANGE
from llmviz.viz.widgets.feed_forward import (
    MAX_TOKENS,
    TOP,
    NeuronExplorer,
    capture_neurons,
    firing_answer,
    firing_checkpoint,
    neuron_figure,
)
from tests.conftest import STORY_PROMPT as PROMPT


def bars(figure, trace: int) -> torch.Tensor:
    return torch.tensor(figure.data[trace].y, dtype=torch.float32)


def test_sliders_show_the_captured_activations_without_running_the_model(tiny_lm, story_cache):
    w = NeuronExplorer(tiny_lm, PROMPT)
    last_post = story_cache["post", 0][0, -1]
    assert w.neuron.value == int(last_post.argmax()) and w.position.value == len(w.tokens) - 1
    for layer, position, neuron in [(tiny_lm.n_layers - 1, 2, 100), (1, 0, 5), (2, 7, tiny_lm.d_mlp - 1)]:
        w.layer.value, w.position.value, w.neuron.value = layer, position, neuron
        post = story_cache["post", layer][0]  # [pos, d_mlp]
        torch.testing.assert_close(bars(w.figure, 0), post[:, neuron])
        top = post[position].topk(TOP)  # the right panel: the token's strongest neurons, largest first
        torch.testing.assert_close(bars(w.figure, 1), top.values)
        assert list(w.figure.data[1].customdata) == top.indices.tolist()
        assert list(w.figure.layout.xaxis2.ticktext) == [str(i) for i in top.indices.tolist()]
        assert w.figure.layout.annotations[1].text.endswith(tiny_lm.to_str_tokens(PROMPT)[position])
        assert f"Layer {layer}" in w.figure.layout.title.text
        assert f"Neuron {neuron}" in w.figure.layout.annotations[0].text
        colors = w.figure.data[0].marker.color  # the chosen token stands out
        assert [i for i, c in enumerate(colors) if c == ORANGE] == [position]
    assert w.model_runs == 1 and not w.output.outputs


def test_new_prompt_reruns_and_errors_show_in_the_output(tiny_lm):
    w = NeuronExplorer(tiny_lm, PROMPT)
    w.position.value = 3
    w.prompt.value = "The dog ran"
    n = len(tiny_lm.to_str_tokens("The dog ran"))
    assert w.model_runs == 2 and len(w.figure.data[0].y) == n
    assert list(w.figure.layout.xaxis.ticktext) == tiny_lm.to_str_tokens("The dog ran")
    assert w.position.max == n - 1 and w.position.value == n - 1
    assert w.figure.layout.xaxis.ticktext == tuple(tiny_lm.to_str_tokens("The dog ran"))
    w.prompt.value = ""
    assert "ValueError" in w.output.outputs[0]["text"] and len(w.figure.data[0].y) == n
    w.prompt.value = "The cat"  # a good prompt clears the error
    assert not w.output.outputs and w.model_runs == 3


def test_long_prompts_and_bad_indices_are_refused(tiny_lm):
    with pytest.raises(ValueError, match="at most"):
        capture_neurons(tiny_lm, [1] * (MAX_TOKENS + 1))
    tokens, acts = capture_neurons(tiny_lm, "The cat")
    with pytest.raises(ValueError, match="neuron in"):
        neuron_figure(acts, tokens, 0, 0, tiny_lm.d_mlp)


def test_checkpoint_counts_the_positive_neurons(tiny_lm, story_cache):
    post = story_cache["post", tiny_lm.n_layers - 1][0, -1]
    n_on = int((post > 0).sum())
    tokens = tiny_lm.to_str_tokens(PROMPT)
    c = firing_checkpoint(tiny_lm, story_cache, tokens, layer=tiny_lm.n_layers - 1)
    c.guess.value = "50%"
    text = c.reveal()
    assert f"{n_on} of {tiny_lm.d_mlp} neurons" in text and f"neuron {int(post.argmax())}" in text
    assert f"off by {abs(50 - 100 * n_on / tiny_lm.d_mlp):.1f}" in text
    # 0.5 and 50% are the same guess; a non-number is simply not compared
    acts = story_cache["post", 0][0]
    assert firing_answer(acts, 0, -1, "0.5") == firing_answer(acts, 0, -1, "50%")
    assert "off by" not in firing_answer(acts, 0, -1, "many")
    with pytest.raises(ValueError, match="layer must be"):
        firing_checkpoint(tiny_lm, story_cache, tokens, layer=tiny_lm.n_layers)
