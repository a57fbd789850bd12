"""Edits through `fwd_hooks`: TransformerLens's `(name, fn)` pairs, checked against the capture names and applied.

`resolve()` turns `fwd_hooks=[(name or predicate on names, fn), ...]` into `{capture name: [fn, ...]}` for one model,
with a clear error for an unknown name (the nearest names listed) or a predicate that matches none. `apply()` runs the
functions of one name on a copy of the tensor, as `fn(tensor, hook)`: a returned tensor replaces it (same shape,
or a clear error naming the hook and both shapes), None keeps it (with any edit made in place). The copy means an
in-place edit never reaches a tensor the model or the cache holds elsewhere (resid_post L is resid_pre L + 1).
`HookPoint` is the `hook` argument: `.name` and `.layer()`, as in TransformerLens. capture.py calls `apply()` from its
hooks and its attention function, where the edited tensor flows downstream; the one name that is not a module's input
or output, resid_mid, gets two extra hooks from `carry_resid_mid()`. With a KV cache, names that hold the whole cache
(k and v in GPT-2, rot_k and v in Llama) are edited in this forward only: the cache keeps what the model stored.
This module does not keep tensors or run a model.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable

import torch

from llmviz.names import BY_TEMPLATE, names_for, parse

HookFunction = Callable[[torch.Tensor, "HookPoint"], torch.Tensor | None]


class HookPoint:
    """The `hook` passed to an edit function: which capture name it is editing."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def layer(self) -> int:
        """The block index of a per-layer name (2 for 'blocks.2.attn.hook_z'); ValueError for a global name."""
        layer = parse(self.name)[1]
        if layer is None:
            raise ValueError(f"{self.name!r} is not inside a block, so it has no layer.")
        return layer

    def __repr__(self) -> str:
        return f"HookPoint({self.name!r})"


def resolve(lm, fwd_hooks: Iterable[tuple[str | Callable[[str], bool], HookFunction]] | None
            ) -> dict[str, list[HookFunction]]:
    """`[(name or predicate, fn), ...]` -> `{name: [fn, ...]}`, names in forward order, functions in the order given.

    A name must be one this model produces (llmviz.names.names_for); a predicate is called on every such name."""
    if not fwd_hooks:
        return {}
    every = names_for(lm.architecture, lm.n_layers)
    known = set(every)
    edits: dict[str, list[HookFunction]] = {}
    for pair in fwd_hooks:
        if not (isinstance(pair, tuple | list) and len(pair) == 2 and callable(pair[1])):
            raise TypeError(f"Each fwd_hooks entry is a pair (name, fn) with fn(tensor, hook), not {pair!r}.")
        where, function = pair
        if isinstance(where, str):
            if where not in known:
                near = difflib.get_close_matches(where, every, n=3, cutoff=0.5)
                hint = f" Nearest: {', '.join(near)}." if near else ""
                raise ValueError(f"fwd_hooks names {where!r}, which this {lm.architecture} model does not produce."
                                 f"{hint} Valid names are llmviz.names.names_for({lm.architecture!r}, {lm.n_layers}).")
            matched = [where]
        elif callable(where):
            matched = [n for n in every if where(n)]
            if not matched:
                raise ValueError(f"The fwd_hooks predicate {getattr(where, '__name__', where)!r} matches no name "
                                 f"this {lm.architecture} model produces (llmviz.names.names_for).")
        else:
            raise TypeError(f"A fwd_hooks name is a capture name or a predicate on names, not {where!r}.")
        for name in matched:
            edits.setdefault(name, []).append(function)
    return {n: edits[n] for n in every if n in edits}


def apply(name: str, tensor: torch.Tensor, functions: list[HookFunction]) -> torch.Tensor:
    """Run each function on the tensor at `name` in turn; return the result (a new tensor, never `tensor` itself).

    A returned tensor must have the tensor's shape; it is moved to the tensor's device and dtype."""
    hook = HookPoint(name)
    edited = tensor.clone()  # in-place edits stay here (see the module docstring)
    for function in functions:
        result = function(edited, hook)
        if result is None:
            continue
        if not isinstance(result, torch.Tensor):
            raise TypeError(f"The fwd_hooks function {getattr(function, '__name__', function)!r} at {name!r} "
                            f"returned a {type(result).__name__}; return a tensor of shape {list(tensor.shape)}, "
                            "or None to keep the (possibly edited in place) tensor.")
        if result.shape != tensor.shape:
            raise ValueError(f"The fwd_hooks function {getattr(function, '__name__', function)!r} at {name!r} "
                             f"returned shape {list(result.shape)}, but {name} has shape {list(tensor.shape)}; "
                             "return a tensor of the same shape, or None.")
        edited = result.to(device=tensor.device, dtype=tensor.dtype)
    return edited


def replace_first(out, new):
    """A module's output with its first element (the tensor a name reads) replaced."""
    return (new, *out[1:]) if isinstance(out, tuple) else new


def carry_resid_mid(lm, edited: dict[str, torch.Tensor], layer: int, handles: list) -> None:
    """Make an edit of `blocks.{layer}.hook_resid_mid` reach the residual too, not only the MLP.

    resid_mid is the second norm's input, where capture's pre-hook edits it, and also the residual the block adds the
    MLP's output to, which HF holds in a local variable (`residual = h; ...; return residual + mlp(ln_2(h))`). Two
    hooks make the block return edited resid_mid + mlp_out, as the model would have computed it. `edited` is the
    capture's {name: tensor after its edits}; each handle is appended as soon as it exists."""
    name = BY_TEMPLATE["blocks.{L}.hook_resid_mid"].name(layer)
    path = {t: BY_TEMPLATE[t].sources[lm.architecture].path.format(L=layer)
            for t in ("blocks.{L}.hook_mlp_out", "blocks.{L}.hook_resid_post")}
    mlp_out = {}

    def remember(module, args, out):  # registered after capture's hook_mlp_out hook: sees the edited MLP output
        mlp_out["value"] = out[0] if isinstance(out, tuple) else out

    def carry(module, args, out):  # prepended: runs before capture's hook_resid_post hook reads the block's output
        return replace_first(out, edited[name] + mlp_out.pop("value"))

    handles.append(lm.model.get_submodule(path["blocks.{L}.hook_mlp_out"]).register_forward_hook(remember))
    block = lm.model.get_submodule(path["blocks.{L}.hook_resid_post"])
    handles.append(block.register_forward_hook(carry, prepend=True))
