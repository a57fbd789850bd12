"""Tests for the attention widgets (notebook 04) on the shipped tiny model: figure cells equal the capture, sliders
only index it, a new prompt re-runs the model, and errors appear in the widget's output area."""

import pytest
import torch

from llmviz.viz.widgets.attention import MAX_TOKENS, AttentionExplorer, attention_guess, capture_patterns
from tests.conftest import STORY_PROMPT as PROMPT


def drawn(figure) -> torch.Tensor:
    """The heatmap's cells as a tensor, masked (None) cells as NaN."""
    return torch.tensor([[float("nan") if v is None else v for v in row] for row in figure.data[0].z])


def test_sliders_show_the_captured_pattern_without_running_the_model(tiny_lm, story_cache):
    w = AttentionExplorer(tiny_lm, PROMPT)
    for layer, head in [(0, 0), (tiny_lm.n_layers - 1, 2), (1, tiny_lm.n_heads - 1)]:
        w.layer.value, w.head.value = layer, head
        expected = story_cache["pattern", layer][0, head].tril()  # masked cells drawn empty
        shown = drawn(w.figure)
        assert torch.isnan(shown).eq(torch.ones_like(expected, dtype=torch.bool).triu(1)).all()
        torch.testing.assert_close(shown.nan_to_num(0.0), expected)
        assert f"Layer {layer}, head {head}" in w.figure.layout.title.text
    assert w.model_runs == 1 and not w.output.outputs


def test_new_prompt_reruns_and_errors_show_in_the_output(tiny_lm):
    w = AttentionExplorer(tiny_lm, PROMPT)
    w.prompt.value = "The dog ran"
    assert w.model_runs == 2 and len(w.figure.data[0].z) == 3
    tokens = tuple(tiny_lm.to_str_tokens("The dog ran"))
    assert w.figure.layout.xaxis.ticktext == w.figure.layout.yaxis.ticktext == tokens
    w.layer.value = 1  # the new prompt's patterns, not the old ones
    expected = tiny_lm.run_with_cache("The dog ran")[1]["pattern", 1][0, 0].tril()
    torch.testing.assert_close(drawn(w.figure).nan_to_num(0.0), expected)
    w.prompt.value = ""
    assert "ValueError" in w.output.outputs[0]["text"] and len(w.figure.data[0].z) == 3


def test_long_prompts_are_refused(tiny_lm):
    with pytest.raises(ValueError, match="at most"):
        capture_patterns(tiny_lm, [1] * (MAX_TOKENS + 1))


def test_guess_reveals_the_row_of_weights(tiny_lm, story_cache):
    row = story_cache["pattern", 1][0, 2, -1]  # [pos] the last token's weights, from a capture of its own
    g = attention_guess(tiny_lm, PROMPT, layer=1, head=2)
    assert "Most attention" not in g.result.value
    best = int(row.argmax())
    g.guess.value = best
    g.button.click()
    assert "Your guess is right" in g.result.value and not g.output.outputs
    assert f"(position {best})" in g.result.value
    for weight in row.tolist():  # every weight of the row is on screen, to 4 decimals
        assert f"<td>{weight:.4f}</td>" in g.result.value
    worst = int(row.argmin())
    g.guess.value = worst
    g.button.click()
    assert f"Your guess got {row[worst]:.4f}" in g.result.value
    with pytest.raises(ValueError, match="head in"):
        attention_guess(tiny_lm, PROMPT, layer=0, head=tiny_lm.n_heads)
