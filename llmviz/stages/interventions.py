"""Ready-made edits for notebook 12, each a `(name, fn)` pair for `fwd_hooks=`: ablate, patch, steer.

`ablation` zeroes, or replaces with its mean over batch and positions from a reference cache, one head, one position
or the whole tensor of any capture name; `ablate_head`, `ablate_mlp` and `ablate_position` name the usual places.
`patch` copies another prompt's activation (same length) in at chosen positions. `patch_cells` patches many
(layer, position) cells in one forward, one cell per batch row, instead of one forward per cell; `patching_sweep`
patches every cell, for the residual stream in one branching forward (branching_sweep.py);
`head_ablation_sweep` removes every head in turn the same way. `steer` adds a vector to the residual stream entering a
block. `causal_cone` measures where an edit travelled. Axes come from the shapes names.py declares, never from a
name's suffix. Positions count within the forward: with a KV cache, a generation step holds only its new positions.
This module builds edits and runs batched forwards through capture.py; it does not draw or choose what to patch.
"""

from __future__ import annotations

import torch

from llmviz.capture import run_with_hooks
from llmviz.names import BY_TEMPLATE, every_layer, parse
from llmviz.stages.branching_sweep import TEMPLATE, branching_sweep

# A branching sweep's forward holds at most about this many rows x positions per block (SmolLM2's MLP at 8192:
# about 50 MB), so a long prompt on a deep model takes a few forwards instead of one that fills memory.
ROW_TOKENS = 8192

_POSITION_AXES = ("pos", "query_pos", "key_pos")
_HEAD_AXES = ("head", "kv_head")


def _declared(name: str):
    try:
        return parse(name)[0]
    except KeyError:
        raise ValueError(f"{name!r} is not a capture name; llmviz.names.names_for(architecture, n_layers) lists "
                         "them.") from None


def _axis(name: str, choices: tuple[str, ...]) -> int | None:
    """The first axis of `name`'s declared shape that is one of `choices` (the layout is the same in GPT-2 and
    Llama for every name that has one)."""
    axes = _declared(name).shape.split()
    return next((axes.index(a) for a in choices if a in axes), None)


def _one(i: int) -> slice:
    """Index i as a slice that keeps its axis (so a [1, ...] mean broadcasts); -1 works too."""
    return slice(i, i + 1 if i != -1 else None)


def _index(name: str, ndim: int, head: int | None, position: int | None) -> tuple:
    index = [slice(None)] * ndim
    for value, choices, what in ((head, _HEAD_AXES, "head"), (position, _POSITION_AXES, "position")):
        if value is None:
            continue
        axis = _axis(name, choices)
        if axis is None:
            raise ValueError(f"{name} has no {what} axis (its shape is '{_declared(name).shape}').")
        index[axis] = _one(value)
    return tuple(index)


def ablation(name: str, head: int | None = None, position: int | None = None, mean_from=None):
    """An edit that replaces part of `name`'s tensor: zero, or with `mean_from` (a cache or tensor holding `name`,
    [batch, ...]) its mean over batch and positions. head/position pick one index of those axes; None takes all.
    Returns (name, fn) for fwd_hooks."""
    _declared(name)
    mean = None
    if mean_from is not None:
        reference = mean_from[name] if not isinstance(mean_from, torch.Tensor) else mean_from
        position_axis = _axis(name, _POSITION_AXES)
        averaged = (0,) if position_axis is None else (0, position_axis)
        mean = reference.float().mean(averaged, keepdim=True)  # [1, 1, ...]: broadcasts over batch and positions

    def ablate(tensor, hook):
        index = _index(name, tensor.dim(), head, position)
        if mean is None:
            tensor[index] = 0
        else:
            mean_index = tuple(i if axis != _axis(name, _POSITION_AXES) else slice(None) for axis, i in
                               enumerate(index))
            tensor[index] = mean.to(tensor.device, tensor.dtype)[mean_index]
        return tensor
    return name, ablate


def ablate_head(layer: int, head: int, mean_from=None):
    """Remove one head: its z (`blocks.{layer}.attn.hook_z`, [batch, pos, head, d_head]) zeroed or mean-ablated."""
    return ablation(BY_TEMPLATE["blocks.{L}.attn.hook_z"].name(layer), head=head, mean_from=mean_from)


