"""capture.py: logits equal plain HF forwards, every captured tensor is recomputed independently from its inputs and
the module's weights, hooks never outlive a call, padding and the KV cache behave like the unpadded, uncached run."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from conftest import make_random_lm
from transformers import DynamicCache
from transformers.masking_utils import AttentionMaskInterface

import llmviz.capture as capture
from llmviz.names import dims, names_for, parse, shape_of

PROMPT = "The cat sat on the mat because it was warm"


@pytest.fixture(params=["gpt2", "llama"])
def lm(request, gpt2_tokenizer):
    return make_random_lm(request.param, gpt2_tokenizer)


def plain_logits(lm, ids, implementation="eager", **kwargs):
    """Logits of an ordinary HF forward with the given attention implementation (and the model's own restored)."""
    previous = lm.model.config._attn_implementation
    lm.model.set_attn_implementation(implementation)
    try:
        with torch.no_grad():
            return lm.model(ids, **kwargs).logits
    finally:
        lm.model.set_attn_implementation(previous)


def hook_count(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


# ---- exactness against plain forwards -------------------------------------------------------------------------
def test_logits_equal_eager_exactly_and_sdpa_closely(lm):
    ids = lm.to_tokens(PROMPT)
    logits, cache = capture.run_with_cache(lm, ids)
    assert torch.equal(logits, plain_logits(lm, ids, "eager"))
    assert torch.allclose(logits, plain_logits(lm, ids, "sdpa"), atol=1e-5, rtol=0)
    assert torch.equal(cache["hook_logits"], logits.cpu())


def test_without_mask_registration_logits_are_wrong(lm, monkeypatch):
    """The mask registration matters: without it HF passes no mask, attention sees the future, logits drift."""
    ids = lm.to_tokens(PROMPT)
    eager = plain_logits(lm, ids)
    assert torch.equal(capture.run_with_cache(lm, ids)[0], eager)
    monkeypatch.delitem(AttentionMaskInterface._global_mapping, capture.ATTENTION_IMPLEMENTATION)
    broken, cache = capture.run_with_cache(lm, ids)
    assert (broken - eager).abs().max() > 1e-3
    assert cache["pattern", 0][0, :, 0, 1:].abs().sum() > 0  # the first token attends to later ones


# ---- independent recomputation --------------------------------------------------------------------------------
def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


GPT2_ACTIVATIONS = {"gelu_new": lambda x: F.gelu(x, approximate="tanh"),  # GPT-2's default: the tanh approximation
                    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"), "gelu": F.gelu, "relu": F.relu}


def linear(x, module, conv1d=False):
    """x @ W (+ b). GPT-2's Conv1D stores W as (in, out); nn.Linear as (out, in)."""
    weight = module.weight if conv1d else module.weight.T
    return x @ weight + (module.bias if module.bias is not None else 0)


def check_block_math(lm, cache, atol=1e-5):
    """Recompute every captured tensor from its inputs and the module weights (causal, unpadded, no KV cache)."""
    gpt2 = lm.architecture == "gpt2"
    base = lm.model.transformer if gpt2 else lm.model.model
    blocks = base.h if gpt2 else base.layers
    close = lambda a, b: torch.testing.assert_close(a, b, atol=atol, rtol=1e-4)  # noqa: E731
    norm_of = lambda x, mod: (F.layer_norm(x, x.shape[-1:], mod.weight, mod.bias, mod.eps) if gpt2  # noqa: E731
                              else x / (x.pow(2).mean(-1, keepdim=True) + mod.variance_epsilon).sqrt() * mod.weight)
    scale_of = lambda x, mod: ((x.var(-1, unbiased=False, keepdim=True) + mod.eps).sqrt() if gpt2  # noqa: E731
                               else (x.pow(2).mean(-1, keepdim=True) + mod.variance_epsilon).sqrt())
    ids_embed = cache["hook_embed"]
    first = ids_embed + cache["hook_pos_embed"] if gpt2 else ids_embed
    close(cache["resid_pre", 0], first)
    n = first.shape[1]
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    with torch.no_grad():
        if not gpt2:  # RoPE tables from the textbook formula
            d = lm.d_head
            inv_freq = 1.0 / lm.model.config.rope_parameters["rope_theta"] ** (torch.arange(0, d, 2).float() / d)
            freqs = torch.arange(n).float()[:, None] * inv_freq
            close(cache["rotary_emb.hook_cos"][0], torch.cat((freqs, freqs), -1).cos())
            close(cache["rotary_emb.hook_sin"][0], torch.cat((freqs, freqs), -1).sin())
        for L, block in enumerate(blocks):
            ln1, ln2 = (block.ln_1, block.ln_2) if gpt2 else (block.input_layernorm, block.post_attention_layernorm)
            attn, mlp = (block.attn, block.mlp) if gpt2 else (block.self_attn, block.mlp)
            resid_pre = cache["resid_pre", L]
            if L:
                assert torch.equal(resid_pre, cache["resid_post", L - 1])
            close(cache["scale", L, "ln1"], scale_of(resid_pre, ln1))
            x = norm_of(resid_pre, ln1)
            close(cache["normalized", L, "ln1"], x)
            if gpt2:
                q, k, v = linear(x, attn.c_attn, conv1d=True).split(lm.d_model, dim=-1)
            else:
                q, k, v = linear(x, attn.q_proj), linear(x, attn.k_proj), linear(x, attn.v_proj)
            heads = lambda t: t.view(*t.shape[:-1], -1, lm.d_head)  # noqa: E731 [b, pos, n*d] -> [b, pos, n, d]
            q, k, v = heads(q), heads(k), heads(v)
            close(cache["q", L], q)
            close(cache["k", L], k)
            close(cache["v", L], v)
            if not gpt2:
                cos, sin = cache["rotary_emb.hook_cos"][:, :, None], cache["rotary_emb.hook_sin"][:, :, None]
                q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
                close(cache["rot_q", L], q)
                close(cache["rot_k", L], k)
            group = lm.n_heads // lm.n_kv_heads  # GQA: each kv head serves `group` query heads
            k, v = k.repeat_interleave(group, dim=2), v.repeat_interleave(group, dim=2)
            scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(lm.d_head)
            scores = scores.masked_fill(~causal, float("-inf"))
            close(cache["attn_scores", L], scores)  # -inf above the diagonal compares equal
            pattern = scores.softmax(-1)
            close(cache["pattern", L], pattern)
            z = torch.einsum("bhqk,bkhd->bqhd", pattern, v)
            close(cache["z", L], z)
            out_proj = attn.c_proj if gpt2 else attn.o_proj
            close(cache["attn_out", L], linear(z.flatten(-2), out_proj, conv1d=gpt2))
            assert torch.equal(cache["resid_mid", L], resid_pre + cache["attn_out", L])
            close(cache["scale", L, "ln2"], scale_of(cache["resid_mid", L], ln2))
            x = norm_of(cache["resid_mid", L], ln2)
            close(cache["normalized", L, "ln2"], x)
            if gpt2:
                pre = linear(x, mlp.c_fc, conv1d=True)
                post = GPT2_ACTIVATIONS[lm.model.config.activation_function](pre)
                out = linear(post, mlp.c_proj, conv1d=True)
            else:
                pre, pre_linear = linear(x, mlp.gate_proj), linear(x, mlp.up_proj)
                close(cache["pre_linear", L], pre_linear)
                post = F.silu(pre) * pre_linear
                out = linear(post, mlp.down_proj)
            close(cache["pre", L], pre)
            close(cache["post", L], post)
            close(cache["mlp_out", L], out)
            assert torch.equal(cache["resid_post", L], cache["resid_mid", L] + cache["mlp_out", L])
        final = base.ln_f if gpt2 else base.norm
        resid = cache["resid_post", -1]
        close(cache["ln_final.hook_scale"], scale_of(resid, final))
        close(cache["ln_final.hook_normalized"], norm_of(resid, final))
        unembed = lm.model.get_output_embeddings().weight  # [d_vocab, d_model]
        close(cache["hook_logits"], cache["ln_final.hook_normalized"] @ unembed.T)


def test_every_tensor_recomputed_from_its_inputs(lm):
    logits, cache = capture.run_with_cache(lm, PROMPT)
    check_block_math(lm, cache)


def test_pattern_rows_sum_to_one_with_zeros_above_the_diagonal(lm):
    _, cache = capture.run_with_cache(lm, PROMPT)
    for L in range(lm.n_layers):
        pattern = cache["pattern", L]
        n = pattern.shape[-1]
        torch.testing.assert_close(pattern.sum(-1), torch.ones(pattern.shape[:-1]))
        assert torch.all(pattern.masked_select(~torch.ones(n, n, dtype=torch.bool).tril()) == 0)
        assert torch.all(cache["attn_scores", L].masked_select(~torch.ones(n, n, dtype=torch.bool).tril())
                         == float("-inf"))


def test_every_declared_name_with_its_shape_and_nothing_else(lm):
    ids = lm.to_tokens(PROMPT)
    _, cache = capture.run_with_cache(lm, ids)
    expected = names_for(lm.architecture, lm.n_layers)
    assert list(cache) == expected
    sizes = dims(lm, 1, ids.shape[1])
    for name, tensor in cache.items():
        assert tuple(tensor.shape) == shape_of(parse(name)[0], lm.architecture, sizes), name
        assert tensor.device.type == "cpu" and not tensor.requires_grad


# ---- hook hygiene ---------------------------------------------------------------------------------------------
def test_no_hooks_left_and_attention_restored_after_normal_and_failing_calls(lm, monkeypatch):
    before = hook_count(lm.model)
    previous = lm.model.config._attn_implementation
    capture.run_with_cache(lm, PROMPT)
    assert hook_count(lm.model) == before and lm.model.config._attn_implementation == previous
    assert capture._ACTIVE.get() is None

    def explode(*args, **kwargs):
        raise RuntimeError("boom")
    mlp = lm.model.get_submodule("transformer.h.1.mlp" if lm.architecture == "gpt2" else "model.layers.1.mlp")
    monkeypatch.setattr(mlp, "forward", explode)
    with pytest.raises(RuntimeError, match="boom"):
        capture.run_with_cache(lm, PROMPT)
    assert hook_count(lm.model) == before and lm.model.config._attn_implementation == previous
    assert capture._ACTIVE.get() is None
    monkeypatch.undo()

    # Installing breaks half-way: the last module to be hooked refuses its hook. The hooks placed before it must be
    # there when it fails (else this proves nothing) and gone afterwards.
    final_norm = lm.model.get_submodule("transformer.ln_f" if lm.architecture == "gpt2" else "model.norm")
    placed = []

    def refuse(*args, **kwargs):
        placed.append(hook_count(lm.model) - before)
        raise RuntimeError("refused")
    monkeypatch.setattr(final_norm, "register_forward_hook", refuse)
    with pytest.raises(RuntimeError, match="refused"):
        capture.run_with_cache(lm, PROMPT)
    assert placed and placed[0] > 10  # hooks on the earlier blocks were in place when installing broke
    assert hook_count(lm.model) == before and lm.model.config._attn_implementation == previous
    assert capture._ACTIVE.get() is None


# ---- KV cache and padding -------------------------------------------------------------------------------------
def test_kv_cache_step_equals_full_recompute(lm):
    ids = lm.to_tokens(PROMPT)
    n = ids.shape[1]
    _, first = capture.run_with_cache(lm, ids[:, :-2], use_cache=True)
    assert isinstance(first.past_key_values, DynamicCache)
    step_logits, step = capture.run_with_cache(lm, ids[:, -2:], past_key_values=first.past_key_values,
                                               use_cache=True)
    full_logits, full = capture.run_with_cache(lm, ids)
    torch.testing.assert_close(step_logits, full_logits[:, -2:], atol=1e-5, rtol=1e-5)
    assert step.past_key_values.get_seq_length() == n
    whole_k = "rot_k" if lm.architecture == "llama" else "k"
    for L in range(lm.n_layers):
        assert step["q", L].shape[1] == 2 and step["resid_post", L].shape[1] == 2
        assert step["pattern", L].shape[-2:] == (2, n)
        torch.testing.assert_close(step[whole_k, L], full[whole_k, L], atol=1e-5, rtol=1e-5)  # the whole cache
        torch.testing.assert_close(step["v", L], full["v", L], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(step["pattern", L], full["pattern", L][:, :, -2:], atol=1e-5, rtol=1e-5)
    sizes = dims(lm, 1, 2, n_past=n - 2)
    for name, tensor in step.items():
        assert tuple(tensor.shape) == shape_of(parse(name)[0], lm.architecture, sizes), name


@pytest.mark.parametrize("side", ["left", "right"])
def test_padded_batch_row_equals_prompt_alone(lm, side):
    short, long = lm.to_tokens("The dog barked")[0], lm.to_tokens(PROMPT)[0]
    pad = torch.zeros(len(long) - len(short), dtype=torch.long)
    row = torch.cat([pad, short]) if side == "left" else torch.cat([short, pad])
    ids = torch.stack([row, long])
    mask = torch.stack([(torch.cat([pad, torch.ones_like(short)]) if side == "left"
                         else torch.cat([torch.ones_like(short), pad])), torch.ones_like(long)])
    logits, cache = capture.run_with_cache(lm, ids, attention_mask=mask)
    real = slice(len(pad), None) if side == "left" else slice(0, len(short))
    alone_logits, alone = capture.run_with_cache(lm, short)
    torch.testing.assert_close(logits[0, real], alone_logits[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits[1:], capture.run_with_cache(lm, long)[0], atol=1e-5, rtol=1e-5)
    for L in range(lm.n_layers):
        torch.testing.assert_close(cache["resid_post", L][0, real], alone["resid_post", L][0], atol=1e-5, rtol=1e-5)
        # padding rows included, softmax(scores) is the pattern the model used (no NaN from all -inf rows)
        torch.testing.assert_close(cache["attn_scores", L].softmax(-1), cache["pattern", L])
        torch.testing.assert_close(cache["pattern", L][0, :, real, real], alone["pattern", L][0], atol=1e-6,
                                   rtol=1e-5)


# ---- options and bad input ------------------------------------------------------------------------------------
def test_names_filter_dtype_and_estimate(lm):
    ids = lm.to_tokens(PROMPT)
    _, full = capture.run_with_cache(lm, ids)
    # The estimate is what is really kept, except that resid_post L and resid_pre L+1 are one tensor, held once,
    # and so are hook_embed and resid_pre 0 in Llama (no position embedding is added there).
    shared = (lm.n_layers - 1 + (lm.architecture == "llama")) * ids.shape[1] * lm.d_model * 4
    assert full.nbytes == capture.estimate_cache_bytes(lm, ids.shape[1]) - shared
    _, some = capture.run_with_cache(lm, ids, names=["blocks.1.attn.hook_pattern", "hook_embed"])
    assert list(some) == ["hook_embed", "blocks.1.attn.hook_pattern"]
    assert torch.equal(some["pattern", 1], full["pattern", 1])
    _, patterns = capture.run_with_cache(lm, ids, names=lambda n: n.endswith("hook_pattern"), dtype=torch.float16)
    assert len(patterns) == lm.n_layers and all(t.dtype == torch.float16 for t in patterns.values())
    assert patterns.nbytes == capture.estimate_cache_bytes(lm, ids.shape[1], lambda n: "pattern" in n, torch.float16)
    torch.testing.assert_close(patterns["pattern", 0].float(), full["pattern", 0], atol=1e-3, rtol=1e-3)
    with pytest.raises(ValueError, match="nearest: blocks.0.attn.hook_pattern"):
        capture.run_with_cache(lm, ids, names=["blocks.0.attn.hook_patern"])


def test_over_budget_raises_before_running_with_the_estimate_and_advice(lm):
    estimate = capture.estimate_cache_bytes(lm, 64)
    assert estimate > capture.estimate_cache_bytes(lm, 32) > 0
    calls = []
    handle = lm.model.register_forward_pre_hook(lambda *a: calls.append(1))
    with pytest.raises(capture.CaptureBudgetError, match="names=.*float16.*shorter") as info:
        capture.run_with_cache(lm, list(range(64)), budget_bytes=estimate - 1)
    handle.remove()
    assert isinstance(info.value, MemoryError) and not calls
    assert f"{estimate / 2**20:.0f} MiB" in str(info.value)
    capture.run_with_cache(lm, list(range(64)), budget_bytes=estimate)  # exactly at the budget is allowed


def test_gpt2_small_estimate_at_512_tokens():
    """The issue's figures for a GPT-2-small-sized model: attention maps dominate and grow with tokens²."""
    # Only sizes matter for an estimate: describe GPT-2 small instead of building 124M random parameters.
    lm = SimpleNamespace(architecture="gpt2", n_layers=12, n_heads=12, n_kv_heads=12, d_head=64, d_model=768,
                         d_mlp=3072, d_vocab=50257, model=torch.nn.Linear(1, 1))
    attention = capture.estimate_cache_bytes(lm, 512, names=lambda n: "attn_scores" in n or "pattern" in n)
    assert attention == 12 * 2 * 12 * 512 * 512 * 4
    assert capture.estimate_cache_bytes(lm, 512) > capture.DEFAULT_BUDGET_BYTES / 2
    assert capture.estimate_cache_bytes(lm, 512, dtype=torch.float16) * 2 == capture.estimate_cache_bytes(lm, 512)


def test_bad_input_raises_clear_errors(lm):
    with pytest.raises(ValueError, match="empty"):
        capture.run_with_cache(lm, "")
    with pytest.raises(TypeError, match="prompt string"):
        capture.run_with_cache(lm, 3.5)
    with pytest.raises(ValueError, match="at most 64 tokens"):
        capture.run_with_cache(lm, list(range(65)))
    with pytest.raises(ValueError, match="attention_mask must have shape"):
        capture.run_with_cache(lm, PROMPT, attention_mask=torch.ones(1, 3))
    with pytest.raises(TypeError, match="dtype"):
        capture.run_with_cache(lm, PROMPT, dtype="float16")
    with pytest.raises(ValueError, match="n_tokens"):
        capture.estimate_cache_bytes(lm, 0)
    _, first = capture.run_with_cache(lm, list(range(60)), names=["hook_embed"], use_cache=True)
    with pytest.raises(ValueError, match="KV cache holds 60 tokens"):
        capture.run_with_cache(lm, list(range(5)), past_key_values=first.past_key_values)


# ---- real models and devices ----------------------------------------------------------------------------------
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_capture_on_cuda(gpt2_tokenizer):
    lm = make_random_lm("llama", gpt2_tokenizer)
    lm.model.to("cuda")
    ids = lm.to_tokens(PROMPT)
    logits, cache = capture.run_with_cache(lm, ids)
    assert logits.device.type == "cuda" and all(t.device.type == "cpu" for t in cache.values())
    torch.testing.assert_close(logits, plain_logits(lm, ids), atol=1e-5, rtol=1e-5)
    assert cache.to("cuda")["pattern", 0].device.type == "cuda"


def test_shipped_model(tiny_lm):
    ids = tiny_lm.to_tokens("Once upon a time there was a little dog")
    logits, cache = capture.run_with_cache(tiny_lm, ids)
    assert torch.equal(logits, plain_logits(tiny_lm, ids))
    check_block_math(tiny_lm, cache, atol=1e-4)


@pytest.mark.slow
def test_smollm2(smollm2_lm):
    lm = smollm2_lm
    assert lm.n_kv_heads < lm.n_heads  # grouped-query attention stays visible
    ids = lm.to_tokens("The capital of France is")
    logits, cache = capture.run_with_cache(lm, ids)
    assert torch.equal(logits, plain_logits(lm, ids))
    assert cache["v", 0].shape[2] == lm.n_kv_heads and cache["pattern", 0].shape[1] == lm.n_heads
    check_block_math(lm, cache, atol=1e-3)
