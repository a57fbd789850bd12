"""stages/interventions.py: each ready-made edit recomputed independently of the hook path, on random GPT-2 and random
Llama with grouped-query attention: a zero-ablated head against a copy of the model whose output projection ignores
that head; a patched residual against the source prompt's own logits; an edited attention pattern against block
arithmetic done by hand with the model's modules; the batched patching sweep against plain runs with one token
swapped, and against one forward per cell."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import make_random_lm
from test_capture import linear

from llmviz.stages import interventions

PROMPT = "The cat sat on the mat because it was warm"
SOURCE = "The dog lay on the rug since it was cold"  # the same length (11 tokens)


@pytest.fixture(params=["gpt2", "llama"])
def lm(request, gpt2_tokenizer):
    return make_random_lm(request.param, gpt2_tokenizer)


def _attention(lm, layer):
    return lm.model.get_submodule(f"transformer.h.{layer}.attn" if lm.architecture == "gpt2"
                                  else f"model.layers.{layer}.self_attn")


def _projection(lm, layer):
    attention = _attention(lm, layer)
    return attention.c_proj if lm.architecture == "gpt2" else attention.o_proj


def _logits_without_head(lm, ids, layer, head):
    """A plain HF forward of a copy of the model whose output projection reads nothing from one head."""
    model = copy.deepcopy(lm.model)
    d = slice(head * lm.d_head, (head + 1) * lm.d_head)
    projection = _projection(lm, layer).weight
    weight = dict(model.named_parameters())[next(n for n, p in lm.model.named_parameters() if p is projection)]
    with torch.no_grad():
        if lm.architecture == "gpt2":
            weight[d, :] = 0  # Conv1D: (in, out)
        else:
            weight[:, d] = 0  # nn.Linear: (out, in)
        return model(ids).logits


@pytest.mark.parametrize("layer, head", [(0, 0), (1, 3)])
def test_zero_ablated_head_equals_a_model_whose_projection_ignores_it(lm, layer, head):
    ids = lm.to_tokens(PROMPT)
    logits, cache = lm.run_with_cache(ids, fwd_hooks=[interventions.ablate_head(layer, head)])
    # 1. the layer's output, by hand from the clean z with the head zeroed, through the real projection's weights
    _, clean = lm.run_with_cache(ids)
    z = clean["z", layer].clone()
    z[:, :, head] = 0
    expected = linear(z.flatten(-2), _projection(lm, layer), conv1d=lm.architecture == "gpt2")
    torch.testing.assert_close(cache["attn_out", layer], expected, atol=1e-6, rtol=1e-5)
    # 2. the logits, from a plain HF forward of a copy whose output projection reads nothing from that head
    assert (logits - lm.run_with_cache(ids, names=[])[0]).abs().max() > 1e-4  # the head mattered
    torch.testing.assert_close(logits, _logits_without_head(lm, ids, layer, head), atol=1e-5, rtol=1e-5)


def test_zero_ablated_head_on_the_shipped_model(tiny_lm):
    ids = tiny_lm.to_tokens("Once upon a time there was a little dog")
    for layer, head in [(0, 2), (tiny_lm.n_layers - 1, tiny_lm.n_heads - 1)]:
        logits = tiny_lm.run_with_hooks(ids, [interventions.ablate_head(layer, head)])
        torch.testing.assert_close(logits, _logits_without_head(tiny_lm, ids, layer, head), atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("template", ["blocks.{L}.hook_resid_pre", "blocks.{L}.hook_resid_mid",
                                      "blocks.{L}.hook_resid_post"])
def test_patching_the_whole_residual_gives_the_source_logits(lm, template):
    assert lm.to_tokens(PROMPT).shape == lm.to_tokens(SOURCE).shape
    source_logits, source = lm.run_with_cache(SOURCE)
    clean_logits = lm.run_with_cache(PROMPT, names=[])[0]
    for layer in range(lm.n_layers):
        name = template.format(L=layer)
        logits = lm.run_with_hooks(PROMPT, fwd_hooks=[interventions.patch(name, source)])
        assert (clean_logits - source_logits).abs().max() > 1e-3
        torch.testing.assert_close(logits, source_logits, atol=1e-6, rtol=0)


@pytest.mark.parametrize("layer", [0, 1])
def test_edited_pattern_equals_the_block_recomputed_by_hand(lm, layer):
    """Head 1 attends only to the first token; the block after it, redone with the model's own modules, must give
    the edited run's attention output, residual and (at the last layer) logits."""
    ids = lm.to_tokens(PROMPT)

    def first_token_only(pattern, hook):
        pattern[:, 1] = 0
        pattern[:, 1, :, 0] = 1
        return pattern
    logits, edited = lm.run_with_cache(ids, fwd_hooks=[(f"blocks.{layer}.attn.hook_pattern", first_token_only)])
    _, clean = lm.run_with_cache(ids)
    pattern = clean["pattern", layer].clone()
    pattern[:, 1] = 0
    pattern[:, 1, :, 0] = 1
    v = clean["v", layer].repeat_interleave(lm.n_heads // lm.n_kv_heads, dim=2)  # GQA: kv head per query group
    z = torch.einsum("bhqk,bkhd->bqhd", pattern, v)
    torch.testing.assert_close(edited["z", layer], z, atol=1e-6, rtol=1e-5)
    attn_out = linear(z.flatten(-2), _projection(lm, layer), conv1d=lm.architecture == "gpt2")
    torch.testing.assert_close(edited["attn_out", layer], attn_out, atol=1e-6, rtol=1e-5)
    resid_mid = clean["resid_pre", layer] + attn_out
    block = lm.model.get_submodule(f"transformer.h.{layer}" if lm.architecture == "gpt2" else f"model.layers.{layer}")
    norm = block.ln_2 if lm.architecture == "gpt2" else block.post_attention_layernorm
    with torch.no_grad():
        resid_post = resid_mid + block.mlp(norm(resid_mid))
        torch.testing.assert_close(edited["resid_post", layer], resid_post, atol=1e-5, rtol=1e-5)
        if layer == lm.n_layers - 1:
            final = lm.model.transformer.ln_f if lm.architecture == "gpt2" else lm.model.model.norm
            torch.testing.assert_close(logits, lm.model.lm_head(final(resid_post)), atol=1e-5, rtol=1e-5)
    assert (edited["resid_post", layer] - clean["resid_post", layer]).abs().max() > 1e-4


def test_edited_scores_are_what_the_softmax_reads(lm):
    def hide_first_key(scores, hook):  # every query but the first loses key 0
        scores[:, :, 1:, 0] = float("-inf")
        return scores
    _, edited = lm.run_with_cache(PROMPT, fwd_hooks=[("blocks.1.attn.hook_attn_scores", hide_first_key)])
    torch.testing.assert_close(edited["pattern", 1], edited["attn_scores", 1].softmax(-1))
    assert torch.all(edited["pattern", 1][:, :, 1:, 0] == 0)


def test_patching_sweep_is_one_token_swapped_at_layer_zero_and_matches_one_forward_per_cell(lm):
    """Both batched sweeps, the branching forward (the residual stream) and one cell per row (patch_cells), equal
    one run_with_hooks per cell; at layer 0 a patch is a swapped token."""
    ids, source_ids = lm.to_tokens(PROMPT), lm.to_tokens(SOURCE)
    _, source = lm.run_with_cache(source_ids)
    # branching forwards of 4 positions each (the last partial), and one cell per batch row in chunks of 7 rows
    sweep = interventions.patching_sweep(lm, ids, source, positions_per_forward=4)
    n = ids.shape[1]
    assert sweep.shape == (lm.n_layers, n, lm.d_vocab)
    cells = [(layer, p) for layer in range(lm.n_layers) for p in range(n)]
    rows = interventions.patch_cells(lm, ids, source, cells, rows_per_forward=7).view(lm.n_layers, n, -1)
    for p in range(n):
        # resid_pre 0 at position p is the embedding of token p (and its position): patching it swaps the token
        swapped = ids.clone()
        swapped[0, p] = source_ids[0, p]
        with torch.no_grad():
            plain = lm.model(swapped).logits[0, -1]
        torch.testing.assert_close(sweep[0, p], plain, atol=1e-5, rtol=1e-5)
        for layer in range(lm.n_layers):
            one = lm.run_with_hooks(ids, [interventions.patch(f"blocks.{layer}.hook_resid_pre", source, p)])
            torch.testing.assert_close(sweep[layer, p], one[0, -1], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(rows[layer, p], one[0, -1], atol=1e-5, rtol=1e-5)


def test_head_ablation_sweep_equals_a_model_without_each_head(lm):
    """Every head removed in turn, batched (chunks of 5 rows, the last partial): each row is a plain HF forward of a
    copy of the model whose output projection ignores that head."""
    ids = lm.to_tokens(PROMPT)
    sweep = interventions.head_ablation_sweep(lm, ids, rows_per_forward=5)
    assert sweep.shape == (lm.n_layers, lm.n_heads, lm.d_vocab)
    for layer in range(lm.n_layers):
        for head in range(lm.n_heads):
            expected = _logits_without_head(lm, ids, layer, head)[0, -1]
            torch.testing.assert_close(sweep[layer, head], expected, atol=1e-5, rtol=1e-5)


def test_mean_ablation_and_steering(lm):
    ids = lm.to_tokens(PROMPT)
    plain, clean = lm.run_with_cache(ids)
    _, cache = lm.run_with_cache(ids, fwd_hooks=[interventions.ablate_head(1, 2, mean_from=clean)])
    mean = clean["z", 1][:, :, 2].mean((0, 1))  # [d_head]
    torch.testing.assert_close(cache["z", 1][:, :, 2], mean.expand_as(cache["z", 1][:, :, 2]))
    assert torch.equal(cache["z", 1][:, :, :2], clean["z", 1][:, :, :2])
    _, cache = lm.run_with_cache(ids, fwd_hooks=[interventions.ablate_mlp(0)])
    assert torch.all(cache["mlp_out", 0] == 0)
    torch.testing.assert_close(cache["resid_post", 0], clean["resid_mid", 0])
    _, cache = lm.run_with_cache(ids, fwd_hooks=[interventions.ablate_position(1, 3, mean_from=clean)])
    torch.testing.assert_close(cache["resid_pre", 1][0, 3], clean["resid_pre", 1].mean((0, 1)))
    assert torch.equal(cache["resid_pre", 1][:, 4:], clean["resid_pre", 1][:, 4:])
    vector = torch.randn(lm.d_model)
    _, cache = lm.run_with_cache(ids, fwd_hooks=[interventions.steer(1, vector, scale=2.0, positions=[0, 5])])
    delta = cache["resid_pre", 1] - clean["resid_pre", 1]
    torch.testing.assert_close(delta[:, [0, 5]], (2 * vector).expand(1, 2, -1))
    assert torch.all(delta[:, 1:5] == 0)


def test_patch_refuses_prompts_of_different_lengths(lm):
    _, source = lm.run_with_cache("The dog")
    with pytest.raises(ValueError, match="same length"):
        lm.run_with_hooks(PROMPT, [interventions.patch("blocks.1.hook_resid_pre", source)])
    with pytest.raises(ValueError, match="same length"):
        interventions.patching_sweep(lm, PROMPT, source)
    with pytest.raises(ValueError, match="not a capture name"):
        interventions.ablation("blocks.0.attn.hook_zz")


def test_causal_cone_is_zero_before_the_edit_and_at_earlier_positions(lm):
    ids = lm.to_tokens(PROMPT)
    _, clean = lm.run_with_cache(ids)
    _, edited = lm.run_with_cache(ids, fwd_hooks=[interventions.ablate_position(1, 4)])  # resid_pre 1 = depth 1
    cone = interventions.causal_cone(clean, edited)
    assert cone.shape == (lm.n_layers + 1, ids.shape[1])
    assert torch.all(cone[:1] == 0) and torch.all(cone[:, :4] == 0)  # before the edit, and earlier positions
    assert torch.all(cone[1:, 4] > 0)  # the edited position, from the edit on
    assert torch.all(cone[2:, 5:] > 0)  # later positions, once attention in block 1 has read position 4
    assert torch.all(cone[1, 5:] == 0)  # but not yet at the depth of the edit itself
