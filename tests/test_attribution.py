"""stages/attribution.py: the parts of direct logit attribution sum to the model's own logit (and logit difference)
within 1e-4 on random GPT-2 (with random biases, so every bias term is live), random Llama with grouped-query attention
and the shipped model; each head's result is what a copy of the model with only that head's output columns computes;
one part is checked against a recomputation through the real final norm with its divisor frozen."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import make_random_lm

from llmviz.stages.attribution import attribution_names, direct_logit_attribution, stack_head_results

PROMPT = "The cat sat on the mat because it was warm"


def _random_biases(lm):
    """GPT-2 initialises its biases to zero; make them random so the bias term is tested, not just zero."""
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, parameter in lm.model.named_parameters():
            if name.endswith("bias"):
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    return lm


@pytest.fixture(params=["gpt2", "llama"])
def lm(request, gpt2_tokenizer):
    return _random_biases(make_random_lm(request.param, gpt2_tokenizer))


def _check_sums(lm, text, atol=1e-4):
    logits, cache = lm.run_with_cache(text, names=attribution_names(lm))
    target, other = int(logits[0, -1].argmax()), int(logits[0, -1].argmin())
    single = direct_logit_attribution(lm, cache, target)
    difference = direct_logit_attribution(lm, cache, target, versus=other)
    errors = [(single.total - logits[..., target]).abs().max(),
              (difference.total - (logits[..., target] - logits[..., other])).abs().max()]
    assert max(errors) < atol, errors
    assert torch.equal(single.logit, logits[..., target].double())
    labels, parts = single.components()
    assert len(labels) == parts.shape[0] == 1 + lm.n_layers * (lm.n_heads + 1) + 1
    torch.testing.assert_close(parts.sum(0), single.total)
    return single, errors


def test_parts_sum_to_the_logit_and_the_logit_difference(lm):
    single, _ = _check_sums(lm, PROMPT)
    if lm.architecture == "gpt2":
        assert single.biases.abs().max() > 1e-2  # random biases make this term real
    else:
        assert torch.all(single.biases == 0)  # Llama has none
    assert single.heads.shape == (lm.n_layers, lm.n_heads, 1, lm.to_tokens(PROMPT).shape[1])


def test_parts_sum_to_the_logit_on_the_shipped_model(tiny_lm):
    _check_sums(tiny_lm, "Once upon a time there was a little dog")


def test_head_results_equal_a_model_that_keeps_only_that_head(lm):
    ids = lm.to_tokens(PROMPT)
    _, cache = lm.run_with_cache(ids)
    results = stack_head_results(lm, cache)  # [layer, head, batch, pos, d_model]
    assert results.shape == (lm.n_layers, lm.n_heads, 1, ids.shape[1], lm.d_model)
    gpt2 = lm.architecture == "gpt2"
    for layer in range(lm.n_layers):
        for head in range(lm.n_heads):
            model = copy.deepcopy(lm.model)
            block = model.transformer.h[layer].attn if gpt2 else model.model.layers[layer].self_attn
            projection = block.c_proj if gpt2 else block.o_proj
            keep = torch.zeros(lm.n_heads * lm.d_head, dtype=torch.bool)
            keep[head * lm.d_head:(head + 1) * lm.d_head] = True
            with torch.no_grad():
                if gpt2:
                    projection.weight[~keep, :] = 0
                else:
                    projection.weight[:, ~keep] = 0
                if projection.bias is not None:
                    projection.bias.zero_()
            seen = {}

            def remember(module, args, out, seen=seen):
                seen["out"] = out[0]
            handle = block.register_forward_hook(remember)
            with torch.no_grad():
                model(ids)
            handle.remove()
            torch.testing.assert_close(results[layer, head], seen["out"], atol=1e-6, rtol=1e-5)


def test_one_head_through_the_frozen_final_norm(lm):
    """One head's part recomputed by hand: centred (LayerNorm), divided by the run's own divisor, scaled by the norm's
    weight, dotted with the unembedding row; that divisor, applied to the whole residual, gives the norm's output."""
    logits, cache = lm.run_with_cache(PROMPT)
    target = int(logits[0, -1].argmax())
    attribution = direct_logit_attribution(lm, cache, target)
    part = stack_head_results(lm, cache)[1, 2].double()  # [batch, pos, d_model]
    final = lm.model.transformer.ln_f if lm.architecture == "gpt2" else lm.model.model.norm
    if lm.architecture == "gpt2":
        part = part - part.mean(-1, keepdim=True)
    scale = cache["ln_final.hook_scale"].double()
    unembed = lm.model.lm_head.weight[target].double()
    expected = (part / scale * final.weight.double()) @ unembed
    torch.testing.assert_close(attribution.heads[1, 2], expected)
    # the frozen divisor is the real one: the whole residual through it is the norm's output
    resid = cache["resid_post", -1].double()
    centred = resid - resid.mean(-1, keepdim=True) if lm.architecture == "gpt2" else resid
    torch.testing.assert_close(centred / scale * final.weight.double() + (final.bias.double() if lm.architecture ==
                               "gpt2" else 0), cache["ln_final.hook_normalized"].double(), atol=1e-5, rtol=1e-5)


def test_missing_names_and_bad_tokens_are_clear_errors(lm):
    _, cache = lm.run_with_cache(PROMPT, names=["hook_embed"])
    with pytest.raises(KeyError, match="attribution_names"):
        direct_logit_attribution(lm, cache, 0)
    _, cache = lm.run_with_cache(PROMPT, names=attribution_names(lm))
    with pytest.raises(ValueError, match="2 tokens"):
        direct_logit_attribution(lm, cache, " cat sat")
    direct_logit_attribution(lm, cache, " cat", versus=" dog")
    with pytest.raises(ValueError, match="token must be an id"):
        direct_logit_attribution(lm, cache, lm.d_vocab)
