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

from llmviz.names import BY_TEMPLATE, residual_stream_names


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


def logit_lens(lm, cache, top_k: int = 5, batch: int = 0, keep_log_probs: bool = False, rows: int = 512) -> LogitLens:
    """Decode blocks.0.hook_resid_pre and every blocks.{L}.hook_resid_post of `cache` through ln_final and the
    unembedding, `rows` vectors per matmul. Returns a LogitLens (top tokens per layer and position,
    [n_layers + 1, pos, ...] tensors)."""
    if not isinstance(top_k, int) or not 1 <= top_k <= lm.d_vocab:
        raise ValueError(f"top_k must be an int in 1..{lm.d_vocab}, not {top_k!r}.")
    names = residual_stream_names(lm.n_layers)
    missing = [n for n in names if n not in cache]
    if missing:
        raise KeyError(f"The logit lens needs {missing[0]} (and {len(missing) - 1} more) in the cache; run "
                       "run_with_cache with names=None or names=llmviz.names.residual_stream_names(lm.n_layers).")
    n_batch = cache[names[0]].shape[0]
    if not 0 <= batch < n_batch:
        raise ValueError(f"batch must be in 0..{n_batch - 1}, not {batch}.")
    norm, unembed = _final_norm(lm), lm.model.get_output_embeddings()
    param = next(lm.model.parameters())

    def decode(resid: torch.Tensor) -> torch.Tensor:  # [rows, d_model] -> [rows, d_vocab] log-probs, real modules
        return torch.log_softmax(unembed(norm(resid.to(device=param.device, dtype=param.dtype))).float(), -1).cpu()

    stream = torch.stack([cache[name][batch] for name in names])  # [n, pos, d_model]
    n, pos = stream.shape[:2]
    top_ids, top_probs, final_probs, kept = [], [], [], []

    def keep(log_probs: torch.Tensor, targets: torch.Tensor) -> None:  # [rows, d_vocab], [rows] final ids
        top = log_probs.topk(top_k, dim=-1)
        top_ids.append(top.indices)
        top_probs.append(top.values.exp())
        final_probs.append(log_probs.gather(-1, targets[:, None])[:, 0].exp())
        if keep_log_probs:
            kept.append(log_probs)

    with torch.no_grad():
        last = decode(stream[-1])  # [pos, d_vocab], the model's own prediction: decoded once, kept for the end
        final_ids = last.argmax(-1)  # [pos]
        # The other depths go through the unembedding in chunks of `rows` vectors, not one matmul per layer: a
        # single position's 30 earlier depths on SmolLM2 would otherwise read the 49152 x 576 matrix 30 times.
        # Memory holds one chunk's [rows, d_vocab] (and the last depth's) unless asked to keep everything.
        for chunk, targets in zip(stream[:-1].reshape((n - 1) * pos, -1).split(rows),
                                  final_ids.repeat(n - 1).split(rows), strict=True):
            keep(decode(chunk), targets)
        keep(last, final_ids)
    top_ids = torch.cat(top_ids).reshape(n, pos, top_k)
    unique = top_ids.unique().tolist()
    readable = dict(zip(unique, (lm.to_str_tokens([i])[0] for i in unique), strict=True))
    tokens = [[[readable[i] for i in row] for row in layer] for layer in top_ids.tolist()]
    return LogitLens(labels=["embed"] + [f"block {L}" for L in range(lm.n_layers)], top_ids=top_ids,
                     top_probs=torch.cat(top_probs).reshape(n, pos, top_k), top_tokens=tokens, final_ids=final_ids,
                     final_probs=torch.cat(final_probs).reshape(n, pos),
                     log_probs=torch.cat(kept).reshape(n, pos, -1) if keep_log_probs else None)


def logit_lens_at(lm, cache, position: int, top_k: int = 5, batch: int = 0) -> LogitLens:
    """The logit lens of one input position: logit_lens on that position's column of `cache` (every tensor of the
    result has pos = 1). It costs n_layers + 1 rows through the unembedding instead of (n_layers + 1) * pos, which
    is what a widget showing one position at a time needs."""
    # [batch, pos, d_model] each
    resid = {name: cache[name] for name in residual_stream_names(lm.n_layers) if name in cache}
    n_pos = next(iter(resid.values())).shape[1] if resid else 1  # no residual: logit_lens says which it needs
    if not isinstance(position, int) or not -n_pos <= position < n_pos:
        raise ValueError(f"position must be an int in {-n_pos}..{n_pos - 1} for a {n_pos}-token prompt, "
                         f"not {position!r}.")
    at = position % n_pos
    return logit_lens(lm, {name: t[:, at:at + 1] for name, t in resid.items()}, top_k=top_k, batch=batch)
