""""dog bites man" vs "man bites dog": without positions layer 0 sees the same bag; with them it does not."""

from __future__ import annotations

import pytest
import torch

from llmviz.stages.word_order import word_order


def check(result, n_layers):
    off, on = result.without_positions, result.with_positions
    assert result.original == " dog bites man." and result.permuted == " man bites dog."
    # the permuted sentence's tokens are the original's, reordered; the final '.' stays last
    assert off.permuted.ids == [off.original.ids[i] for i in result.token_order]
    assert result.token_order[-1] == len(off.original.ids) - 1
    # Without positions: keys and values are merely permuted, and the last query (which sees every token) gets
    # the same attention output, up to float summation order.
    assert off.keys_max_diff < 1e-5 and off.values_max_diff < 1e-5
    assert off.last_attention_max_diff < 1e-5
    assert off.last_residual_max_diff[0] < 1e-5 and off.last_residual_max_diff[1] < 1e-5
    # With positions the same comparison differs, by orders of magnitude more.
    assert on.keys_max_diff > 1e-3
    assert on.last_attention_max_diff > max(1e-5, 100 * off.last_attention_max_diff)
    assert len(on.last_residual_max_diff) == n_layers + 1
    # Earlier positions see different prefixes, so their outputs are NOT a permutation even without positions.
    first = (off.permuted.attention_out[0] - off.original.attention_out[result.token_order[0]]).abs().max()
    assert first > 1e-4


def test_word_order_on_a_random_gpt2(random_gpt2_lm):
    check(word_order(random_gpt2_lm), random_gpt2_lm.n_layers)


def test_word_order_on_a_random_llama(random_llama_lm):
    """RoPE: positions removed by rotating by angle 0; values are never rotated, so they are permuted either way."""
    result = word_order(random_llama_lm)
    check(result, random_llama_lm.n_layers)
    assert result.with_positions.values_max_diff < 1e-5
    assert result.with_positions.original.keys.shape == (4, random_llama_lm.n_kv_heads * random_llama_lm.d_head)


def test_rope_keys_are_the_models_own(random_llama_lm):
    """Our rotated keys equal k computed by HF's own apply_rotary_pos_emb at positions 0..pos-1."""
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    result = word_order(random_llama_lm)
    run = result.with_positions.original
    body = random_llama_lm.model.model
    ids = torch.tensor([run.ids])
    with torch.no_grad():
        x = body.layers[0].input_layernorm(body.embed_tokens(ids))
        k = body.layers[0].self_attn.k_proj(x).unflatten(-1, (random_llama_lm.n_kv_heads, -1)).transpose(1, 2)
        cos, sin = body.rotary_emb(x, torch.arange(ids.shape[1])[None])
        _, rotated = apply_rotary_pos_emb(k, k, cos, sin)
    assert torch.allclose(run.keys, rotated[0].transpose(0, 1).flatten(1), atol=1e-6)


def test_word_order_leaves_the_model_unchanged(random_gpt2_lm):
    wpe = random_gpt2_lm.model.transformer.wpe
    before = wpe.weight.clone()
    word_order(random_gpt2_lm)
    assert torch.equal(wpe.weight, before) and not wpe._forward_hooks
    assert not random_gpt2_lm.model.transformer.h[0].attn._forward_hooks
    assert not any(m._forward_hooks for m in random_gpt2_lm.model.modules())


def test_word_order_on_the_shipped_model(tiny_lm):
    result = word_order(tiny_lm)
    check(result, tiny_lm.n_layers)
    # the causal mask leaks order from layer 1 on, even without positions
    assert max(result.without_positions.last_residual_max_diff[2:]) > 1e-4


def test_word_order_rejects_bad_input(random_gpt2_lm):
    with pytest.raises(ValueError, match="permutation"):
        word_order(random_gpt2_lm, order=(0, 0, 1))
    with pytest.raises(ValueError, match="final"):
        word_order(random_gpt2_lm, final="")


@pytest.mark.slow
def test_word_order_on_smollm2(smollm2_lm):
    result = word_order(smollm2_lm)
    check(result, smollm2_lm.n_layers)
    assert result.with_positions.values_max_diff < 1e-4
