"""Positional encodings against textbook formulas, Hugging Face's RoPE and BLOOM's ALiBi, and their identities."""

from __future__ import annotations

import math

import pytest
import torch

from llmviz.stages.positional import (
    alibi,
    alibi_slopes,
    apply_rope,
    cosine_similarity_matrix,
    learned,
    rope,
    rope_of,
    rotate_half,
    sinusoidal,
)


def test_sinusoidal_matches_the_paper_formula():
    n, d = 50, 16
    encoding = sinusoidal(n, d)
    assert encoding.values.shape == (n, d) and encoding.similarity.shape == (n, n)
    for pos in (0, 1, 7, 49):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            assert encoding.values[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert encoding.values[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_dot_product_depends_only_on_offset():
    values = sinusoidal(64, 32).values.double()
    dots = values @ values.T  # = sum_i cos(w_i (m - n))
    for offset in (0, 1, 5, 20):
        diagonal = torch.diagonal(dots, offset)
        assert torch.allclose(diagonal, diagonal[0].expand_as(diagonal), atol=1e-5)
    assert torch.allclose(torch.diagonal(dots), torch.full((64,), 16.0, dtype=torch.float64), atol=1e-5)


def test_cosine_similarity_matrix_against_torch():
    x = torch.randn(6, 5)
    expected = torch.nn.functional.cosine_similarity(x[:, None], x[None, :], dim=-1)
    assert torch.allclose(cosine_similarity_matrix(x), expected, atol=1e-6)
    with pytest.raises(ValueError, match="pos, d"):
        cosine_similarity_matrix(torch.randn(2, 3, 4))


def test_learned_is_the_models_own_wpe(random_gpt2_lm, random_llama_lm):
    encoding = learned(random_gpt2_lm)
    wpe = random_gpt2_lm.model.transformer.wpe.weight
    assert torch.equal(encoding.values, wpe.detach())
    assert encoding.values.data_ptr() != wpe.data_ptr()  # a copy: the figure cannot change the model
    assert torch.allclose(torch.diagonal(encoding.similarity), torch.ones(wpe.shape[0]), atol=1e-5)
    with pytest.raises(ValueError, match="rope"):
        learned(random_llama_lm)


def test_learned_on_the_shipped_model(tiny_lm):
    encoding = learned(tiny_lm)
    assert encoding.values.shape == (tiny_lm.n_ctx, tiny_lm.d_model)
    assert torch.equal(encoding.values, tiny_lm.model.transformer.wpe.weight.detach().float())


@pytest.mark.parametrize("base", [10000.0, 100000.0])
def test_rope_matches_hugging_face_llama(base):
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb
    from transformers.models.llama.modeling_llama import rotate_half as hf_rotate_half

    n, heads, d_head = 12, 2, 8
    config = LlamaConfig(hidden_size=heads * d_head, num_attention_heads=heads, rope_theta=base,
                         max_position_embeddings=n)
    cos, sin = LlamaRotaryEmbedding(config)(torch.zeros(1, n, d_head), torch.arange(n)[None])
    ours = rope(n, d_head, base)
    assert torch.allclose(ours.cos, cos[0], atol=1e-6) and torch.allclose(ours.sin, sin[0], atol=1e-6)
    q, k = torch.randn(1, heads, n, d_head), torch.randn(1, heads, n, d_head)
    hf_q, hf_k = apply_rotary_pos_emb(q, k, cos, sin)
    assert torch.allclose(apply_rope(q, ours.cos, ours.sin), hf_q, atol=1e-6)
    assert torch.allclose(apply_rope(k, ours.cos, ours.sin), hf_k, atol=1e-6)
    assert torch.equal(rotate_half(q), hf_rotate_half(q))


def check_rope_of(lm):
    tables = rope_of(lm, 16)
    body = lm.model.model
    with torch.no_grad():
        cos, sin = body.rotary_emb(torch.zeros(1, 16, lm.d_model), torch.arange(16)[None])
    assert torch.allclose(tables.cos, cos[0].float(), atol=1e-5)
    assert torch.allclose(tables.sin, sin[0].float(), atol=1e-5)


def test_rope_of_a_random_llama(random_llama_lm, random_gpt2_lm):
    check_rope_of(random_llama_lm)
    with pytest.raises(ValueError, match="rotary"):
        rope_of(random_gpt2_lm)


@pytest.mark.slow
def test_rope_of_smollm2(smollm2_lm):
    assert rope_of(smollm2_lm).cos.shape == (128, 64)
    check_rope_of(smollm2_lm)


def test_rope_scores_depend_only_on_relative_position():
    torch.manual_seed(0)
    n, d_head = 40, 16
    tables = rope(n, d_head)
    q, k = torch.randn(d_head), torch.randn(d_head)
    rotated_q = apply_rope(q.expand(n, d_head), tables.cos, tables.sin)  # q placed at every position
    rotated_k = apply_rope(k.expand(n, d_head), tables.cos, tables.sin)
    scores = rotated_q @ rotated_k.T  # [m, n] = q_m . k_n
    for offset in (-7, 0, 3, 25):
        diagonal = torch.diagonal(scores, -offset)  # entries with m - n = offset
        assert torch.allclose(diagonal, diagonal[0].expand_as(diagonal), atol=1e-4)
    assert not torch.allclose(torch.diagonal(scores, 0)[0], torch.diagonal(scores, -3)[0], atol=1e-3)
    # a rotation keeps lengths, and position 0 is not rotated at all
    assert torch.allclose(rotated_q.norm(dim=-1), q.norm().expand(n), atol=1e-5)
    assert torch.allclose(rotated_q[0], q)
    assert torch.allclose(tables.angles[5], 5 * tables.inverse_frequency)
    sim = tables.similarity
    assert torch.allclose(torch.diagonal(sim, 2), torch.diagonal(sim, 2)[0].expand(n - 2), atol=1e-5)


def test_alibi_slopes_power_of_two_heads():
    assert torch.allclose(alibi_slopes(8), torch.tensor([2.0 ** -i for i in range(1, 9)]))
    assert torch.allclose(alibi_slopes(16), torch.tensor([2.0 ** (-i / 2) for i in range(1, 17)]))


@pytest.mark.parametrize("n_heads", [1, 3, 5, 6, 8, 12, 16, 20])
def test_alibi_slopes_match_bloom(n_heads):
    from transformers.models.bloom.modeling_bloom import build_alibi_tensor

    # BLOOM's alibi[h, 0, j] = slope_h * j for an all-ones mask: position 1 gives the slope itself
    bloom = build_alibi_tensor(torch.ones(1, 4), n_heads, torch.float32)[:, 0, 1]
    assert torch.allclose(alibi_slopes(n_heads), bloom, atol=1e-6)


def test_alibi_non_power_of_two_follows_the_paper():
    # 12 heads: the 8 slopes of 8 heads, then every other slope of 16 heads (the odd powers of 2^-0.5)
    expected = [2.0 ** -i for i in range(1, 9)] + [2.0 ** (-i / 2) for i in (1, 3, 5, 7)]
    assert torch.allclose(alibi_slopes(12), torch.tensor(expected))


def test_alibi_bias_matrix():
    result = alibi(4, 6)
    assert result.bias.shape == (4, 6, 6) and result.causal_mask.shape == (6, 6)
    for h in range(4):
        for i in range(6):
            for j in range(6):
                expected = -result.slopes[h].item() * (i - j) if j <= i else 0.0
                assert result.bias[h, i, j].item() == pytest.approx(expected)
                assert result.causal_mask[i, j].item() == (j <= i)


@pytest.mark.parametrize("call", [lambda: sinusoidal(0, 8), lambda: sinusoidal(4, 7), lambda: rope(4, 5),
                                  lambda: alibi_slopes(0), lambda: alibi(4, -1)])
def test_bad_sizes_raise(call):
    with pytest.raises(ValueError, match="must be"):
        call()


def test_apply_rope_checks_shapes():
    tables = rope(4, 8)
    with pytest.raises(ValueError, match="pos, d_head"):
        apply_rope(torch.randn(5, 8), tables.cos, tables.sin)
