"""The activation-patching sweep of the residual stream as one branching forward, instead of one row per cell.

Patching `blocks.{L}.hook_resid_pre` at position p changes nothing below block L: those blocks compute exactly what
the clean run computes. So the sweep runs the clean prompt once, as batch row 0, and branches on the way up:
entering block L, new rows join the batch, each a copy of the clean residual there ([1, pos, d_model], row 0) with one
position replaced by the source prompt's. A row patched at block L passes through blocks L.. only, and only the last
position is unembedded (`logits_to_keep=1`). Over n_layers blocks that is 1 + n_pos * (L + 1) rows in block L instead
of n_layers * n_pos in every block: about half the work for a small model, and far less unembedding (on tiny, the
vocabulary's 4096 columns are a fifth of a token's compute).

Rows differ in batch size between blocks, which `fwd_hooks=` forbids (an edit returns its tensor's shape), so the
branches are plain forward pre-hooks on the blocks, removed in `finally`. The masks and position tables HF builds for
batch 1 ([1, 1, q, k], [1, q, d_head]) broadcast over the grown batch. Each branch row equals the same cell patched
alone through `run_with_hooks` (tests/test_interventions.py checks every cell, on GPT-2 and Llama).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from llmviz.names import every_layer, parse

TEMPLATE = "blocks.{L}.hook_resid_pre"


def _block(lm, name: str) -> torch.nn.Module:
    spec, layer = parse(name)
    source = spec.sources[lm.architecture]
    assert source.take == "input", source  # resid_pre is what a block reads: its first input
    return lm.model.get_submodule(source.path.format(L=layer))


def branching_sweep(lm, ids: torch.Tensor, source: dict, positions: list[int] | None = None,
                    on_branch: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """The last position's logits with the source's residual patched in at each (layer, position):
    [n_layers, len(positions), d_vocab], one forward.

    ids: the prompt [1, pos]. source: a cache (or dict) holding `blocks.{L}.hook_resid_pre` [1, pos, d_model] of a
    prompt of the same length, for every layer. positions: the positions to patch (default all). on_branch(layer, k)
    is called as each block starts, with the k cells that branch there, for a progress bar."""
    names = every_layer(TEMPLATE, lm.n_layers)
    chosen = list(range(ids.shape[1])) if positions is None else list(positions)
    if not chosen:
        raise ValueError("branching_sweep needs at least one position to patch.")
    where = torch.tensor(chosen, device=lm.device)
    # [layer][k, d_model]: the source's residual at each chosen position, in the model's dtype
    patches = [source[n][0].to(lm.device, lm.model.dtype)[where] for n in names]
    rows = torch.arange(len(chosen), device=lm.device)

    def branch(layer: int):
        def pre(module, args, kwargs):
            x = args[0] if args else kwargs["hidden_states"]  # [1 + layer * k, pos, d_model], row 0 the clean run
            if on_branch is not None:
                on_branch(layer, len(chosen))
            new = x[:1].expand(len(chosen), -1, -1).clone()  # [k, pos, d_model]
            new[rows, where] = patches[layer]
            grown = torch.cat([x, new])
            return ((grown, *args[1:]), kwargs) if args else (args, {**kwargs, "hidden_states": grown})
        return pre

    handles = []
    try:
        for layer, name in enumerate(names):
            handles.append(_block(lm, name).register_forward_pre_hook(branch(layer), with_kwargs=True))
        with torch.no_grad():
            logits = lm.model(input_ids=ids.to(lm.device), use_cache=False, logits_to_keep=1).logits  # [rows, 1, V]
    finally:
        for handle in handles:
            handle.remove()
    return logits[1:, -1].float().view(lm.n_layers, len(chosen), -1)
