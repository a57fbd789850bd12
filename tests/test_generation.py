"""The generation loop: KV cache equals recompute, tokens equal HF generate, stop conditions, streaming UTF-8."""

import pytest
import torch
from conftest import make_random_lm

from llmviz.decoding.generation import find_repetition, generate, stream

PROMPT = "Hello there"


@pytest.fixture
def lm(gpt2_tokenizer):
    # a wider initialisation than HF's 0.02 gives peaked, varied logits, so greedy text does not loop at once
    return make_random_lm("gpt2", gpt2_tokenizer, initializer_range=0.3)


def hf_tokens(lm, prompt, max_new_tokens, **kwargs):
    ids = lm.to_tokens(prompt)
    out = lm.model.generate(ids, max_new_tokens=max_new_tokens, pad_token_id=lm.tokenizer.eos_token_id, **kwargs)
    return out[0, ids.shape[1]:].tolist()


@pytest.mark.parametrize("architecture", ["gpt2", "llama"])
def test_greedy_equals_hf_generate(gpt2_tokenizer, architecture):
    lm = make_random_lm(architecture, gpt2_tokenizer, initializer_range=0.3)
    for prompt in (PROMPT, "Once upon a time", "x"):
        trace = generate(lm, prompt, max_new_tokens=20, temperature=0, capture=None)
        assert trace.tokens == hf_tokens(lm, prompt, 20, do_sample=False)


@pytest.mark.parametrize("settings", [dict(temperature=1.0), dict(temperature=0.7, top_k=20, top_p=0.9),
                                      dict(temperature=1.2, min_p=0.05, repetition_penalty=1.3)])
def test_seeded_sampling_equals_hf_generate_with_the_same_seed(lm, settings):
    # HF draws with torch.multinomial from the global generator; ours is a torch.Generator seeded the same way
    trace = generate(lm, PROMPT, max_new_tokens=15, seed=5, capture=None, **settings)
    torch.manual_seed(5)
    hf_settings = {"top_k": None, **settings}  # HF's GenerationConfig defaults to top_k=50; ours to no limit
    assert trace.tokens == hf_tokens(lm, PROMPT, 15, do_sample=True, **hf_settings)


def test_kv_cache_step_equals_full_recompute(lm):
    cached = generate(lm, PROMPT, max_new_tokens=12, temperature=0.8, seed=3, capture=None)
    full = generate(lm, PROMPT, max_new_tokens=12, temperature=0.8, seed=3, capture=None, use_cache=False)
    assert cached.tokens == full.tokens
    for a, b in zip(cached.steps, full.steps, strict=True):
        torch.testing.assert_close(a.sample.logits, b.sample.logits, atol=1e-4, rtol=1e-4)
    # and each step's logits are a plain forward over the sequence so far, last position
    for i, step in enumerate(cached.steps):
        ids = torch.tensor([cached.ids[:len(cached.prompt_ids) + i]])
        with torch.no_grad():
            expected = lm.model(ids).logits[0, -1]
        torch.testing.assert_close(step.sample.logits, expected, atol=1e-4, rtol=1e-4)


