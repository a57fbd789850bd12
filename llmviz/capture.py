"""Run a Hugging Face model once and keep its intermediate tensors under TransformerLens names.

Attention internals (q, k, v after RoPE, scores, pattern, z) come from an attention function registered with
`transformers.AttentionInterface` as "llmviz", its mask from `AttentionMaskInterface` (HF's eager mask; without it
the model would get no causal mask at all). Everything else comes from forward hooks and pre-hooks on the real
modules, at the paths names.py declares per architecture. For one call the model's attention implementation is set
to "llmviz"; hooks are removed and the previous implementation restored in `finally`, also when the forward raises.
The active capture is passed to the attention function through a ContextVar, never a global. Captures are detached,
moved to the CPU, optionally cast to `dtype`, and bounded by `names=` and a byte budget checked before running.
With `fwd_hooks=` (hook_points.py) every name is also an edit site: the hook or the attention function hands the
tensor to the user's functions and the model computes on from what they return; a hook returns a replacement only
for an edited name, so a run without edits is HF's forward exactly. `run_with_hooks` is such a run keeping nothing.
This module does not fork or copy HF modelling code, plot, or decode tokens (lens.py does that).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from transformers import AttentionInterface, DynamicCache
from transformers.masking_utils import AttentionMaskInterface, eager_mask

from llmviz.activation_cache import ActivationCache
from llmviz.capture_plan import estimate_cache_bytes, kept_bytes, module_at, plan, select_names, switch_attention  # noqa: F401 (re-exported)
from llmviz.hook_points import apply, carry_resid_mid, replace_first, resolve
from llmviz.kv_cache_argument import cache_argument, returned_cache
from llmviz.names import parse

ATTENTION_IMPLEMENTATION = "llmviz"
DEFAULT_BUDGET_BYTES = 1 << 30  # 1 GiB: Binder kills a kernel past 2 GB


class CaptureBudgetError(MemoryError, ValueError):
    """A capture would keep more bytes than the budget allows; the message gives the estimate and how to narrow it."""


@dataclass
class _Capture:
    """What one run_with_cache call keeps and edits, and where the attention function should find its names."""
    batch: int
    dtype: torch.dtype | None
    copy_kv: bool  # a cache that updates in place (StaticCache) would change kept k/v later: copy them
    kept: frozenset[str] = frozenset()
    edits: dict[str, list] = field(default_factory=dict)  # name -> fwd_hooks functions (hook_points.resolve)
    edited: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> the tensor after its edits
    attention: dict[int, dict[str, str]] = field(default_factory=dict)  # id(attn module) -> {field: name}
    store: dict[str, torch.Tensor] = field(default_factory=dict)
    masks: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)  # id -> (HF mask, ours)

    def infinite_mask(self, mask: torch.Tensor) -> torch.Tensor:
        """HF's eager mask [b, 1, q, k] with -inf instead of the dtype's minimum, built once per forward.

        softmax gives exactly the same pattern (exp(-inf) and exp(min - max) are both 0), and the kept scores show
        -inf as TransformerLens does. A padding query blocked from every key keeps the finite minimum: its row
        stays HF's uniform fallback instead of NaN, so softmax(scores) == pattern holds there too."""
        if id(mask) not in self.masks:
            blocked = mask == torch.finfo(mask.dtype).min
            ours = mask.masked_fill(blocked & ~blocked.all(-1, keepdim=True), float("-inf"))
            self.masks[id(mask)] = (mask, ours)  # holding `mask` keeps its id from being reused in this forward
        return self.masks[id(mask)][1]

    def through(self, name: str, tensor: torch.Tensor, copy: bool = False) -> torch.Tensor:
        """The tensor at `name` after its edits (`tensor` itself when it has none), kept when asked for."""
        functions = self.edits.get(name)
        if functions:
            tensor = self.edited[name] = apply(name, tensor, functions)
        if name in self.kept:
            self.keep(name, tensor, copy)
        return tensor

    def keep(self, name: str, tensor: torch.Tensor, copy: bool = False) -> None:
        t = tensor.detach() if tensor.requires_grad else tensor  # run under no_grad: usually nothing to detach
        if t.device.type != "cpu" or (self.dtype is not None and t.dtype != self.dtype):
            self.store[name] = t.to(device="cpu", dtype=self.dtype or t.dtype)  # a fresh, compact copy
            return
        # A view into a bigger buffer (GPT-2's q is a slice of c_attn's output) would pin the whole buffer: copy it.
        if copy or t.untyped_storage().nbytes() > t.numel() * t.element_size():
            t = t.clone()
        self.store[name] = t


