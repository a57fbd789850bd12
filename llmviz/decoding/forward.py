"""One model forward for the generation loops, and what it costs: the KV cache's size and the attention work.

`forward()` runs the wrapped HF model once, either plainly or through capture.run_with_cache when names are asked
for, with an HF `DynamicCache` (only the new positions are fed) or without one (everything is recomputed).
`kv_cache_stats()` and `attention_work()` give the numbers notebook 09 compares between the two modes. Shared by
generation.py, speculative.py and beam.py. `next_token_logits()` is the one forward the widgets and notebooks use
for "what comes next". This module does not sample, loop or stop.
"""

from __future__ import annotations

import torch

from llmviz.capture import run_with_cache
from llmviz.kv_cache_argument import cache_argument, returned_cache

DEFAULT_CAPTURE = "default"  # every layer's attention pattern for the new position: small, and grows only with pos


def kv_cache_stats(past) -> tuple[int, int]:
    """(positions, bytes) held by an HF cache; (0, 0) for None."""
    if past is None:
        return 0, 0
    n_bytes = sum(layer.keys.nbytes + layer.values.nbytes for layer in past.layers
                  if getattr(layer, "keys", None) is not None and layer.keys.numel())
    return past.get_seq_length(), n_bytes


def attention_work(lm, n_new: int, n_past: int) -> int:
    """Query·key dot products for n_new causal queries after n_past cached keys, over all layers and heads."""
    per_head = n_new * n_past + n_new * (n_new + 1) // 2  # query i sees n_past + i keys
    return per_head * lm.n_layers * lm.n_heads


def capture_names(lm, capture):
    """The names to capture per step: None for no capture; 'default' for every layer's attention pattern."""
    if capture is None or capture is False:
        return None
    if isinstance(capture, str) and capture == DEFAULT_CAPTURE:
        return [f"blocks.{layer}.attn.hook_pattern" for layer in range(lm.n_layers)]
    if isinstance(capture, str) or callable(capture):
        return capture  # one name, or a predicate on names, as capture.run_with_cache accepts
    return list(capture) or None


def forward(lm, input_ids: torch.Tensor, past, names: list[str] | None, fwd_hooks=None):
    """One model forward: (logits [1, pos, vocab], the HF cache after it or None, ActivationCache or None).

    With `past` (an HF Cache) only the new positions are fed; with past=None and no cache, everything is recomputed.
    fwd_hooks: edits applied in this forward (they see only the positions fed to it).
    """
    use_cache = past is not None
    if names or fwd_hooks:
        logits, cache = run_with_cache(lm, input_ids, names=names or [], past_key_values=past, use_cache=use_cache,
                                       fwd_hooks=fwd_hooks)
        return logits, (cache.past_key_values if use_cache else None), (cache if names else None)
    with torch.no_grad():
        out = lm.model(input_ids=input_ids, use_cache=use_cache, **cache_argument(past))
    return out.logits, (returned_cache(out) if use_cache else None), None


def next_token_logits(lm, prompt) -> torch.Tensor:
    """The model's logits [d_vocab] for the token after `prompt` (text or ids): one plain forward, nothing captured.

    `lm.to_tokens` checks the prompt first (empty, too long, out of vocabulary), so a widget can show its message.
    """
    ids = lm.to_tokens(prompt)  # [1, pos]
    with torch.no_grad():
        return lm.model(input_ids=ids).logits[0, -1]  # the last position predicts the next token


def new_cache(lm):
    from transformers import DynamicCache
    return DynamicCache(config=lm.model.config)


def eos_ids(lm) -> set[int]:
    ids = lm.model.generation_config.eos_token_id
    if ids is None:
        ids = lm.tokenizer.eos_token_id
    if ids is None:
        return set()
    return {int(i) for i in ids} if isinstance(ids, list | tuple) else {int(ids)}
