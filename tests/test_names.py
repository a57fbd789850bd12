"""names.py: every declared name is well formed, points at a real module, and has a shape the model can fill."""

from __future__ import annotations

import pytest
from conftest import make_random_lm

from llmviz.names import ARCHITECTURES, BY_TEMPLATE, NAMES, dims, names_for, parse, shape_of

NOTEBOOKS = {"02_embeddings", "03_positional_encoding", "04_attention", "05_feed_forward",
             "06_layer_norm_and_residuals", "07_logits_and_softmax"}
TAKES = {"output", "output_batch", "input", "output_heads", "scale", "output_cos", "output_sin", "logits"}
FIELDS = {"query", "key", "value", "scores", "pattern", "z"}


def test_each_name_declared_once_with_a_notebook_and_known_dims():
    assert len({s.template for s in NAMES}) == len(NAMES)
    known = set(dims(make_random_lm("gpt2"), 1, 1))
    for spec in NAMES:
        assert spec.notebook in NOTEBOOKS, spec.template
        assert spec.doc
        for arch in spec.sources:
            assert set(spec.shape_for(arch).split()) <= known, spec.template


def test_sources_use_known_takes_and_only_supported_architectures():
    for spec in NAMES:
        assert spec.sources and set(spec.sources) <= set(ARCHITECTURES)
        for source in spec.sources.values():
            kind, _, field = source.take.partition(":")
            assert source.take in TAKES or (kind == "attention" and field in FIELDS), source


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_every_source_path_is_a_real_module(architecture):
    lm = make_random_lm(architecture)
    for name in names_for(architecture, lm.n_layers):
        spec, layer = parse(name)
        lm.model.get_submodule(spec.sources[architecture].path.format(L=layer))  # raises if the path is wrong


def test_transformerlens_names_present():
    gpt2, llama = set(names_for("gpt2", 2)), set(names_for("llama", 2))
    common = {"hook_embed", "blocks.1.hook_resid_pre", "blocks.1.ln1.hook_scale", "blocks.1.ln1.hook_normalized",
              "blocks.1.attn.hook_q", "blocks.1.attn.hook_k", "blocks.1.attn.hook_v", "blocks.1.attn.hook_attn_scores",
              "blocks.1.attn.hook_pattern", "blocks.1.attn.hook_z", "blocks.1.hook_attn_out",
              "blocks.1.hook_resid_mid", "blocks.1.ln2.hook_scale", "blocks.1.ln2.hook_normalized",
              "blocks.1.mlp.hook_pre", "blocks.1.mlp.hook_post", "blocks.1.hook_mlp_out", "blocks.1.hook_resid_post",
              "ln_final.hook_scale", "ln_final.hook_normalized", "hook_logits"}
    assert common <= gpt2 and common <= llama
    assert "hook_pos_embed" in gpt2 and "hook_pos_embed" not in llama
    rope = {"blocks.0.attn.hook_rot_q", "blocks.0.attn.hook_rot_k", "rotary_emb.hook_cos", "rotary_emb.hook_sin",
            "blocks.0.mlp.hook_pre_linear"}
    assert rope <= llama and not rope & gpt2
    assert len(gpt2) == 2 + 2 * 17 + 3 and len(llama) == 3 + 2 * 20 + 3


def test_names_in_forward_order():
    names = names_for("gpt2", 2)
    assert names[0] == "hook_embed" and names[-1] == "hook_logits"
    assert names.index("blocks.0.hook_resid_post") < names.index("blocks.1.hook_resid_pre")
    assert names.index("blocks.1.attn.hook_q") < names.index("blocks.1.attn.hook_pattern")


def test_parse_and_short_names():
    spec, layer = parse("blocks.12.attn.hook_pattern")
    assert (spec.template, layer, spec.short, spec.group) == ("blocks.{L}.attn.hook_pattern", 12, "pattern", "attn")
    assert parse("hook_embed") == (BY_TEMPLATE["hook_embed"], None)
    assert BY_TEMPLATE["ln_final.hook_scale"].group == "ln_final"
    for bad in ("blocks.x.attn.hook_q", "blocks.0.attn.hook_nope", "hook_nope", "blocks.{L}.attn.hook_q"):
        with pytest.raises(KeyError):
            parse(bad)
    with pytest.raises(ValueError, match="architecture"):
        names_for("bert", 2)


def test_shapes_follow_kv_heads_and_cache_length():
    lm = make_random_lm("llama")  # 4 heads, 2 kv heads, d_head 8
    sizes = dims(lm, batch=2, n_tokens=3, n_past=5)
    assert shape_of(BY_TEMPLATE["blocks.{L}.attn.hook_q"], "llama", sizes) == (2, 3, 4, 8)
    assert shape_of(BY_TEMPLATE["blocks.{L}.attn.hook_rot_k"], "llama", sizes) == (2, 8, 2, 8)
    assert shape_of(BY_TEMPLATE["blocks.{L}.attn.hook_k"], "llama", sizes) == (2, 3, 2, 8)  # pre-RoPE: new only
    assert shape_of(BY_TEMPLATE["blocks.{L}.attn.hook_k"], "gpt2", sizes) == (2, 8, 2, 8)
    assert shape_of(BY_TEMPLATE["blocks.{L}.attn.hook_pattern"], "llama", sizes) == (2, 4, 3, 8)