def ablate_mlp(layer: int, mean_from=None):
    """Remove one MLP: `blocks.{layer}.hook_mlp_out` zeroed or mean-ablated."""
    return ablation(BY_TEMPLATE["blocks.{L}.hook_mlp_out"].name(layer), mean_from=mean_from)


def ablate_position(layer: int, position: int, mean_from=None, template: str = "blocks.{L}.hook_resid_pre"):
    """Remove one position from the residual stream entering block `layer` (or from `template`'s tensor)."""
    return ablation(BY_TEMPLATE[template].name(layer), position=position, mean_from=mean_from)


def patch(name: str, source, positions: int | list[int] | None = None):
    """An edit that copies `source`'s activation at `name` (a cache or a tensor of the same shape, from a prompt of
    the same length) into the run, at `positions` (None: every position). Returns (name, fn)."""
    source_tensor = source[name] if not isinstance(source, torch.Tensor) else source
    axis = _axis(name, _POSITION_AXES)
    chosen = [positions] if isinstance(positions, int) else positions

    def patch_in(tensor, hook):
        _check_lengths(name, source_tensor, tensor)
        index = [slice(None)] * tensor.dim()
        if chosen is not None:
            index[axis] = chosen
        tensor[tuple(index)] = source_tensor.to(tensor.device, tensor.dtype).expand_as(tensor)[tuple(index)]
        return tensor
    return name, patch_in


def _check_lengths(name: str, source: torch.Tensor, tensor: torch.Tensor) -> None:
    if source.shape[1:] != tensor.shape[1:]:
        raise ValueError(f"Patching {name} needs the source's shape {list(source.shape)} to match the run's "
                         f"{list(tensor.shape)} (batch aside): use two prompts of the same length.")


def patch_cells(lm, prompt, source, cells: list[tuple[int, int]], template: str = "blocks.{L}.hook_resid_pre",
                rows_per_forward: int = 32) -> torch.Tensor:
    """Run `prompt` once per (layer, position) cell with the source's `template` activation patched in at that cell
    only, `rows_per_forward` cells per forward as batch rows. source: a cache of one prompt of the same length.
    Returns the last position's logits for each cell: [cell, d_vocab]."""
    names = every_layer(template, lm.n_layers)
    return _one_cell_per_row(lm, prompt, cells, rows_per_forward, lambda layer, rows, positions: (
        names[layer], _patch_rows(names[layer], source[names[layer]], rows, positions)))


def _one_cell_per_row(lm, prompt, cells: list[tuple[int, int]], rows_per_forward: int, edit_for) -> torch.Tensor:
    """The batched sweep both patch_cells and head_ablation_sweep run: `prompt` repeated as batch rows, one
    (layer, index) cell per row, `rows_per_forward` rows per forward. edit_for(layer, rows [k], indices [k]) gives the
    one (name, fn) edit of that layer's rows. Returns the last position's logits per cell: [cell, d_vocab]."""
    ids = lm.to_tokens(prompt)  # [1, pos]
    out = []
    for start in range(0, len(cells), rows_per_forward):
        chunk = cells[start:start + rows_per_forward]
        hooks = []
        for layer in sorted({layer for layer, _ in chunk}):
            rows = torch.tensor([i for i, (L, _) in enumerate(chunk) if L == layer])
            indices = torch.tensor([index for L, index in chunk if L == layer])
            hooks.append(edit_for(layer, rows, indices))
        out.append(run_with_hooks(lm, ids.expand(len(chunk), -1), hooks)[:, -1])  # [rows, d_vocab]
    return torch.cat(out)


def _patch_rows(name: str, source: torch.Tensor, rows: torch.Tensor, positions: torch.Tensor):
    """fn for patch_cells: row rows[i] gets the source's value at positions[i] ([1, ...] source)."""
    axis = _axis(name, _POSITION_AXES)

    def patch_in(tensor, hook):
        _check_lengths(name, source, tensor)
        target = [slice(None)] * tensor.dim()
        target[0], target[axis] = rows.to(tensor.device), positions.to(tensor.device)
        from_source = list(target)
        from_source[0] = torch.zeros_like(target[0])
        tensor[tuple(target)] = source.to(tensor.device, tensor.dtype)[tuple(from_source)]
        return tensor
    return patch_in


