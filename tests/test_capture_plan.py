"""capture_plan.py: module_at finds what get_submodule finds and says clearly what is missing; a module replaced after
a capture is hooked where it now computes; switch_attention sets and restores what set_attn_implementation would."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import make_random_lm

import llmviz.capture as capture
from llmviz.capture_plan import module_at, plan, switch_attention

PROMPT = "The cat sat on the mat"


@pytest.fixture(params=["gpt2", "llama"])
def lm(request, gpt2_tokenizer):
    return make_random_lm(request.param, gpt2_tokenizer)


def test_module_at_is_get_submodule_for_every_site_and_names_a_missing_one(lm):
    for take, path, _ in plan(lm).sites.values():
        if take != "logits":
            assert module_at(lm.model, path) is lm.model.get_submodule(path), path
    with pytest.raises(AttributeError, match=r"no child 'nope'.*site table"):
        module_at(lm.model, "transformer.h.nope" if lm.architecture == "gpt2" else "model.layers.nope")


def test_a_module_replaced_after_a_capture_is_hooked_where_it_now_computes(lm):
    capture.run_with_cache(lm, PROMPT)  # the plan now exists for this model
    parent = lm.model.get_submodule("transformer.h.0" if lm.architecture == "gpt2" else "model.layers.0")
    original = parent.mlp
    parent.mlp = copy.deepcopy(original)  # a new module object: same paths, output projection doubled
    projection = parent.mlp.c_proj if lm.architecture == "gpt2" else parent.mlp.down_proj
    with torch.no_grad():
        for p in projection.parameters():
            p.mul_(2)
    _, cache = capture.run_with_cache(lm, PROMPT)
    with torch.no_grad():
        expected = 2 * original(cache["blocks.0.ln2.hook_normalized"])
    torch.testing.assert_close(cache["blocks.0.hook_mlp_out"], expected)  # the new module's output, not the old's


def test_switch_attention_sets_and_restores_like_set_attn_implementation(lm):
    assert plan(lm).config is lm.model.config  # GPT-2 and Llama: one config serves every sub-model
    previous = switch_attention(lm, capture.ATTENTION_IMPLEMENTATION)
    assert all(m.config._attn_implementation == capture.ATTENTION_IMPLEMENTATION
               for m in lm.model.modules() if hasattr(m, "config"))
    assert switch_attention(lm, previous) == capture.ATTENTION_IMPLEMENTATION
    assert lm.model.config._attn_implementation == previous


def test_without_one_shared_config_it_takes_hfs_walk_with_the_same_result(lm, monkeypatch):
    fast_logits, fast = capture.run_with_cache(lm, PROMPT)
    monkeypatch.setattr(plan(lm), "config", None)  # as for a model whose sub-models have configs of their own
    calls, real = [], lm.model.set_attn_implementation
    monkeypatch.setattr(lm.model, "set_attn_implementation", lambda impl: (calls.append(impl), real(impl)))
    previous = lm.model.config._attn_implementation
    logits, cache = capture.run_with_cache(lm, PROMPT)
    assert calls == [capture.ATTENTION_IMPLEMENTATION, previous]
    assert lm.model.config._attn_implementation == previous
    assert torch.equal(logits, fast_logits)
    assert torch.equal(cache["blocks.1.attn.hook_pattern"], fast["blocks.1.attn.hook_pattern"])
