"""Every capture name, declared once: its TransformerLens name, its shape, where it comes from, who teaches it.

A name such as `blocks.{L}.attn.hook_pattern` is declared here with a shape string ("batch head query_pos key_pos"),
the Hugging Face module it is taken from for each architecture (a dotted module path with `{L}` for the layer, plus
*what* is taken there: the module's output, its input, or a field of the registered attention function), and the
notebook that teaches it. capture.py installs hooks from these declarations, ActivationCache resolves shorthands
such as `("pattern", 0)` with them, and the tests check every captured tensor against the declared shape. This module
only describes; it does not run a model, install a hook or hold a tensor.

Shape dimensions: `batch`; `pos` and `query_pos` are the positions run in this forward (only the new ones when a KV
cache is passed); `key_pos` is every position attended to (cached plus new); `head` is the number of query heads;
`kv_head` the number of key/value heads (fewer than `head` under grouped-query attention); `d_head`, `d_model`,
`d_mlp`, `d_vocab` as TransformerLens names them; `1` is a literal size-one axis.

How llmviz relates to TransformerLens: the names and shapes are TransformerLens's (checked against TransformerLens
4.3's bridge on random GPT-2 and Llama models: every shared name had the same shape and values). `ln*.hook_normalized`
is the norm module's output, weight (and bias) applied, for LayerNorm and RMSNorm alike: exactly what the next
sub-layer reads (the 4.x bridge agrees; the older HookedTransformer's RMSNorm hooked the value before the weight).
Blocked attention scores are -inf, as in HookedTransformer (the 4.x bridge shows the dtype's minimum). The RoPE
tables, computed once per forward and shared by every layer, are `rotary_emb.hook_cos` and `rotary_emb.hook_sin`, as
in TransformerLens 4. `hook_logits` is llmviz's name for the unembedding output (TransformerLens 4: `hook_unembed`).
In a Llama model `attn.hook_k` holds the new positions only even with a KV cache, because the cache stores keys after
RoPE; `attn.hook_rot_k` and `attn.hook_v` hold the whole cache.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

ARCHITECTURES = ("gpt2", "llama")


@dataclass(frozen=True)
class Source:
    """Where a tensor comes from in one architecture.

    path: dotted module path inside the HF model, `{L}` standing for the layer index.
    take: 'output' (the module's output, first element if a tuple), 'input' (its first input, via a pre-hook),
    'output_heads' (output split into heads: [batch, pos, n * d_head] -> [batch, pos, n, d_head]),
    'scale' (the norm's divisor, recomputed from its input), 'output_batch' (output computed for one row,
    expanded to the batch), 'output_cos' / 'output_sin' (the rotary tables, likewise expanded),
    'attention:<field>' (the llmviz attention function's query, key, value, scores, pattern or z),
    'logits' (the model's returned logits).
    """
    path: str
    take: str


@dataclass(frozen=True)
class CaptureName:
    """One capture name. `template` holds `{L}` for per-layer names; `shape` is a space-separated dims string."""
    template: str
    shape: str
    sources: dict[str, Source]
    notebook: str
    doc: str
    shapes: dict[str, str] = field(default_factory=dict)  # per-architecture override of `shape`

    @property
    def per_layer(self) -> bool:
        return "{L}" in self.template

    @property
    def short(self) -> str:
        """The TransformerLens shorthand: 'pattern' for blocks.{L}.attn.hook_pattern, 'embed' for hook_embed."""
        return self.template.rsplit(".", 1)[-1].removeprefix("hook_")

    @property
    def group(self) -> str | None:
        """The sub-module part for ambiguous shorthands: 'ln1' for blocks.{L}.ln1.hook_scale, else None."""
        parts = self.template.split(".")
        middle = parts[2:-1] if self.per_layer else parts[:-1]
        return middle[0] if middle else None

    def name(self, layer: int | None = None) -> str:
        return self.template.format(L=layer) if self.per_layer else self.template

    def shape_for(self, architecture: str) -> str:
        return self.shapes.get(architecture, self.shape)


def _both(gpt2_path: str, gpt2_take: str, llama_path: str, llama_take: str) -> dict[str, Source]:
    return {"gpt2": Source(gpt2_path, gpt2_take), "llama": Source(llama_path, llama_take)}


_G, _LL = "transformer.h.{L}", "model.layers.{L}"  # block module paths in GPT2LMHeadModel, LlamaForCausalLM
_GA, _LA = _G + ".attn", _LL + ".self_attn"  # attention modules: the llmviz function sees these

# In forward order. Attention fields come from the function registered as "llmviz" (capture.py).
NAMES: tuple[CaptureName, ...] = (
    CaptureName("hook_embed", "batch pos d_model",
                _both("transformer.wte", "output", "model.embed_tokens", "output"),
                "02_embeddings", "token embeddings: rows of the embedding matrix"),
    CaptureName("hook_pos_embed", "batch pos d_model", {"gpt2": Source("transformer.wpe", "output_batch")},
                "03_positional_encoding", "learned position embeddings, added to hook_embed"),
    CaptureName("rotary_emb.hook_cos", "batch pos d_head", {"llama": Source("model.rotary_emb", "output_cos")},
                "03_positional_encoding", "RoPE cosine table per position, shared by every layer"),
    CaptureName("rotary_emb.hook_sin", "batch pos d_head", {"llama": Source("model.rotary_emb", "output_sin")},
                "03_positional_encoding", "RoPE sine table per position, shared by every layer"),
    CaptureName("blocks.{L}.hook_resid_pre", "batch pos d_model", _both(_G, "input", _LL, "input"),
                "06_layer_norm_and_residuals", "residual stream entering block L"),
    CaptureName("blocks.{L}.ln1.hook_scale", "batch pos 1",
                _both(_G + ".ln_1", "scale", _LL + ".input_layernorm", "scale"),
                "06_layer_norm_and_residuals", "sqrt(variance + eps) (LayerNorm) or sqrt(mean square + eps) (RMSNorm)"),
    CaptureName("blocks.{L}.ln1.hook_normalized", "batch pos d_model",
                _both(_G + ".ln_1", "output", _LL + ".input_layernorm", "output"),
                "06_layer_norm_and_residuals", "the norm's output, weight and bias applied: what attention reads"),
    CaptureName("blocks.{L}.attn.hook_q", "batch pos head d_head",
                _both(_GA, "attention:query", _LA + ".q_proj", "output_heads"),
                "04_attention", "queries (before RoPE in Llama models)"),
    CaptureName("blocks.{L}.attn.hook_k", "batch key_pos kv_head d_head",
                _both(_GA, "attention:key", _LA + ".k_proj", "output_heads"),
                "04_attention", "keys, whole cache in GPT-2; in Llama before RoPE, new positions only",
                shapes={"llama": "batch pos kv_head d_head"}),
    CaptureName("blocks.{L}.attn.hook_v", "batch key_pos kv_head d_head",
                _both(_GA, "attention:value", _LA, "attention:value"),
                "04_attention", "values, whole cache, kv heads not repeated"),
    CaptureName("blocks.{L}.attn.hook_rot_q", "batch pos head d_head", {"llama": Source(_LA, "attention:query")},
                "03_positional_encoding", "queries after RoPE"),
    CaptureName("blocks.{L}.attn.hook_rot_k", "batch key_pos kv_head d_head",
                {"llama": Source(_LA, "attention:key")},
                "03_positional_encoding", "keys after RoPE, whole cache"),
    CaptureName("blocks.{L}.attn.hook_attn_scores", "batch head query_pos key_pos",
                _both(_GA, "attention:scores", _LA, "attention:scores"),
                "04_attention",
                "q.k / sqrt(d_head), masked positions -inf (a padding query that sees no key keeps HF's finite "
                "minimum, so softmax still gives HF's uniform row), before softmax"),
    CaptureName("blocks.{L}.attn.hook_pattern", "batch head query_pos key_pos",
                _both(_GA, "attention:pattern", _LA, "attention:pattern"),
                "04_attention", "softmax of the scores: each row sums to 1"),
    CaptureName("blocks.{L}.attn.hook_z", "batch pos head d_head",
                _both(_GA, "attention:z", _LA, "attention:z"),
                "04_attention", "pattern @ v per head, before the output projection"),
    CaptureName("blocks.{L}.hook_attn_out", "batch pos d_model", _both(_GA, "output", _LA, "output"),
                "04_attention", "attention output after the output projection (c_proj / o_proj)"),
    CaptureName("blocks.{L}.hook_resid_mid", "batch pos d_model",
                _both(_G + ".ln_2", "input", _LL + ".post_attention_layernorm", "input"),
                "06_layer_norm_and_residuals", "resid_pre + attn_out"),
    CaptureName("blocks.{L}.ln2.hook_scale", "batch pos 1",
                _both(_G + ".ln_2", "scale", _LL + ".post_attention_layernorm", "scale"),
                "06_layer_norm_and_residuals", "the second norm's divisor"),
    CaptureName("blocks.{L}.ln2.hook_normalized", "batch pos d_model",
                _both(_G + ".ln_2", "output", _LL + ".post_attention_layernorm", "output"),
                "06_layer_norm_and_residuals", "the second norm's output: what the MLP reads"),
    CaptureName("blocks.{L}.mlp.hook_pre", "batch pos d_mlp",
                _both(_G + ".mlp.c_fc", "output", _LL + ".mlp.gate_proj", "output"),
                "05_feed_forward", "before the activation: c_fc output (GPT-2) or gate_proj output (SwiGLU)"),
    CaptureName("blocks.{L}.mlp.hook_pre_linear", "batch pos d_mlp", {"llama": Source(_LL + ".mlp.up_proj", "output")},
                "05_feed_forward", "SwiGLU's linear branch, up_proj output (as TransformerLens's gated MLP)"),
    CaptureName("blocks.{L}.mlp.hook_post", "batch pos d_mlp",
                _both(_G + ".mlp.c_proj", "input", _LL + ".mlp.down_proj", "input"),
                "05_feed_forward", "gelu(pre) (GPT-2) or silu(pre) * pre_linear (SwiGLU): the neuron activations"),
    CaptureName("blocks.{L}.hook_mlp_out", "batch pos d_model", _both(_G + ".mlp", "output", _LL + ".mlp", "output"),
                "05_feed_forward", "MLP output after the down projection"),
    CaptureName("blocks.{L}.hook_resid_post", "batch pos d_model", _both(_G, "output", _LL, "output"),
                "06_layer_norm_and_residuals", "resid_mid + mlp_out: residual stream leaving block L"),
    CaptureName("ln_final.hook_scale", "batch pos 1", _both("transformer.ln_f", "scale", "model.norm", "scale"),
                "06_layer_norm_and_residuals", "the final norm's divisor"),
    CaptureName("ln_final.hook_normalized", "batch pos d_model",
                _both("transformer.ln_f", "output", "model.norm", "output"),
                "06_layer_norm_and_residuals", "the final norm's output (HF's hidden_states[-1])"),
    CaptureName("hook_logits", "batch pos d_vocab", _both("lm_head", "logits", "lm_head", "logits"),
                "07_logits_and_softmax", "the output projection (unembedding): one score per vocabulary token"),
)

BY_TEMPLATE = {spec.template: spec for spec in NAMES}


def names_for(architecture: str, n_layers: int) -> list[str]:
    """Every concrete name a model of this architecture produces, in forward order (globals, then layer by layer)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, not {architecture!r}.")
    specs = [s for s in NAMES if architecture in s.sources]
    split = next(i for i, s in enumerate(specs) if s.per_layer)  # globals declared before the blocks come first
    layers = [s.name(L) for L in range(n_layers) for s in specs if s.per_layer]
    return [s.name() for s in specs[:split]] + layers + [s.name() for s in specs[split:] if not s.per_layer]


def every_layer(template: str, n_layers: int) -> list[str]:
    """One declared per-layer name for every block: every_layer("blocks.{L}.attn.hook_pattern", 2) ->
    ['blocks.0.attn.hook_pattern', 'blocks.1.attn.hook_pattern']. KeyError for a template not declared here."""
    spec = BY_TEMPLATE.get(template)
    if spec is None or not spec.per_layer:
        raise KeyError(f"{template!r} is not a declared per-layer name such as 'blocks.{{L}}.attn.hook_pattern'.")
    return [spec.name(L) for L in range(n_layers)]


def residual_stream_names(n_layers: int) -> list[str]:
    """The residual stream at every depth, n_layers + 1 names: what block 0 reads (`blocks.0.hook_resid_pre`, the
    embedding), then what each block writes (`blocks.{L}.hook_resid_post`). The logit lens decodes these."""
    return ["blocks.0.hook_resid_pre"] + [f"blocks.{L}.hook_resid_post" for L in range(n_layers)]


@functools.lru_cache(maxsize=4096)  # called for every name on every capture; names are few and immutable
def parse(name: str) -> tuple[CaptureName, int | None]:
    """A concrete name -> (its declaration, its layer or None). Raises KeyError for a name not declared here."""
    if name in BY_TEMPLATE and not BY_TEMPLATE[name].per_layer:
        return BY_TEMPLATE[name], None
    head, _, rest = name.partition(".")
    number, _, tail = rest.partition(".")
    if head == "blocks" and number.isdigit() and f"blocks.{{L}}.{tail}" in BY_TEMPLATE:
        return BY_TEMPLATE[f"blocks.{{L}}.{tail}"], int(number)
    raise KeyError(name)


def dims(lm, batch: int, n_tokens: int, n_past: int = 0) -> dict[str, int]:
    """Sizes of every shape dimension for this model and input."""
    return {"batch": batch, "pos": n_tokens, "query_pos": n_tokens, "key_pos": n_past + n_tokens,
            "head": lm.n_heads, "kv_head": lm.n_kv_heads, "d_head": lm.d_head, "d_model": lm.d_model,
            "d_mlp": lm.d_mlp, "d_vocab": lm.d_vocab, "1": 1}


def shape_of(spec: CaptureName, architecture: str, sizes: dict[str, int]) -> tuple[int, ...]:
    """The concrete shape of a declared name, e.g. (1, 4, 7, 7) for the pattern of 4 heads over 7 tokens."""
    return tuple(sizes[d] for d in spec.shape_for(architecture).split())


def numel(spec: CaptureName, architecture: str, sizes: dict[str, int]) -> int:
    return math.prod(shape_of(spec, architecture, sizes))
