""""dog bites man" vs "man bites dog": what attention sees when position information is removed.

Without position information a token's key and value depend only on the token, so the first layer sees the two
sentences as the same bag of keys and values, merely reordered. A query that can see every token (the last
position, under the causal mask) therefore gets exactly the same attention output for both sentences: attention
alone cannot tell who bit whom. With positions, the keys differ and so does that output. We keep the last token
fixed (" dog bites man." vs " man bites dog.") so the last query is the same token in both.

Positions are removed by a forward hook, removed again in a `finally`; no weight is touched. GPT-2: the hook makes
`wpe` return zeros. Llama (RoPE): the hook makes the rotary tables cos = 1, sin = 0, a rotation by angle 0; there
positions only ever enter through q and k, so v is merely permuted even with positions on.

Two honest caveats, both returned as numbers rather than hidden: only the last position sees the whole bag (an
earlier position sees a different prefix in each sentence), and from the second layer on the causal mask itself
leaks order (position 0 has attended only to itself), so the last position's residual stream differs again after
layer 1 even without positions. This module draws nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from llmviz.stages.positional import apply_rope


@dataclass
class SentenceRun:
    """Layer 0 of one sentence: keys, values and attention output at every position, all heads side by side."""

    text: str
    ids: list[int]
    tokens: list[str]
    keys: torch.Tensor  # [pos, kv_head * d_head]: layer 0's k (after RoPE for Llama), heads side by side
    values: torch.Tensor  # [pos, kv_head * d_head]
    attention_out: torch.Tensor  # [pos, d_model]: layer 0's attention output, after the output projection
    last_residual: torch.Tensor  # [n_layers + 1, d_model]: the last position's residual stream, embeddings first


@dataclass
class Condition:
    """Both sentences under one condition (with or without positions), and how they compare."""

    positions: bool
    original: SentenceRun
    permuted: SentenceRun
    keys_max_diff: float  # max |k_permuted - k_original reordered|: 0 means merely permuted
    values_max_diff: float  # the same for v (RoPE never rotates v, so this is 0 for Llama even with positions)
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


def _sites(lm) -> tuple[dict, object, str]:
    """(modules to hook by name, the module whose output carries position information, how to erase it)."""
    if lm.architecture == "gpt2":
        transformer = lm.model.transformer
        attention = transformer.h[0].attn
        sites = {"qkv": attention.c_attn, "out": attention, "resid.0": transformer.drop}  # drop: after wte + wpe
        sites.update({f"resid.{i + 1}": block for i, block in enumerate(transformer.h)})
        return sites, transformer.wpe, "zero"
    if lm.architecture == "llama":
        body = lm.model.model
        attention = body.layers[0].self_attn
        sites = {"k": attention.k_proj, "v": attention.v_proj, "out": attention, "resid.0": body.embed_tokens}
        sites.update({f"resid.{i + 1}": layer for i, layer in enumerate(body.layers)})
        return sites, body.rotary_emb, "identity"
    raise ValueError(f"word_order supports GPT-2 and Llama models, not {lm.architecture!r}.")


def _erase_positions(kind: str):
    """A forward hook that removes position information: zero learned positions, or rotate by angle 0 (RoPE)."""
    def hook(module, inputs, output):
        if kind == "zero":
            return torch.zeros_like(output)
        cos, sin = output
        return torch.ones_like(cos), torch.zeros_like(sin)
    return hook


def _run(lm, ids: list[int], text: str, positions: bool) -> SentenceRun:
    sites, position_module, kind = _sites(lm)
    seen: dict = {}

    def keep(name):
        def hook(module, inputs, output):
            seen[name] = output[0].detach() if isinstance(output, tuple) else output.detach()
        return hook

    hooks = [module.register_forward_hook(keep(name)) for name, module in sites.items()]
    if not positions:  # registered before the `rope` hook below, so that hook sees the erased tables
        hooks.append(position_module.register_forward_hook(_erase_positions(kind)))
    if kind == "identity":
        hooks.append(position_module.register_forward_hook(
            lambda m, i, o: seen.__setitem__("rope", tuple(t.detach() for t in o))))
    try:
        with torch.no_grad():
            lm.model(torch.tensor([ids], device=lm.device))
    finally:
        for hook in hooks:
            hook.remove()
    if kind == "zero":
        d = lm.d_model
        qkv = seen["qkv"][0].float().cpu()  # [pos, 3 * d_model]: q, k, v side by side (GPT-2's fused c_attn)
        keys, values = qkv[:, d:2 * d], qkv[:, 2 * d:]
    else:
        # RoPE turns keys inside attention: rotate k_proj's output [pos, kv_head * d_head] the way the model does
        cos, sin = (t[0].float().cpu() for t in seen["rope"])  # [pos, d_head]
        k = seen["k"][0].float().cpu().unflatten(-1, (lm.n_kv_heads, lm.d_head)).transpose(0, 1)  # [kv, pos, d]
        keys = apply_rope(k, cos, sin).transpose(0, 1).flatten(1)  # [pos, kv_head * d_head]
        values = seen["v"][0].float().cpu()  # values are never rotated
    # [n_layers + 1, d]: the raw residual stream at the last position (HF's last hidden state is after the norm)
    residual = torch.stack([seen[f"resid.{i}"][0, -1] for i in range(lm.n_layers + 1)]).float().cpu()
    return SentenceRun(text=text, ids=ids, tokens=lm.tokenizer.convert_ids_to_tokens(ids), keys=keys,
                       values=values, attention_out=seen["out"][0].float().cpu(), last_residual=residual)


def word_order(lm, words=("dog", "bites", "man"), order=(2, 1, 0), final: str = ".") -> WordOrderResult:
    """Run `words` and their permutation `order` through `lm` (GPT-2 or Llama) with and without positions.

    order: a permutation of range(len(words)); (2, 1, 0) turns "dog bites man" into "man bites dog".
    final: text appended to both sentences, so the last position holds the same token in both.
    """
    _sites(lm)  # fails early, and clearly, for an architecture we cannot take positions out of
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
        conditions.append(Condition(
            positions=positions, original=a, permuted=b,  # a's rows reordered like the permuted sentence:
            keys_max_diff=float((b.keys - a.keys[token_order]).abs().max()),
            values_max_diff=float((b.values - a.values[token_order]).abs().max()),
            last_attention_max_diff=float((b.attention_out[-1] - a.attention_out[-1]).abs().max()),
            last_residual_max_diff=(b.last_residual - a.last_residual).abs().amax(dim=-1).tolist()))
    return WordOrderResult(original=original_text, permuted=permuted_text, token_order=token_order,
                           with_positions=conditions[0], without_positions=conditions[1])
