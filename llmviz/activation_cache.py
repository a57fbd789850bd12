"""`ActivationCache`: the tensors one forward pass kept, looked up by TransformerLens name or shorthand.

It is a read-only Mapping from names such as `blocks.0.attn.hook_pattern` to CPU tensors, in forward order. It adds
TransformerLens's shorthand (`cache["pattern", 0]`, `cache["scale", 0, "ln1"]`, negative layers counting from the
end), `layer(L)`, `stack(short_name)` ([layer, ...]), `accumulated_resid()`, `to(device)`, a repr that lists names and
shapes, and KeyErrors that say what exists. It does not run the model or decide what is kept; capture.py does that
and hands the finished dict here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping

import torch

from llmviz.names import NAMES, parse, residual_stream_names


class ActivationCache(Mapping):
    """Captured tensors by name. `past_key_values` is the HF cache the forward returned (None without use_cache)."""

    def __init__(self, tensors: dict[str, torch.Tensor], architecture: str, n_layers: int, past_key_values=None):
        self._tensors = dict(tensors)
        self.architecture = architecture
        self.n_layers = n_layers
        self.past_key_values = past_key_values

    # ---- Mapping ------------------------------------------------------------------------------------------
    def __getitem__(self, key) -> torch.Tensor:
        if isinstance(key, str) and key in self._tensors:
            return self._tensors[key]
        name = self.resolve(key)
        if name not in self._tensors:
            raise KeyError(self._missing(name))
        return self._tensors[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def __contains__(self, key) -> bool:
        try:
            return self.resolve(key) in self._tensors
        except KeyError:
            return False

    # ---- names --------------------------------------------------------------------------------------------
    def resolve(self, key) -> str:
        """A name or a shorthand -> the full name: ('pattern', 0) -> 'blocks.0.attn.hook_pattern',
        ('scale', -1, 'ln2') -> 'blocks.{last}.ln2.hook_scale', 'embed' -> 'hook_embed'. KeyError if unknown."""
        if isinstance(key, str):
            try:
                spec, layer = parse(key)
            except KeyError:
                short = [s.name() for s in NAMES if not s.per_layer and s.short == key]
                if short:
                    return short[0]
                raise KeyError(self._unknown(key)) from None
            if layer is not None:
                self._check_layer(layer, key)
            return key
        if not isinstance(key, tuple) or not 1 <= len(key) <= 3 or not isinstance(key[0], str):
            raise KeyError(f"A cache key is a name string or a tuple (short_name, layer[, 'ln1'|'ln2'|'attn'|'mlp']), "
                           f"not {key!r}.")
        short, layer, group = (*key, None, None)[:3]
        if layer is not None:
            if not isinstance(layer, int):
                raise KeyError(f"The layer in {key!r} must be an int, not {type(layer).__name__}.")
            layer = self._check_layer(layer, key)
        matches = [s for s in NAMES if s.short == short and s.per_layer == (layer is not None)
                   and self.architecture in s.sources and (group is None or s.group == group)]
        if len(matches) > 1:
            options = ", ".join(repr((short, layer, s.group)) for s in matches)
            raise KeyError(f"{key!r} is ambiguous; say which: {options}.")
        if not matches:
            raise KeyError(self._unknown(str(key)))
        return matches[0].name(layer)

    def _check_layer(self, layer: int, key) -> int:
        if not -self.n_layers <= layer < self.n_layers:
            raise KeyError(f"Layer {layer} in {key!r} is out of range: this model has layers 0..{self.n_layers - 1} "
                           f"(or -{self.n_layers}..-1 counting from the end).")
        return layer % self.n_layers

    def _unknown(self, key: str) -> str:
        near = difflib.get_close_matches(key, list(self._tensors), n=3, cutoff=0.6)
        hint = f" Nearest: {', '.join(near)}." if near else ""
        return f"No capture name {key!r}.{hint} This cache holds: {', '.join(self.templates())}."

    def _missing(self, name: str) -> str:
        return (f"{name!r} is a valid name but was not kept in this run (names= left it out). "
                f"This cache holds: {', '.join(self.templates())}.")

    def templates(self) -> list[str]:
        """The names held, with per-layer names written once as blocks.{L}.…, in forward order."""
        seen: dict[str, None] = {}
        for name in self._tensors:
            spec, layer = parse(name)
            seen[spec.template] = None
        return list(seen)

    # ---- views --------------------------------------------------------------------------------------------
    def layer(self, layer: int) -> ActivationCache:
        """The tensors of one block (negative counts from the end), as a smaller ActivationCache with full names."""
        layer = self._check_layer(layer, layer)
        kept = {n: t for n, t in self._tensors.items() if parse(n)[1] == layer}
        return ActivationCache(kept, self.architecture, self.n_layers, self.past_key_values)

    def stack(self, short_name: str, group: str | None = None) -> torch.Tensor:
        """One per-layer tensor of every block, stacked: [layer, ...], e.g. stack("pattern") is
        [layer, batch, head, query_pos, key_pos]. group ('ln1', 'ln2', ...) picks among names that share a short name.
        KeyError when a layer's tensor was not kept."""
        key = (short_name, 0) if group is None else (short_name, 0, group)
        spec, _ = parse(self.resolve(key))  # validates the short name before reading any layer
        return torch.stack([self[spec.name(L)] for L in range(self.n_layers)])

    def accumulated_resid(self) -> torch.Tensor:
        """The residual stream at every depth: [n_layers + 1, batch, pos, d_model], the embedding (resid_pre 0)
        first, then the output of every block (resid_post L), as TransformerLens's accumulated_resid."""
        return torch.stack([self[name] for name in residual_stream_names(self.n_layers)])

    def to(self, device: str | torch.device) -> ActivationCache:
        """A new cache with every tensor on `device` (the HF KV cache is passed along unchanged)."""
        moved = {n: t.to(device) for n, t in self._tensors.items()}
        return ActivationCache(moved, self.architecture, self.n_layers, self.past_key_values)

    @property
    def nbytes(self) -> int:
        """Bytes held by the kept tensors (views of one buffer counted once)."""
        storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in self._tensors.values()}
        return sum(storages.values())

    def __repr__(self) -> str:
        rows: dict[str, list] = {}  # template -> [shape, dtype, layers]
        for name, tensor in self._tensors.items():
            spec, layer = parse(name)
            row = rows.setdefault(spec.template, [tuple(tensor.shape), tensor.dtype, []])
            if layer is not None:
                row[2].append(layer)
        width = max((len(t) for t in rows), default=0)
        lines = [f"ActivationCache({self.architecture}, {len(self)} tensors, {self.nbytes / 2**20:.1f} MiB)"]
        for template, (shape, dtype, layers) in rows.items():
            where = f"  layers {_ranges(layers)}" if layers else ""
            lines.append(f"  {template:<{width}}  {list(shape)}  {str(dtype).removeprefix('torch.')}{where}")
        return "\n".join(lines)


def _ranges(layers: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    parts, start = [], None
    for i, layer in enumerate(layers):
        if start is None:
            start = layer
        if i + 1 == len(layers) or layers[i + 1] != layer + 1:
            parts.append(str(start) if start == layer else f"{start}-{layer}")
            start = None
    return ", ".join(parts)
