"""Direct logit attribution: a token's final logit split into what each part of the model wrote to the residual stream.

The residual stream that reaches the final norm is a sum: the embeddings, each head's result (that head's z through its
slice of the attention output projection), each MLP's output, and the output projections' biases. With the final norm's
divisor frozen from the run (`ln_final.hook_scale`), the norm is linear: centring (LayerNorm only) is linear, so each
part is centred over d_model on its own, divided by the frozen divisor, scaled by the norm's weight and dotted with the
token's unembedding row (or the difference of two rows). The norm's own bias and the unembedding's bias join the
"biases" term. The parts sum to the model's logit, or logit difference, to rounding (a test checks 1e-4).
`stack_head_results` is TransformerLens's per-head result stack `[layer, head, batch, pos, d_model]`. This module reads
a cache and the model's weights; it does not run the model (run `run_with_cache(names=attribution_names(lm))`) or draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from llmviz.names import BY_TEMPLATE, every_layer

_ATTENTION_OUTPUT = {"gpt2": "c_proj", "llama": "o_proj"}  # the attention module's output projection, per architecture


def attribution_names(lm) -> list[str]:
    """What direct_logit_attribution reads from a cache: the embeddings, every z and MLP output, the final norm's
    divisor and the logits."""
    embeddings = [n for n in ("hook_embed", "hook_pos_embed") if lm.architecture in BY_TEMPLATE[n].sources]
    return [*embeddings, *every_layer("blocks.{L}.attn.hook_z", lm.n_layers),
            *every_layer("blocks.{L}.hook_mlp_out", lm.n_layers), "ln_final.hook_scale", "hook_logits"]


def _module(lm, template: str, layer: int | None = None, child: str | None = None) -> nn.Module:
    path = BY_TEMPLATE[template].sources[lm.architecture].path.format(L=layer)
    return lm.model.get_submodule(f"{path}.{child}" if child else path)


def _in_out(projection: nn.Module) -> torch.Tensor:
    """A projection's weight as [in, out]: nn.Linear stores (out, in); GPT-2's Conv1D stores (in, out)."""
    return projection.weight.T if isinstance(projection, nn.Linear) else projection.weight


def _attention_output(lm, layer: int) -> nn.Module:
    return _module(lm, "blocks.{L}.hook_attn_out", layer, _ATTENTION_OUTPUT[lm.architecture])


def output_weights(lm, layer: int) -> torch.Tensor:
    """W_O of one layer per head: [head, d_head, d_model] (z[..., h, :] @ W_O[h] is head h's result)."""
    return _in_out(_attention_output(lm, layer)).detach().reshape(lm.n_heads, lm.d_head, lm.d_model)


def stack_head_results(lm, cache, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Every head's result, what it adds to the residual stream without the projection's bias:
    [layer, head, batch, pos, d_model], from the cache's z [layer, batch, pos, head, d_head], as TransformerLens's
    `stack_head_results`. Summed over heads, plus the bias, it is `blocks.{L}.hook_attn_out`."""
    z = cache.stack("z")  # [layer, batch, pos, head, d_head]
    dtype = dtype or z.dtype
    weights = torch.stack([output_weights(lm, L) for L in range(lm.n_layers)]).to("cpu", dtype)  # [l, h, d, m]
    return torch.einsum("lbphd,lhdm->lhbpm", z.to(dtype), weights)


@dataclass
class LogitAttribution:
    """The logit (or logit difference) at every position, split by where it came from. float64, [batch, pos] each."""
    embeddings: torch.Tensor  # [batch, pos] token (and learned position) embeddings
    heads: torch.Tensor       # [layer, head, batch, pos] each head's result through its output projection
    mlps: torch.Tensor        # [layer, batch, pos] each MLP's output without its projection's bias
    biases: torch.Tensor      # [batch, pos] output-projection biases, the final norm's and the unembedding's bias
    logit: torch.Tensor       # [batch, pos] what the model computed (from hook_logits), to compare with total

    @property
    def total(self) -> torch.Tensor:
        """The sum of every part: [batch, pos], equal to `logit` to rounding."""
        return self.embeddings + self.heads.sum((0, 1)) + self.mlps.sum(0) + self.biases

    def components(self) -> tuple[list[str], torch.Tensor]:
        """Labels ('embeddings', 'L0H0', ..., 'L0 MLP', ..., 'biases') and the parts: [component, batch, pos]."""
        n_layers, n_heads = self.heads.shape[:2]
        labels, rows = ["embeddings"], [self.embeddings]
        for L in range(n_layers):
            labels += [f"L{L}H{h}" for h in range(n_heads)] + [f"L{L} MLP"]
            rows += [*self.heads[L], self.mlps[L]]
        return labels + ["biases"], torch.stack(rows + [self.biases])


def _token_id(lm, token: int | str) -> int:
    if isinstance(token, str):
        ids = lm.to_tokens(token)[0]
        if len(ids) != 1:
            raise ValueError(f"{token!r} is {len(ids)} tokens ({lm.to_str_tokens(token)}); attribute one token.")
        return int(ids[0])
    if not 0 <= int(token) < lm.d_vocab:
        raise ValueError(f"token must be an id in [0, {lm.d_vocab}) or a one-token string, not {token!r}.")
    return int(token)


def direct_logit_attribution(lm, cache, token: int | str, versus: int | str | None = None) -> LogitAttribution:
    """Split the logit of `token` (minus the logit of `versus`, when given) at every position into the embeddings,
    every head, every MLP and the biases, through the final norm with its divisor frozen from `cache`.

    cache: from run_with_cache with at least attribution_names(lm). Returns a LogitAttribution of [batch, pos] parts."""
    missing = [n for n in attribution_names(lm) if n not in cache]
    if missing:
        raise KeyError(f"Direct logit attribution needs {missing[0]} (and {len(missing) - 1} more) in the cache; run "
                       "run_with_cache with names=None or names=llmviz.stages.attribution.attribution_names(lm).")
    f64 = torch.float64  # so the parts' rounding stays far below the 1e-4 the sum is checked to
    ids = [_token_id(lm, token)] + ([_token_id(lm, versus)] if versus is not None else [])
    signs = torch.tensor([1.0, -1.0][:len(ids)], dtype=f64)
    unembed = lm.model.get_output_embeddings()
    direction = signs @ unembed.weight.detach()[ids].to("cpu", f64)  # [d_model]
    norm = _module(lm, "ln_final.hook_normalized")
    centre = isinstance(norm, nn.LayerNorm)
    scale = cache["ln_final.hook_scale"].to(f64)  # [batch, pos, 1], frozen from the run

    def read(x: torch.Tensor) -> torch.Tensor:
        """[..., batch, pos, d_model] written to the stream -> [..., batch, pos] of the logit (difference)."""
        x = x.to(f64)
        if centre:
            x = x - x.mean(-1, keepdim=True)
        return (x / scale) @ (norm.weight.detach().to("cpu", f64) * direction)

    embeddings = sum(read(cache[n]) for n in attribution_names(lm) if n in ("hook_embed", "hook_pos_embed"))
    heads = read(stack_head_results(lm, cache, f64))  # [layer, head, batch, pos]
    bias_vectors = []  # d_model vectors added at every position
    mlps = []
    for L in range(lm.n_layers):
        attention_bias = _attention_output(lm, L).bias
        mlp_bias = _module(lm, "blocks.{L}.mlp.hook_post", L).bias  # hook_post is the MLP projection's input
        bias_vectors += [b.detach().to("cpu", f64) for b in (attention_bias, mlp_bias) if b is not None]
        mlp_out = cache["mlp_out", L].to(f64)
        mlps.append(read(mlp_out - mlp_bias.detach().to("cpu", f64) if mlp_bias is not None else mlp_out))
    biases = read(sum(bias_vectors) + torch.zeros_like(cache["hook_embed"], dtype=f64))
    if getattr(norm, "bias", None) is not None:  # RMSNorm has none
        biases = biases + norm.bias.detach().to("cpu", f64) @ direction
    if unembed.bias is not None:
        biases = biases + signs @ unembed.bias.detach()[ids].to("cpu", f64)
    logits = cache["hook_logits"][..., ids].to(f64)  # [batch, pos, 1 or 2]
    return LogitAttribution(embeddings, heads, torch.stack(mlps), biases, logits @ signs)
