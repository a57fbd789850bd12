"""Tests for the depth widgets (notebook 06): the norm statistics equal a recomputation from the residual stream and
the norm module itself, the lens explorer's bars equal an independent logit lens, sliders never re-run the model,
and errors appear in the widget's output area."""

import html

import pytest
import torch

from llmviz.stages.lens import logit_lens
from llmviz.viz.widgets.residuals import (
    MAX_TOKENS,
    LensExplorer,
    first_layer_with_final_answer,
    layer_norm_before_after,
    lens_checkpoint,
)
from tests.conftest import STORY_PROMPT as PROMPT


@pytest.mark.parametrize(("norm", "source", "module"), [("ln1", "resid_pre", "ln_1"), ("ln2", "resid_mid", "ln_2")])
def test_layer_norm_stats_match_the_norm_module(tiny_lm, story_cache, norm, source, module):
    layer = 1
    stats = layer_norm_before_after(story_cache, layer, norm)
    x = story_cache[source, layer][0]
    ln = getattr(tiny_lm.model.transformer.h[layer], module)
    with torch.no_grad():  # the real LayerNorm with gain 1 and bias 0: only its normalising step
        plain = torch.nn.functional.layer_norm(x, (tiny_lm.d_model,), eps=ln.eps)
    torch.testing.assert_close(torch.tensor(stats["before_mean"]), x.mean(-1))
    torch.testing.assert_close(torch.tensor(stats["before_var"]), ((x - x.mean(-1, keepdim=True)) ** 2).mean(-1))
    torch.testing.assert_close(torch.tensor(stats["after_mean"]), plain.mean(-1), atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.tensor(stats["after_var"]), plain.var(-1, unbiased=False))
    assert (abs(stats["after_var"] - 1) < 1e-3).all()


def test_rms_norm_stats_on_a_llama(random_llama_lm):
    lm = random_llama_lm
    _, cache = lm.run_with_cache("The cat sat on the mat")
    stats = layer_norm_before_after(cache, 0, "ln1", subtract_mean=False)
    x = cache["resid_pre", 0][0]
    norm = lm.model.model.layers[0].input_layernorm
    rms = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon)  # [pos, d_model]
    torch.testing.assert_close(torch.tensor(stats["after_mean"]), rms.mean(-1))
    torch.testing.assert_close(torch.tensor(stats["after_var"]), rms.var(-1, unbiased=False))


def test_layer_norm_stats_reject_bad_arguments(story_cache):
    with pytest.raises(ValueError, match="norm must be one of"):
        layer_norm_before_after(story_cache, 0, "ln3")
    with pytest.raises(KeyError, match="blocks.9"):
        layer_norm_before_after(story_cache, 9)


def test_sliders_show_the_lens_without_running_the_model(tiny_lm, story_cache):
    lens = logit_lens(tiny_lm, story_cache, top_k=10)
    w = LensExplorer(tiny_lm, PROMPT)
    assert w.position.value == len(lens.final_ids) - 1 and w.layer.value == 0
    for layer, pos in [(2, 11), (tiny_lm.n_layers, 3), (0, 0)]:
        w.position.value, w.layer.value = pos, layer
        torch.testing.assert_close(torch.tensor(w.figure.data[0].y), lens.top_probs[layer, pos])
        # tick text is markup: a byte token such as '<FB>' must arrive escaped, or plotly would hide it as a tag
        shown = [html.escape(t.replace(" ", "␣"), quote=False) for t in lens.top_tokens[layer][pos]]
        assert list(w.figure.layout.xaxis.ticktext) == shown
        hits = (lens.top_ids[layer, pos] == lens.final_ids[pos]).nonzero()
        colors = w.figure.data[0].marker.color
        assert len(set(colors)) == (2 if len(hits) else 1)  # the final answer stands out when it is shown
        assert lens.labels[layer] in w.where.value
    assert w.model_runs == 1 and not w.output.outputs


def test_new_prompt_reruns_and_errors_show_in_the_output(tiny_lm):
    w = LensExplorer(tiny_lm, PROMPT)
    w.prompt.value = "The dog ran"
    n = len(tiny_lm.to_str_tokens("The dog ran"))
    assert w.model_runs == 2 and w.position.max == n - 1 and w.position.value == n - 1
    _, fresh = tiny_lm.run_with_cache("The dog ran")
    torch.testing.assert_close(torch.tensor(w.figure.data[0].y), logit_lens(tiny_lm, fresh, top_k=10).top_probs[0, -1])
    shown = list(w.figure.data[0].y)
    w.prompt.value = ""
    assert "ValueError" in w.output.outputs[0]["text"] and "empty" in w.output.outputs[0]["text"]
    assert list(w.figure.data[0].y) == shown and w.model_runs == 2
    w.prompt.value = "The cat"
    assert not w.output.outputs and w.model_runs == 3


def test_long_prompts_and_bad_top_k_are_refused(tiny_lm):
    w = LensExplorer(tiny_lm, PROMPT)
    w.prompt.value = "a " * (MAX_TOKENS + 1)
    assert "at most" in w.output.outputs[0]["text"]
    with pytest.raises(ValueError, match="top_k"):
        LensExplorer(tiny_lm, PROMPT, top_k=0)


def test_checkpoint_reveals_the_first_row_with_the_final_answer(tiny_lm, story_cache):
    lens = logit_lens(tiny_lm, story_cache)
    rows = lens.top_ids[:, -1, 0]  # [n_layers + 1], the top guess per layer at the last position
    expected = next(i for i, t in enumerate(rows.tolist()) if t == int(lens.final_ids[-1]))
    assert first_layer_with_final_answer(lens) == expected
    assert first_layer_with_final_answer(lens, 0) <= tiny_lm.n_layers
    check = lens_checkpoint(tiny_lm, lens)
    check.guess.value = str(expected)
    check.button.click()
    assert check.revealed.startswith(f"row {expected} ")
    assert f"You said: <code>{expected}</code>" in check.result.value and not check.output.outputs