def patching_sweep(lm, prompt, source, template: str = "blocks.{L}.hook_resid_pre", rows_per_forward: int = 32,
                   positions_per_forward: int | None = None, on_branch=None) -> torch.Tensor:
    """Every (layer, position) cell patched on its own: the last position's logits [layer, pos, d_vocab].

    The residual stream (the default template) takes one branching forward per `positions_per_forward` positions
    (branching_sweep.py: a cell patched at block L runs blocks L.. only; by default as many positions as keep a
    forward within about ROW_TOKENS row-tokens per block). Other templates run `patch_cells`, `rows_per_forward`
    cells per forward. on_branch(layer, cells), for a progress bar: called as each block of a branching forward
    starts, with the number of cells that branch there."""
    ids = lm.to_tokens(prompt)
    n = ids.shape[1]
    if template != TEMPLATE:
        cells = [(layer, p) for layer in range(lm.n_layers) for p in range(n)]
        return patch_cells(lm, ids, source, cells, template, rows_per_forward).view(lm.n_layers, n, -1)
    names = every_layer(template, lm.n_layers)
    for name in names:
        if source[name].shape[1] != n:
            raise ValueError(f"Patching {name} needs a source prompt of the same length: the source has "
                             f"{source[name].shape[1]} positions, the prompt {n}; use two prompts of the same length.")
    step = positions_per_forward or max(1, ROW_TOKENS // (n * lm.n_layers))
    return torch.cat([branching_sweep(lm, ids, source, list(range(start, min(start + step, n))), on_branch)
                      for start in range(0, n, step)], dim=1)


def steer(layer: int, vector: torch.Tensor, scale: float = 1.0, positions: int | list[int] | None = None):
    """An edit that adds `scale * vector` ([d_model]) to the residual stream entering block `layer`, at
    `positions` (None: every position, including each new one while generating). Returns (name, fn)."""
    name = BY_TEMPLATE["blocks.{L}.hook_resid_pre"].name(layer)
    chosen = [positions] if isinstance(positions, int) else positions

    def add(resid, hook):  # [batch, pos, d_model]
        where = slice(None) if chosen is None else chosen
        resid[:, where] += scale * vector.to(resid.device, resid.dtype)
        return resid
    return name, add


def causal_cone(clean, edited, batch: int = 0) -> torch.Tensor:
    """Where an edit travelled: the norm of the change in the residual stream at every depth and position,
    [n_layers + 1, pos], from two caches of one prompt, run clean and with the edit. Depth L < n_layers is what block
    L reads (`blocks.{L}.hook_resid_pre`, so an edit there shows at its own depth; resid_post L - 1 is the same
    tensor before the edit), the last depth the output of the last block. Zero before the edit and, since attention
    is causal, at every earlier position."""
    n_layers = clean.n_layers
    names = [*every_layer("blocks.{L}.hook_resid_pre", n_layers), BY_TEMPLATE["blocks.{L}.hook_resid_post"].name(
        n_layers - 1)]
    return torch.stack([(edited[n][batch] - clean[n][batch]).norm(dim=-1) for n in names])


def head_ablation_sweep(lm, prompt, rows_per_forward: int = 64) -> torch.Tensor:
    """Every head of every layer zero-ablated on its own, one head per batch row, `rows_per_forward` rows per
    forward: the last position's logits [layer, head, d_vocab]. Row i of a forward equals
    `run_with_hooks(prompt, [ablate_head(layer, head)])` for its (layer, head)."""
    names = every_layer("blocks.{L}.attn.hook_z", lm.n_layers)
    cells = [(layer, head) for layer in range(lm.n_layers) for head in range(lm.n_heads)]
    logits = _one_cell_per_row(lm, prompt, cells, rows_per_forward,
                               lambda layer, rows, heads: (names[layer], _zero_rows(rows, heads)))
    return logits.view(lm.n_layers, lm.n_heads, -1)


def _zero_rows(rows: torch.Tensor, heads: torch.Tensor):
    """fn for head_ablation_sweep: in row rows[i], head heads[i] of z [batch, pos, head, d_head] is zeroed."""
    def zero(z, hook):
        z[rows.to(z.device), :, heads.to(z.device)] = 0
        return z
    return zero
