""""dog bites man" vs "man bites dog": what attention sees when learned positions are removed.

Without position information a token's key and value depend only on the token, so the first layer sees the two
sentences as the same bag of keys and values, merely reordered. A query that can see every token (the last
position, under the causal mask) therefore gets exactly the same attention output for both sentences: attention
alone cannot tell who bit whom. With GPT-2's learned positions added, the keys and values differ and so does that
output. We keep the last token fixed (" dog bites man." vs " man bites dog.") so the last query is the same token.

Two honest caveats, both returned as numbers rather than hidden: only the last position sees the whole bag (an
earlier position sees a different prefix in each sentence), and from the second layer on the causal mask itself
leaks order (position 0 has attended only to itself), so the last position's residual stream differs again after
layer 1 even without positions. Positions are removed with a forward hook on `wpe` that returns zeros; the hook is
removed in a `finally` and the weights are never touched. GPT-2-family models only. This module draws nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class SentenceRun:
    """Layer 0 of one sentence: keys, values and attention output at every position, all heads side by side."""

    text: str
    ids: list[int]
    tokens: list[str]
    keys: torch.Tensor  # [pos, d_model]: layer 0's k for every head, concatenated (head-major)
    values: torch.Tensor  # [pos, d_model]
    attention_out: torch.Tensor  # [pos, d_model]: layer 0's attention output, after the output projection
    last_residual: torch.Tensor  # [n_layers + 1, d_model]: the last position's residual stream, embeddings first


@dataclass
class Condition:
    """Both sentences under one condition (with or without positions), and how they compare."""

    positions: bool
    original: SentenceRun
    permuted: SentenceRun
    keys_values_max_diff: float  # max |kv_permuted - kv_original reordered|: 0 means merely permuted
    last_attention_max_diff: float  # max |attention_out at the last position|, permuted vs original
    last_residual_max_diff: list[float]  # [n_layers + 1]: per layer, embeddings first


@dataclass
class WordOrderResult:
    original: str
    permuted: str
    token_order: list[int]  # permuted position p holds the token at original position token_order[p]
    with_positions: Condition
    without_positions: Condition


def _sentence_ids(tokenizer, words: list[str], final: str) -> list[list[int]]:
    """One block of ids per word (each with a leading space, so a word is the same tokens wherever it stands)."""
    return [tokenizer(" " + w, add_special_tokens=False)["input_ids"] for w in words] + \
        [tokenizer(final, add_special_tokens=False)["input_ids"]]


def _run(lm, ids: list[int], text: str, positions: bool) -> SentenceRun:
    transformer = lm.model.transformer
    attention = transformer.h[0].attn
    seen: dict = {}

    def keep(name):
        def hook(module, inputs, output):
            seen[name] = (output[0] if isinstance(output, tuple) else output).detach()
        return hook

    modules = {"qkv": attention.c_attn, "out": attention, "resid.0": transformer.drop}  # drop: after wte + wpe
    modules.update({f"resid.{i + 1}": block for i, block in enumerate(transformer.h)})
    hooks = [module.register_forward_hook(keep(name)) for name, module in modules.items()]
    if not positions:
        hooks.append(transformer.wpe.register_forward_hook(lambda m, i, o: torch.zeros_like(o)))
    try:
        with torch.no_grad():
            lm.model(torch.tensor([ids], device=lm.device))
    finally:
        for hook in hooks:
            hook.remove()
    d = lm.d_model
    qkv = seen["qkv"][0].float().cpu()  # [pos, 3 * d_model]: q, k, v side by side (GPT-2's fused c_attn)
    # [n_layers + 1, d]: the raw residual stream at the last position (HF's last hidden state is after ln_f)
    residual = torch.stack([seen[f"resid.{i}"][0, -1] for i in range(lm.n_layers + 1)]).float().cpu()
    return SentenceRun(text=text, ids=ids, tokens=lm.tokenizer.convert_ids_to_tokens(ids), keys=qkv[:, d:2 * d],
                       values=qkv[:, 2 * d:], attention_out=seen["out"][0].float().cpu(), last_residual=residual)


def word_order(lm, words=("dog", "bites", "man"), order=(2, 1, 0), final: str = ".") -> WordOrderResult:
    """Run `words` and their permutation `order` through `lm` with and without learned positions.

    order: a permutation of range(len(words)); (2, 1, 0) turns "dog bites man" into "man bites dog".
    final: text appended to both sentences, so the last position holds the same token in both.
    """
    if getattr(getattr(lm.model, "transformer", None), "wpe", None) is None:
        raise ValueError(f"word_order needs a GPT-2-family model with learned positions (`wpe`); {lm.name} is "
                         f"{lm.architecture}, whose RoPE rotates q and k inside attention instead.")
    words = list(words)
    if sorted(order) != list(range(len(words))) or len(words) < 2:
        raise ValueError(f"order must be a permutation of 0..{len(words) - 1} (at least two words), not {order!r}.")
    if not final:
        raise ValueError("final must be a non-empty string (e.g. '.'), so both sentences end on the same token.")
    blocks = _sentence_ids(lm.tokenizer, words, final)
    starts = [sum(len(b) for b in blocks[:i]) for i in range(len(blocks))]
    ids = [i for b in blocks for i in b]
    new_blocks = [*order, len(words)]  # the final block stays last
    permuted_ids = [i for b in new_blocks for i in blocks[b]]
    token_order = [starts[b] + j for b in new_blocks for j in range(len(blocks[b]))]
    original_text = " " + " ".join(words) + final
    permuted_text = " " + " ".join(words[i] for i in order) + final
    conditions = []
    for positions in (True, False):
        a = _run(lm, ids, original_text, positions)
        b = _run(lm, permuted_ids, permuted_text, positions)
        kv_a = torch.cat([a.keys, a.values], dim=-1)[token_order]  # original, reordered like the permuted sentence
        kv_b = torch.cat([b.keys, b.values], dim=-1)
        conditions.append(Condition(
            positions=positions, original=a, permuted=b,
            keys_values_max_diff=float((kv_b - kv_a).abs().max()),
            last_attention_max_diff=float((b.attention_out[-1] - a.attention_out[-1]).abs().max()),
            last_residual_max_diff=(b.last_residual - a.last_residual).abs().amax(dim=-1).tolist()))
    return WordOrderResult(original=original_text, permuted=permuted_text, token_order=token_order,
                           with_positions=conditions[0], without_positions=conditions[1])
