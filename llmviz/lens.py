"""The logit lens: decode the residual stream after every block as if the model stopped there.

Each residual (the embedding `blocks.0.hook_resid_pre`, then `blocks.{L}.hook_resid_post` for every block) goes through
the model's own final norm and unembedding, the real HF modules, so the last row equals the model's logits. The result
is a dataclass of tensors and token strings: the top tokens and probabilities per layer and position, the probability
each layer gives to the token the model finally predicts, and optionally the full log-probabilities. It does not run
the whole model again or draw anything; notebook 06 and viz/ turn it into figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from llmviz.names import BY_TEMPLATE


@dataclass
class LogitLens:
    """The residual stream decoded after every block, for one batch row. `layer` 0 is the embedding (resid_pre 0),
    `layer` L + 1 the output of block L; n = n_layers + 1 rows."""
    labels: list[str]               # n: 'embed', 'block 0', ..., 'block N-1'
    top_ids: torch.Tensor           # [n, pos, top_k] token ids, most probable first
    top_probs: torch.Tensor         # [n, pos, top_k]
    top_tokens: list[list[list[str]]]  # [n][pos][top_k] readable tokens ('␣cat')
    final_ids: torch.Tensor         # [pos] the token the model predicts at each position (argmax of its logits)
    final_probs: torch.Tensor       # [n, pos] probability each layer gives to final_ids
    log_probs: torch.Tensor | None  # [n, pos, d_vocab] when keep_log_probs=True (n x pos x vocab floats: large)


def _final_norm(lm) -> torch.nn.Module:
    return lm.model.get_submodule(BY_TEMPLATE["ln_final.hook_normalized"].sources[lm.architecture].path)


def logit_lens(lm, cache, top_k: int = 5, batch: int = 0, keep_log_probs: bool = False) -> LogitLens:
    """Decode blocks.0.hook_resid_pre and every blocks.{L}.hook_resid_post of `cache` through ln_final and the
    unembedding. Returns a LogitLens (top tokens per layer and position, [n_layers + 1, pos, ...] tensors)."""
    if not isinstance(top_k, int) or not 1 <= top_k <= lm.d_vocab:
        raise ValueError(f"top_k must be an int in 1..{lm.d_vocab}, not {top_k!r}.")
    names = ["blocks.0.hook_resid_pre"] + [f"blocks.{L}.hook_resid_post" for L in range(lm.n_layers)]
    missing = [n for n in names if n not in cache]
    if missing:
        raise KeyError(f"The logit lens needs {missing[0]} (and {len(missing) - 1} more) in the cache; run "
                       "run_with_cache with names=None or names=lambda n: 'resid_p' in n.")
    n_batch = cache[names[0]].shape[0]
    if not 0 <= batch < n_batch:
        raise ValueError(f"batch must be in 0..{n_batch - 1}, not {batch}.")
    norm, unembed = _final_norm(lm), lm.model.get_output_embeddings()
    param = next(lm.model.parameters())

    def decode(name: str) -> torch.Tensor:  # [pos, d_vocab] log-probs of one residual, through the real modules
        resid = cache[name][batch].to(device=param.device, dtype=param.dtype)  # [pos, d_model]
        return torch.log_softmax(unembed(norm(resid)).float(), dim=-1).cpu()

    with torch.no_grad():
        last = decode(names[-1])
        final_ids = last.argmax(-1)  # [pos]
        top_ids, top_probs, final_probs, kept = [], [], [], []
        for name in names:  # one layer at a time, so memory holds one layer's [pos, d_vocab] unless asked to keep
            layer = last if name == names[-1] else decode(name)
            top = layer.topk(top_k, dim=-1)
            top_ids.append(top.indices)
            top_probs.append(top.values.exp())
            final_probs.append(layer.gather(-1, final_ids[:, None])[:, 0].exp())
            if keep_log_probs:
                kept.append(layer)
    top_ids = torch.stack(top_ids)  # [n, pos, top_k]
    unique = top_ids.unique().tolist()
    readable = dict(zip(unique, (lm.to_str_tokens([i])[0] for i in unique), strict=True))
    tokens = [[[readable[i] for i in row] for row in layer] for layer in top_ids.tolist()]
    return LogitLens(labels=["embed"] + [f"block {L}" for L in range(lm.n_layers)], top_ids=top_ids,
                     top_probs=torch.stack(top_probs), top_tokens=tokens, final_ids=final_ids,
                     final_probs=torch.stack(final_probs), log_probs=torch.stack(kept) if keep_log_probs else None)