_ACTIVE: contextvars.ContextVar[_Capture | None] = contextvars.ContextVar("llmviz_capture", default=None)


def _repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """[batch, kv_head, pos, d_head] -> [batch, kv_head * n_rep, pos, d_head], as HF's eager attention does."""
    if n_rep == 1:
        return x
    b, h, t, d = x.shape
    return x[:, :, None].expand(b, h, n_rep, t, d).reshape(b, h * n_rep, t, d)


def _through_heads(capture: _Capture, name: str | None, tensor: torch.Tensor, copy: bool = False) -> torch.Tensor:
    """A [b, n, pos, d] tensor through `name` in TransformerLens's [b, pos, n, d] layout, and back."""
    if name is None:
        return tensor
    return capture.through(name, tensor.transpose(1, 2), copy).transpose(1, 2)


def attention(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
              attention_mask: torch.Tensor | None, scaling: float | None = None, dropout: float = 0.0, **kwargs):
    """HF's eager attention, step for step, keeping and editing what the active capture asks for.

    query [batch, head, query_pos, d_head]; key, value [batch, kv_head, key_pos, d_head] (the whole KV cache);
    attention_mask [batch, 1, query_pos, key_pos], 0 where allowed and the dtype's minimum where blocked.
    Returns (z [batch, query_pos, head, d_head], pattern [batch, head, query_pos, key_pos]).
    """
    if scaling is None:
        scaling = query.shape[-1] ** -0.5
    capture = _ACTIVE.get()
    sites = capture.attention.get(id(module)) if capture is not None else None  # {field: name} kept or edited
    if sites and "scores" in sites and attention_mask is not None:
        attention_mask = capture.infinite_mask(attention_mask)  # kept scores show -inf where blocked
    if sites:  # each field is kept (and edited) where it is computed, so an edit flows into what follows
        query = _through_heads(capture, sites.get("query"), query)
        key = _through_heads(capture, sites.get("key"), key, copy=capture.copy_kv)
        value = _through_heads(capture, sites.get("value"), value, copy=capture.copy_kv)
    n_rep = query.shape[1] // key.shape[1]
    # In place after the matmul: the same numbers as eager's `matmul * scaling + mask`, one [b, h, q, k] buffer
    # instead of three.
    scores = torch.matmul(query, _repeat_kv(key, n_rep).transpose(-1, -2)).mul_(scaling)  # [b, h, q, k]
    if attention_mask is not None:
        scores.add_(attention_mask)  # [b, 1, q, k] broadcast over heads
    if sites and "scores" in sites:
        scores = capture.through(sites["scores"], scores)
    pattern = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    pattern = nn.functional.dropout(pattern, p=dropout, training=module.training)
    if sites and "pattern" in sites:
        pattern = capture.through(sites["pattern"], pattern)
    z = torch.matmul(pattern, _repeat_kv(value, n_rep)).transpose(1, 2)  # [b, q, h, d]
    if sites and "z" in sites:
        z = capture.through(sites["z"], z)
    return z, pattern


AttentionInterface.register(ATTENTION_IMPLEMENTATION, attention)
AttentionMaskInterface.register(ATTENTION_IMPLEMENTATION, eager_mask)


# ---- hooks ----------------------------------------------------------------------------------------------------
def _first(x):
    return x[0] if isinstance(x, tuple) else x