def test_kv_cache_size_and_attention_work(gpt2_tokenizer):
    lm = make_random_lm("llama", gpt2_tokenizer)  # GQA: 4 query heads, 2 kv heads
    n_new = 6
    cached = generate(lm, PROMPT, max_new_tokens=n_new, temperature=0, capture=None)
    full = generate(lm, PROMPT, max_new_tokens=n_new, temperature=0, capture=None, use_cache=False)
    p, heads = len(cached.prompt_ids), lm.n_layers * lm.n_heads
    for i, step in enumerate(cached.steps):
        assert step.kv_cache_length == p + i
        # keys and values, every layer, float32: 2 * layers * positions * kv_heads * d_head * 4 bytes
        assert step.kv_cache_bytes == 2 * lm.n_layers * (p + i) * lm.n_kv_heads * lm.d_head * 4
        assert step.input_positions == (p if i == 0 else 1)
    assert all(step.kv_cache_length == 0 and step.kv_cache_bytes == 0 for step in full.steps)
    n = p + n_new - 1  # the last token is never fed
    # with the cache each query position is computed once: sum_{q=1..n} q; without, every prefix is redone
    assert cached.attention_dot_products == heads * n * (n + 1) // 2
    assert full.attention_dot_products == heads * sum(m * (m + 1) // 2 for m in range(p, n + 1))


def test_same_seed_same_text_and_stream_equals_generate(lm):
    kwargs = dict(max_new_tokens=10, temperature=0.9, top_p=0.95, seed=11, capture=None)
    trace = generate(lm, PROMPT, **kwargs)
    assert generate(lm, PROMPT, **kwargs).tokens == trace.tokens
    streamed = stream(lm, PROMPT, **kwargs)
    steps = list(streamed)
    assert [s.token_id for s in steps] == trace.tokens
    assert streamed.trace.text == trace.text and streamed.trace.stop_reason == trace.stop_reason == "max_new_tokens"
    for a, b in zip(steps, trace.steps, strict=True):
        assert torch.equal(a.sample.probs, b.sample.probs)
    assert generate(lm, PROMPT, **{**kwargs, "seed": 12}).tokens != trace.tokens


def test_text_equals_tokenizer_decode(lm):
    trace = generate(lm, PROMPT, max_new_tokens=15, temperature=1.0, seed=0, capture=None)
    assert trace.text == lm.tokenizer.decode(trace.tokens, clean_up_tokenization_spaces=False)
    assert "".join(step.text for step in trace.steps) == trace.text


def test_stop_on_eos(lm):
    reference = generate(lm, PROMPT, max_new_tokens=10, temperature=0, capture=None).tokens
    lm.model.generation_config.eos_token_id = reference[4]
    trace = generate(lm, PROMPT, max_new_tokens=10, temperature=0, capture=None)
    first = reference.index(reference[4])
    assert trace.stop_reason == "eos" and trace.tokens == reference[:first + 1]
    assert trace.steps[-1].stop_reason == "eos"


def test_stop_string_ends_on_the_token_that_completes_it(lm):
    reference = generate(lm, PROMPT, max_new_tokens=10, temperature=0, capture=None)
    target = reference.steps[5].text
    trace = generate(lm, PROMPT, max_new_tokens=10, temperature=0, capture=None, stop=[target, "zzz-never"])
    assert trace.stop_reason == "stop_string" and target in trace.text
    first = next(i for i in range(10) if target in "".join(s.text for s in reference.steps[:i + 1]))
    assert trace.tokens == reference.tokens[:first + 1]


def test_max_new_tokens_and_zero(lm):
    assert len(generate(lm, PROMPT, max_new_tokens=7, capture=None).tokens) == 7
    empty = generate(lm, PROMPT, max_new_tokens=0, capture=None)
    assert empty.tokens == [] and empty.text == "" and empty.stop_reason == "max_new_tokens"


def test_repetition_detector(gpt2_tokenizer):
    assert find_repetition([1, 2, 3] + [7] * 12) == 1
    assert find_repetition([9] + [4, 5, 6] * 4) == 3
    assert find_repetition(list(range(30))) is None
    looping = make_random_lm("gpt2", gpt2_tokenizer)  # HF's default init: greedy text repeats one token
    trace = generate(looping, PROMPT, max_new_tokens=40, temperature=0, capture=None, detect_repetition=True)
    assert trace.stop_reason == "repetition" and len(trace.tokens) < 40
    assert find_repetition(trace.tokens) is not None and find_repetition(trace.tokens[:-1]) is None


def test_context_full(lm):
    ids = list(range(100, 100 + lm.n_ctx - 3))
    trace = generate(lm, ids, max_new_tokens=10, temperature=0, capture=None)
    assert trace.stop_reason == "context_full" and len(trace.ids) == lm.n_ctx


def test_interrupt_with_stop_and_with_break(lm):
    s = stream(lm, PROMPT, max_new_tokens=20, capture=None)
    for step in s:
        if step.index == 2:
            s.stop()
    assert len(s.trace.steps) == 3 and s.trace.stop_reason == "interrupted"
    s = stream(lm, PROMPT, max_new_tokens=20, capture=None)
    for step in s:
        if step.index == 4:
            break
    s.close()
    assert len(s.trace.tokens) == 5 and s.trace.stop_reason == "interrupted"


def scripted(lm, script):
    """Make greedy generation emit `script`: a hook on the output layer boosts the next scripted token."""
    position = {"n": 0}

    def hook(module, args, output):
        output = output.clone()
        output[:, -1, script[min(position["n"], len(script) - 1)]] += 1e4
        position["n"] += 1
        return output
    return lm.model.lm_head.register_forward_hook(hook)


def test_streaming_never_emits_a_broken_character(lm):
    text = "Hi 🙂 世界 😀!"
    script = lm.tokenizer(text)["input_ids"]
    assert any(len(lm.token_bytes(t).decode("utf-8", errors="replace")) != len(lm.token_bytes(t).decode(
        "utf-8", errors="ignore")) for t in script), "the text should split a character across tokens"
    handle = scripted(lm, script)
    try:
        trace = generate(lm, "A", max_new_tokens=len(script), temperature=0, capture=None)
    finally:
        handle.remove()
    assert trace.tokens == script
    assert all("\ufffd" not in step.text for step in trace.steps)
    assert any(step.pending_bytes for step in trace.steps)  # some steps held a partial character back
    assert "".join(step.text for step in trace.steps) == trace.text == text


@pytest.mark.parametrize("bad, name", [(dict(max_new_tokens=-1), "max_new_tokens"),
                                       (dict(max_new_tokens=2.5), "max_new_tokens"),
                                       (dict(temperature=-1), "temperature"), (dict(top_p=0), "top_p"),
                                       (dict(top_k=-1), "top_k"), (dict(stop=[""]), "stop"),
                                       (dict(seed=-2), "seed"), (dict(detect_repetition=1), "detect_repetition")])
def test_bad_arguments(lm, bad, name):
    with pytest.raises(ValueError, match=name):
        generate(lm, PROMPT, **bad)


def test_lm_methods_forward_here(lm):
    kwargs = dict(max_new_tokens=5, temperature=0.7, seed=4, capture=None)
    tokens = generate(lm, PROMPT, **kwargs).tokens
    assert lm.generate(PROMPT, **kwargs).tokens == tokens
    assert [step.token_id for step in lm.stream(PROMPT, **kwargs)] == tokens


def test_shipped_model_greedy_equals_hf(tiny_lm):
    for prompt in ("Once upon a time", "The little dog"):
        expected = hf_tokens(tiny_lm, prompt, 30, do_sample=False)
        for capture in (None, "default"):  # plain forwards, and forwards through capture's attention function
            trace = generate(tiny_lm, prompt, max_new_tokens=30, temperature=0, capture=capture)
            assert trace.tokens == expected
        assert trace.stop_reason == "eos" or len(trace.tokens) == 30


@pytest.mark.parametrize("architecture", ["gpt2", "llama"])
def test_default_capture_is_the_new_position_and_equals_a_full_run(gpt2_tokenizer, architecture):
    from llmviz.capture import run_with_cache
    lm = make_random_lm(architecture, gpt2_tokenizer, initializer_range=0.3)
    trace = generate(lm, PROMPT, max_new_tokens=6, temperature=0)
    assert trace.tokens == generate(lm, PROMPT, max_new_tokens=6, temperature=0, capture=None).tokens
    p = len(trace.prompt_ids)
    for i, step in enumerate(trace.steps):
        assert sorted(step.capture.keys()) == sorted(f"blocks.{L}.attn.hook_pattern" for L in range(lm.n_layers))
        n_keys = p + i
        _, full = run_with_cache(lm, trace.ids[:n_keys], names=lambda n: n.endswith("hook_pattern"))
        for L in range(lm.n_layers):
            pattern = step.capture[f"blocks.{L}.attn.hook_pattern"]  # [batch, head, new positions, keys]
            assert tuple(pattern.shape) == (1, lm.n_heads, p if i == 0 else 1, n_keys)
            torch.testing.assert_close(pattern[:, :, -1], full[f"blocks.{L}.attn.hook_pattern"][:, :, -1],
                                       atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_smollm2_greedy_equals_hf(smollm2_lm):
    expected = hf_tokens(smollm2_lm, "The capital of France is", 10, do_sample=False)
    assert generate(smollm2_lm, "The capital of France is", max_new_tokens=10, temperature=0).tokens == expected
