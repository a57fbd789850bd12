"""Which names a capture keeps, where each is taken in the model, and how many bytes they would keep.

capture.py asks here before it runs: `select_names` turns `names=` into concrete names in forward order (with a
clear error for unknown ones), `kept_bytes` sizes them from names.py's declared shapes for the byte budget, and
`plan` gives each name's hook kind and module path, parsed once per model rather than once per name on every call.
`module_at` finds a path's module and `switch_attention` sets the attention implementation, both for every call
and both cheaply (on the tiny model nn.Module.get_submodule cost 0.5 ms a capture, set_attn_implementation's walk
over every module 0.1 ms per switch, on an 11 ms forward). This module installs no hook and runs no model.
"""

from __future__ import annotations

import difflib
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel

from llmviz.names import BY_TEMPLATE, dims, names_for, numel, parse


# ---- where each name is taken, resolved once per model --------------------------------------------------------
@dataclass
class Plan:
    """Every name of one model in forward order, and where it is taken: {name: (take, module path, template)}.

    Parsed once per model instead of once per name per call. Modules are still looked up on every call (module_at),
    once per module rather than once per name, so a model whose modules were replaced is hooked where it now
    computes. `config` is the model's config when every sub-model shares it and it has no sub-configs (GPT-2, Llama):
    then switching the attention implementation is one attribute, else it takes HF's walk (switch_attention)."""
    key: tuple[str, int]  # (architecture, n_layers) the plan was made for
    names: list[str]
    sites: dict[str, tuple[str, str, str]]
    config: object | None = None


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> Plan; gone when the model is


def plan(lm) -> Plan:
    """The plan for `lm`'s model, made on first use and kept as long as the model lives."""
    found = _PLANS.get(lm.model)
    if found is None or found.key != (lm.architecture, lm.n_layers):
        names, sites = names_for(lm.architecture, lm.n_layers), {}
        for name in names:
            spec, layer = parse(name)
            source = spec.sources[lm.architecture]
            sites[name] = (source.take, source.path.format(L=layer), spec.template)
        found = _PLANS[lm.model] = Plan((lm.architecture, lm.n_layers), names, sites, _shared_config(lm.model))
    return found


def _shared_config(model: nn.Module):
    """model.config when it alone decides every attention module's implementation, else None."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "sub_configs", None):
        return None
    shared = all(m.config is config for m in model.modules() if isinstance(m, PreTrainedModel))
    return config if shared else None


def module_at(model: nn.Module, path: str) -> nn.Module:
    """The module at a dotted path, as model.get_submodule(path) but through the children dicts directly (a tenth
    of the cost: get_submodule goes through nn.Module.__getattr__ twice per step). Looked up, never cached."""
    module = model
    for step in path.split("."):
        child = module._modules.get(step)
        if child is None:
            raise AttributeError(f"{type(model).__name__} has no module at {path!r} ({type(module).__name__} has no "
                                 f"child {step!r}); the model does not match llmviz's site table (names.py).")
        module = child
    return module


def switch_attention(lm, implementation: str) -> str:
    """Set the model's attention implementation; returns the previous one, to restore in a `finally`.

    Where one config serves the whole model (Plan.config) this sets it alone, as set_attn_implementation ends up
    doing; the implementations switched between are llmviz's registered one and the one the model already ran."""
    model, config = lm.model, plan(lm).config
    previous = model.config._attn_implementation
    if config is not None and model.config is config:
        config._attn_implementation = implementation
    else:
        model.set_attn_implementation(implementation)
    return previous


# ---- choosing names and estimating memory ---------------------------------------------------------------------
def select_names(lm, names: None | str | Iterable[str] | Callable[[str], bool] = None) -> list[str]:
    """The concrete names to keep, in forward order: all (None), a list of full names, or a predicate on names."""
    every = plan(lm).names
    if names is None:
        return list(every)
    if callable(names):
        return [n for n in every if names(n)]
    if isinstance(names, str):
        names = [names]
    asked = list(names)
    unknown = [n for n in asked if n not in every]
    if unknown:
        near = {n: difflib.get_close_matches(n, every, n=1, cutoff=0.5) for n in unknown}
        hints = "; ".join(f"{n!r} (nearest: {m[0]})" if m else repr(n) for n, m in near.items())
        raise ValueError(f"names= has names this {lm.architecture} model does not produce: {hints}. Valid names are "
                         f"llmviz.names.names_for({lm.architecture!r}, {lm.n_layers}); one name for every layer is "
                         "llmviz.names.every_layer('blocks.{L}.attn.hook_pattern', lm.n_layers).")
    asked = set(asked)
    return [n for n in every if n in asked]


def kept_bytes(lm, names: list[str], batch: int, n_tokens: int, n_past: int, dtype: torch.dtype | None) -> int:
    element = (dtype or next(lm.model.parameters()).dtype).itemsize
    sizes, sites = dims(lm, batch, n_tokens, n_past), plan(lm).sites
    counts = Counter(sites[n][2] for n in names)  # one shape per template: ~30 shapes instead of one per name
    return sum(numel(BY_TEMPLATE[t], lm.architecture, sizes) * k for t, k in counts.items()) * element


def estimate_cache_bytes(lm, n_tokens: int, names=None, dtype: torch.dtype | None = None, batch: int = 1) -> int:
    """Bytes a capture of `n_tokens` positions would keep, from the declared shapes, before running anything.

    An upper bound by a hair: names that are one tensor (resid_post L is resid_pre L+1) are counted twice."""
    if not isinstance(n_tokens, int) or n_tokens < 1:
        raise ValueError(f"n_tokens must be a positive int, not {n_tokens!r}.")
    return kept_bytes(lm, select_names(lm, names), batch, n_tokens, 0, dtype)