def _norm_scale(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The norm's divisor [batch, pos, 1]: sqrt(var + eps) for LayerNorm, sqrt(mean square + eps) for RMSNorm."""
    x = x.float()  # HF's RMSNorm works in float32; for LayerNorm it changes nothing in float32 models
    if isinstance(module, nn.LayerNorm):
        x = x - x.mean(-1, keepdim=True)
    eps = module.eps if hasattr(module, "eps") else module.variance_epsilon
    return (x.pow(2).mean(-1, keepdim=True) + eps).sqrt()


# One factory per kind of site, each building only its own closure (a call per kept name on every capture).
# A hook returns a replacement only when its name was edited, so an unedited run computes exactly what HF does.
def _output(lm, capture: _Capture, take: str, name: str):
    def output(mod, args, out):
        first = _first(out)
        new = capture.through(name, first)
        return None if new is first else replace_first(out, new)
    return output


def _output_heads(lm, capture: _Capture, take: str, name: str):
    d_head = lm.d_head

    def output_heads(mod, args, out):
        heads = out.view(*out.shape[:-1], -1, d_head)  # [b, pos, n*d] -> [b, pos, n, d]
        new = capture.through(name, heads)
        return None if new is heads else new.reshape(out.shape)
    return output_heads


def _output_batch(lm, capture: _Capture, take: str, name: str):
    index = 1 if take == "output_sin" else 0

    def output_batch(mod, args, out):  # position tables are computed for [1, pos]: show them per batch row
        t = out[index] if isinstance(out, tuple) else out
        shown = t.expand(capture.batch, *t.shape[1:])
        new = capture.through(name, shown)
        if new is shown:
            return None
        return (*out[:index], new, *out[index + 1:]) if isinstance(out, tuple) else new  # broadcasts as [1, ...] did
    return output_batch


def _scale(lm, capture: _Capture, take: str, name: str):
    def scale(mod, args, out):
        divisor = _norm_scale(mod, args[0])  # [b, pos, 1]
        new = capture.through(name, divisor)
        if new is divisor:
            return None
        # out = weight * centred x / divisor (+ bias): the same norm with the edited divisor, from its real output
        bias = getattr(mod, "bias", None)
        first = _first(out) if bias is None else _first(out) - bias
        first = first * (divisor / new).to(first.dtype)
        return replace_first(out, first if bias is None else first + bias)
    return scale


def _input(lm, capture: _Capture, take: str, name: str):
    def pre(mod, args, kwargs):  # a forward pre-hook (with_kwargs=True)
        x = args[0] if args else kwargs["hidden_states"]
        new = capture.through(name, x)
        if new is x:
            return None
        return ((new, *args[1:]), kwargs) if args else (args, {**kwargs, "hidden_states": new})
    return pre


# take (names.py's site kind) -> the factory of the hook that keeps and edits a name taken that way
_HOOKS = {"input": _input, "output": _output, "output_heads": _output_heads, "scale": _scale,
          "output_batch": _output_batch, "output_cos": _output_batch, "output_sin": _output_batch}


def _chain(hooks: list) -> Callable:
    """One forward hook running `hooks` in order, each seeing the output the ones before it returned, as torch runs
    hooks registered one by one; one registration instead of several (a norm's scale and output)."""
    if len(hooks) == 1:
        return hooks[0]

    def chained(mod, args, out):
        replaced = None
        for hook in hooks:
            new = hook(mod, args, out if replaced is None else replaced)
            replaced = replaced if new is None else new
        return replaced
    return chained


def _install(lm, capture: _Capture, names: list[str], handles: list) -> None:
    """Hook every kept or edited name, appending each handle as soon as it exists, so `finally` removes even a
    partial set. `names` are in forward order, so hooks on one module run in that order (ln scale, then output);
    a module's forward hooks are chained into one registration."""
    sites, modules, after = plan(lm).sites, {}, {}
    for name in names:
        take, path, _ = sites[name]
        if take == "logits":
            continue  # taken from the returned logits
        if path not in modules:
            modules[path] = module_at(lm.model, path)
        module = modules[path]
        if take.startswith("attention:"):
            capture.attention.setdefault(id(module), {})[take[len("attention:"):]] = name
        elif take == "input":
            handles.append(module.register_forward_pre_hook(_HOOKS[take](lm, capture, take, name), with_kwargs=True))
        else:
            after.setdefault(module, []).append(_HOOKS[take](lm, capture, take, name))
    for module, hooks in after.items():
        handles.append(module.register_forward_hook(_chain(hooks)))
    for name in capture.edits:
        spec, layer = parse(name)
        if spec.template == "blocks.{L}.hook_resid_mid":
            carry_resid_mid(lm, capture.edited, layer, handles)


# ---- the call -------------------------------------------------------------------------------------------------
def run_with_cache(lm, text_or_ids, names=None, dtype: torch.dtype | None = None,
                   budget_bytes: int = DEFAULT_BUDGET_BYTES, attention_mask: torch.Tensor | None = None,
                   past_key_values=None, use_cache: bool = False, position_ids: torch.Tensor | None = None,
                   fwd_hooks=None):
    """One forward pass with capture: (logits [batch, pos, d_vocab], ActivationCache).

    text_or_ids: a prompt, or ids [pos] / [batch, pos]. names: None (all), a list of full names, or a predicate.
    dtype: store captures in this dtype (e.g. torch.float16 halves memory). budget_bytes: refuse, before running, a
    capture estimated to keep more. attention_mask [batch, past + pos] (1 = token, 0 = padding, left or right);
    position_ids default to counting real tokens only, so a padded row matches its prompt run alone.
    past_key_values: an HF cache; this forward is then one step: q and residuals cover the new positions, k and v the
    whole cache, and the updated HF cache is on `cache.past_key_values`.
    fwd_hooks: edits `[(name or predicate, fn(tensor, hook)), ...]` (hook_points.py); the cache then holds what the
    edited run computed.
    """
    tokens = lm.to_tokens(text_or_ids)  # validates: empty, too long, non-integer, out of vocabulary
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a torch floating dtype such as torch.float16, or None, not {dtype!r}.")
    batch, n_tokens = tokens.shape
    n_past = past_key_values.get_seq_length() if past_key_values is not None else 0
    if n_past + n_tokens > lm.n_ctx:
        raise ValueError(f"The KV cache holds {n_past} tokens and {n_tokens} more were passed, but {lm.name} reads at "
                         f"most {lm.n_ctx} tokens; start a new cache or shorten the prompt.")
    if attention_mask is not None:
        attention_mask = torch.as_tensor(attention_mask, device=lm.device)
        if tuple(attention_mask.shape) != (batch, n_past + n_tokens):
            raise ValueError(f"attention_mask must have shape [batch, past + pos] = {[batch, n_past + n_tokens]}, "
                             f"not {list(attention_mask.shape)}.")
        if position_ids is None:  # count real tokens only, as HF's generate() does
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, n_past:]
    wanted = select_names(lm, names)
    edits = resolve(lm, fwd_hooks)  # validates names and functions before anything runs
    estimate = kept_bytes(lm, wanted, batch, n_tokens, n_past, dtype)
    if estimate > budget_bytes:
        raise CaptureBudgetError(
            f"This capture would keep about {estimate / 2**20:.0f} MiB ({batch} x {n_tokens} tokens, {len(wanted)} "
            f"tensors), over the budget of {budget_bytes / 2**20:.0f} MiB. Narrow it: names= (e.g. lambda n: "
            "'pattern' in n), dtype=torch.float16 (halves it), a shorter prompt (attention maps grow with tokens²), "
            "or raise budget_bytes= if the machine has the memory.")
    capture = _Capture(batch, dtype, copy_kv=past_key_values is not None
                       and not isinstance(past_key_values, DynamicCache), kept=frozenset(wanted), edits=edits)
    model = lm.model
    handles, token, switched = [], None, False
    try:
        sites = [n for n in plan(lm).names if n in capture.kept or n in edits] if edits else wanted
        _install(lm, capture, sites, handles)  # forward order, kept or edited
        previous, switched = switch_attention(lm, ATTENTION_IMPLEMENTATION), True
        token = _ACTIVE.set(capture)
        with torch.no_grad():
            out = model(input_ids=tokens, attention_mask=attention_mask, position_ids=position_ids,
                        use_cache=use_cache or past_key_values is not None, **cache_argument(past_key_values))
    finally:
        if token is not None:
            _ACTIVE.reset(token)
        for handle in handles:
            handle.remove()
        if switched:
            switch_attention(lm, previous)
    logits = capture.through("hook_logits", out.logits)  # [batch, pos, d_vocab]
    missing = [n for n in wanted if n not in capture.store] + [n for n in edits if n not in capture.edited]
    if missing:
        raise RuntimeError(f"Capture produced no tensor for {missing[:5]} (of {len(missing)}); the model's modules do "
                           f"not match llmviz's {lm.architecture} site table (names.py).")
    tensors = {n: capture.store[n] for n in wanted}  # forward order, as declared
    return logits, ActivationCache(tensors, lm.architecture, lm.n_layers, returned_cache(out))



def run_with_hooks(lm, text_or_ids, fwd_hooks, **kwargs) -> torch.Tensor:
    """One forward pass with edits and nothing kept: the logits [batch, pos, d_vocab] of the edited run.

    fwd_hooks: `[(name or predicate on names, fn(tensor, hook)), ...]`, as TransformerLens; `fn` returns the
    replacement tensor (same shape) or None. Other arguments as run_with_cache (attention_mask, past_key_values...)."""
    return run_with_cache(lm, text_or_ids, names=[], fwd_hooks=fwd_hooks, **kwargs)[0]
