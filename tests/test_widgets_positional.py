"""Tests for the positional-encoding widgets (notebook 03) on the shipped tiny model: the explorer's line is the
row of an independently computed table, the controls only index, a new base recomputes, and errors appear in the
widget's output area; the word-order helpers quote and draw the measured keys."""

import math

import pytest
import torch

from llmviz.stages import positional
from llmviz.stages.word_order import word_order
from llmviz.viz.widgets.positional import PositionExplorer, position_tables, word_order_checkpoint, word_order_keys


@pytest.fixture(scope="module")
def result(tiny_lm):
    return word_order(tiny_lm)


def drawn(figure) -> torch.Tensor:
    return torch.tensor([math.nan if v is None else v for v in figure.data[0].y], dtype=torch.float64)


def test_slider_shows_row_p_of_each_scheme_without_recomputing(tiny_lm):
    w = PositionExplorer(tiny_lm, n_positions=32, position=3)
    wpe = tiny_lm.model.transformer.wpe.weight.detach()[:32]  # independent: cosine similarity by hand
    unit = wpe / wpe.norm(dim=-1, keepdim=True)
    w.scheme.value, w.position.value = "learned (this model's wpe)", 17
    torch.testing.assert_close(drawn(w.figure), (unit @ unit[17]).double(), atol=1e-5, rtol=0)
    assert w.figure.data[1].x == (17,) and "position 17" in w.figure.layout.title.text
    sin = positional.sinusoidal(32, tiny_lm.d_model)
    w.scheme.value = "sinusoidal"
    torch.testing.assert_close(drawn(w.figure), sin.similarity[17].double(), atol=1e-6, rtol=0)
    assert w.computations == 1 and not w.output.outputs


def test_alibi_row_is_minus_slope_times_distance_with_future_keys_empty(tiny_lm):
    w = PositionExplorer(tiny_lm, n_positions=16, position=9)
    slope = float(positional.alibi_slopes(tiny_lm.n_heads).max())
    w.scheme.value = next(name for name in w.scheme.options if "steepest" in name)
    shown = drawn(w.figure)
    expected = torch.tensor([-slope * (9 - k) for k in range(10)], dtype=torch.float64)
    torch.testing.assert_close(shown[:10], expected)
    assert torch.isnan(shown[10:]).all() and "bias" in w.figure.layout.yaxis.title.text


def test_rope_similarity_depends_only_on_the_offset(tiny_lm):
    w = PositionExplorer(tiny_lm, n_positions=40, position=5)
    w.scheme.value = next(name for name in w.scheme.options if name.startswith("RoPE"))
    at5 = drawn(w.figure)
    w.position.value = 25
    at25 = drawn(w.figure)
    torch.testing.assert_close(at5[5:20], at25[25:40], atol=1e-5, rtol=0)  # the same curve, shifted by 20


def test_base_recomputes_and_bad_base_shows_an_error(tiny_lm):
    w = PositionExplorer(tiny_lm, n_positions=16)
    before = drawn(w.figure)
    w.base.value = 100.0
    assert w.computations == 2 and not w.output.outputs
    expected = positional.sinusoidal(16, tiny_lm.d_model, 100.0).similarity[10].double()
    torch.testing.assert_close(drawn(w.figure), expected, atol=1e-6, rtol=0)
    assert not torch.allclose(before, drawn(w.figure))
    w.base.value = 1.0
    assert "ValueError" in w.output.outputs[0]["text"] and "greater than 1" in w.output.outputs[0]["text"]
    assert w.computations == 2


def test_bad_arguments_are_refused(tiny_lm):
    with pytest.raises(ValueError, match="position"):
        PositionExplorer(tiny_lm, n_positions=8, position=8)
    with pytest.raises(ValueError, match="n_ctx"):
        position_tables(tiny_lm, tiny_lm.n_ctx + 1, 10000.0)


def test_word_order_keys_are_identical_only_without_positions(result):
    without, with_ = word_order_keys(result, positions=False), word_order_keys(result, positions=True)
    assert torch.equal(torch.tensor(without.data[0].z), torch.tensor(without.data[1].z))
    assert not torch.allclose(torch.tensor(with_.data[0].z), torch.tensor(with_.data[1].z))
    torch.testing.assert_close(torch.tensor(with_.data[0].z).float(), result.with_positions.permuted.keys)


def test_checkpoint_reveals_the_measured_differences(result):
    checkpoint = word_order_checkpoint(result)
    checkpoint.guess.value = "different"
    text = checkpoint.reveal()
    assert text.startswith("Not quite") and f"{result.with_positions.last_attention_max_diff:.3g}" in text
    checkpoint.guess.value = "same"
    assert checkpoint.reveal().startswith("Right")
