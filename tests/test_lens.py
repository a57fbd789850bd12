"""lens.py: the logit lens decodes each residual through the real final norm and unembedding; its last row is the
model's own prediction."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import make_random_lm

from llmviz.capture import run_with_cache
from llmviz.stages.lens import logit_lens, logit_lens_at

PROMPT = "The cat sat on the mat"


@pytest.fixture(params=["gpt2", "llama"])
def lm(request, gpt2_tokenizer):
    return make_random_lm(request.param, gpt2_tokenizer)


def test_last_layer_is_the_models_own_prediction(lm):
    logits, cache = run_with_cache(lm, PROMPT)
    lens = logit_lens(lm, cache, top_k=3, keep_log_probs=True)
    n_pos = logits.shape[1]
    assert lens.labels[0] == "embed" and len(lens.labels) == lm.n_layers + 1
    assert lens.log_probs.shape == (lm.n_layers + 1, n_pos, lm.d_vocab)
    model_log_probs = torch.log_softmax(logits[0], -1)
    torch.testing.assert_close(lens.log_probs[-1], model_log_probs, atol=1e-5, rtol=1e-5)
    top = model_log_probs.topk(3, -1)
    assert torch.equal(lens.top_ids[-1], top.indices)
    torch.testing.assert_close(lens.top_probs[-1], top.values.exp())
    assert torch.equal(lens.final_ids, logits[0].argmax(-1))
    torch.testing.assert_close(lens.final_probs[-1], top.values[:, 0].exp())


def test_middle_layers_decode_their_residual(lm):
    _, cache = run_with_cache(lm, PROMPT)
    lens = logit_lens(lm, cache, top_k=2, keep_log_probs=True)
    gpt2 = lm.architecture == "gpt2"
    norm = lm.model.transformer.ln_f if gpt2 else lm.model.model.norm
    unembed = lm.model.get_output_embeddings().weight
    for row, name in enumerate(["blocks.0.hook_resid_pre"] + [f"blocks.{L}.hook_resid_post"
                                                              for L in range(lm.n_layers)]):
        x = cache[name][0]
        normed = (F.layer_norm(x, x.shape[-1:], norm.weight, norm.bias, norm.eps) if gpt2
                  else x / (x.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon).sqrt() * norm.weight)
        expected = torch.log_softmax(normed @ unembed.T, -1)
        torch.testing.assert_close(lens.log_probs[row], expected.detach(), atol=1e-4, rtol=1e-4)
        probs = lens.final_probs[row]
        torch.testing.assert_close(probs, expected.exp().gather(-1, lens.final_ids[:, None])[:, 0].detach())
    assert lens.top_tokens[-1][0][0] == lm.to_str_tokens([int(lens.top_ids[-1, 0, 0])])[0]
    assert len(lens.top_tokens) == lm.n_layers + 1 and len(lens.top_tokens[0][0]) == 2


def test_full_log_probs_only_on_request_and_bad_input(lm):
    _, cache = run_with_cache(lm, PROMPT)
    assert logit_lens(lm, cache).log_probs is None
    with pytest.raises(ValueError, match="top_k"):
        logit_lens(lm, cache, top_k=0)
    with pytest.raises(ValueError, match="batch"):
        logit_lens(lm, cache, batch=1)
    _, narrow = run_with_cache(lm, PROMPT, names=["hook_embed"])
    with pytest.raises(KeyError, match="resid_pre"):
        logit_lens(lm, narrow)


def test_one_position_equals_that_column_of_the_full_lens(lm):
    _, cache = run_with_cache(lm, PROMPT)
    full = logit_lens(lm, cache, top_k=3)
    n_pos = full.final_ids.shape[0]
    for position in (0, n_pos - 1, -2):
        one = logit_lens_at(lm, cache, position, top_k=3)
        p = position % n_pos
        assert one.top_ids.shape == (lm.n_layers + 1, 1, 3)
        assert torch.equal(one.top_ids[:, 0], full.top_ids[:, p]) and one.final_ids.tolist() == [int(full.final_ids[p])]
        torch.testing.assert_close(one.top_probs[:, 0], full.top_probs[:, p])
        torch.testing.assert_close(one.final_probs[:, 0], full.final_probs[:, p])
        assert [layer[0] for layer in one.top_tokens] == [layer[p] for layer in full.top_tokens]
    with pytest.raises(ValueError, match="position"):
        logit_lens_at(lm, cache, n_pos)
    _, narrow = run_with_cache(lm, PROMPT, names=["hook_embed"])
    with pytest.raises(KeyError, match="resid_pre"):
        logit_lens_at(lm, narrow, 0)


def test_lens_via_lm_method(gpt2_tokenizer):
    lm = make_random_lm("gpt2", gpt2_tokenizer)
    logits, cache = lm.run_with_cache(PROMPT)
    assert torch.equal(lm.logit_lens(cache, top_k=1).top_ids[-1, :, 0], logits[0].argmax(-1))


def test_shipped_model_lens(tiny_lm):
    logits, cache = tiny_lm.run_with_cache("Once upon a time")
    lens = tiny_lm.logit_lens(cache)
    assert torch.equal(lens.final_ids, logits[0].argmax(-1).cpu())
    torch.testing.assert_close(lens.final_probs[-1], logits[0].softmax(-1).max(-1).values.cpu())
