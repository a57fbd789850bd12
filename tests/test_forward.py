"""One forward with or without a KV cache: same logits, and the cache size and attention work it reports."""

import torch
from conftest import make_random_lm

from llmviz.decoding.forward import attention_work, forward, kv_cache_stats, new_cache


def test_cached_forwards_equal_one_full_forward_and_sizes(gpt2_tokenizer):
    lm = make_random_lm("llama", gpt2_tokenizer)  # GQA, so the cache holds n_kv_heads, not n_heads
    ids = torch.tensor([[5, 17, 300, 42, 7, 99]])
    full, past, _ = forward(lm, ids, None, None)
    assert past is None and kv_cache_stats(past) == (0, 0)
    cache = new_cache(lm)
    first, cache, _ = forward(lm, ids[:, :4], cache, None)
    second, cache, _ = forward(lm, ids[:, 4:], cache, None)
    torch.testing.assert_close(torch.cat([first, second], dim=1), full, atol=1e-5, rtol=1e-4)
    positions, n_bytes = kv_cache_stats(cache)
    assert positions == 6 and n_bytes == 2 * lm.n_layers * 6 * lm.n_kv_heads * lm.d_head * 4


def test_attention_work_counts_the_causal_mask():
    class Sizes:
        n_layers, n_heads = 3, 5
    for n_past, n_new in ((0, 1), (0, 7), (9, 1), (4, 3)):
        mask = torch.ones(n_past + n_new, n_past + n_new).tril()[n_past:]  # the rows of the new queries
        assert attention_work(Sizes, n_new, n_past) == int(mask.sum()) * 3 * 5
