"""hook_points.py and the edits capture.py applies: every capture name is editable and the edit reaches what the
model computes next; an edit returning None changes nothing; the cache shows the edited run; hooks never outlive a
call; bad hooks fail with clear errors; generation applies the edit at every step."""

from __future__ import annotations

import pytest
import torch
from conftest import make_random_lm
from test_capture import hook_count

import llmviz.capture as capture
from llmviz.hook_points import HookPoint, resolve
from llmviz.names import names_for

PROMPT = "The cat sat on the mat because it was warm"


@pytest.fixture(params=["gpt2", "llama"])
def lm(request, gpt2_tokenizer):
    return make_random_lm(request.param, gpt2_tokenizer)


def test_an_edit_that_returns_none_changes_nothing_at_any_name(lm):
    ids = lm.to_tokens(PROMPT)
    plain, cache = capture.run_with_cache(lm, ids)
    seen = []
    every = names_for(lm.architecture, lm.n_layers)
    everywhere = (lambda n: True, lambda t, hook: seen.append(hook.name))
    logits, edited = capture.run_with_cache(lm, ids, fwd_hooks=[everywhere])
    assert sorted(seen) == sorted(every)  # each name once (Llama's attention computes rot_q before v is declared)
    assert torch.equal(logits, plain)
    assert all(torch.equal(edited[n], cache[n]) for n in every)


def test_an_in_place_edit_counts_and_leaves_earlier_captures_as_computed(lm):
    plain, cache = capture.run_with_cache(lm, PROMPT)

    def zero_in_place(resid, hook):  # TransformerLens style: edit in place, return nothing
        resid[:, 2] = 0
    logits, edited = capture.run_with_cache(lm, PROMPT, fwd_hooks=[("blocks.1.hook_resid_pre", zero_in_place)])
    assert torch.all(edited["resid_pre", 1][:, 2] == 0) and (logits - plain).abs().max() > 1e-4
    # resid_post 0 and resid_pre 1 are one tensor in HF: the capture of resid_post 0 must not change with the edit
    assert torch.equal(edited["resid_post", 0], cache["resid_post", 0])


def test_every_name_is_editable_and_the_edit_flows_downstream(lm):
    ids = lm.to_tokens(PROMPT)
    plain, cache = capture.run_with_cache(lm, ids)
    every = names_for(lm.architecture, lm.n_layers)
    for i, name in enumerate(every):
        def edit(tensor, hook, name=name):
            assert hook.name == name
            return tensor * 0.5 + 0.25
        logits, edited = capture.run_with_cache(lm, ids, fwd_hooks=[(name, edit)])
        torch.testing.assert_close(edited[name], cache[name] * 0.5 + 0.25)  # the cache shows the edited run
        assert (logits - plain).abs().max() > 1e-5, name  # and the model computed on from the edited tensor
        assert all(torch.equal(edited[n], cache[n]) for n in every[:i]), name  # nothing before it moved
        if name != "hook_logits":
            assert not torch.equal(edited["hook_logits"], cache["hook_logits"]), name


def test_an_edited_norm_divisor_and_resid_mid_are_what_the_model_uses(lm):
    ids = lm.to_tokens(PROMPT)
    _, cache = capture.run_with_cache(lm, ids)
    scale = ("blocks.1.ln2.hook_scale", lambda t, hook: t * 2)
    _, edited = capture.run_with_cache(lm, ids, fwd_hooks=[scale])
    ln2 = lm.model.get_submodule("transformer.h.1.ln_2" if lm.architecture == "gpt2"
                                 else "model.layers.1.post_attention_layernorm")
    x = cache["resid_mid", 1]
    centred = x - x.mean(-1, keepdim=True) if lm.architecture == "gpt2" else x
    expected = centred / (2 * cache["scale", 1, "ln2"]) * ln2.weight + getattr(ln2, "bias", 0)
    torch.testing.assert_close(edited["normalized", 1, "ln2"], expected)
    # resid_mid feeds the MLP *and* the residual sum: both must see the edit
    _, edited = capture.run_with_cache(lm, ids, fwd_hooks=[("blocks.0.hook_resid_mid", lambda t, hook: t + 1)])
    assert torch.equal(edited["resid_post", 0], edited["resid_mid", 0] + edited["mlp_out", 0])
    torch.testing.assert_close(edited["resid_mid", 0], cache["resid_mid", 0] + 1)


def test_hook_layer_and_predicates(lm):
    assert HookPoint("blocks.3.attn.hook_z").layer() == 3
    with pytest.raises(ValueError, match="no layer"):
        HookPoint("hook_embed").layer()
    layers = []
    hooks = [(lambda n: n.endswith("hook_z"), lambda t, hook: layers.append(hook.layer()))]
    assert list(resolve(lm, hooks)) == [f"blocks.{L}.attn.hook_z" for L in range(lm.n_layers)]
    capture.run_with_hooks(lm, PROMPT, hooks)
    assert layers == list(range(lm.n_layers))


# ---- hygiene and bad input ------------------------------------------------------------------------------------
def test_hooks_removed_and_attention_restored_after_an_exception_in_fn(lm):
    before, previous = hook_count(lm.model), lm.model.config._attn_implementation

    def explode(tensor, hook):
        raise RuntimeError("boom")
    for name in ("blocks.1.attn.hook_pattern", "blocks.0.hook_mlp_out", "blocks.1.hook_resid_mid"):
        with pytest.raises(RuntimeError, match="boom"):
            capture.run_with_hooks(lm, PROMPT, [(name, explode)])
        assert hook_count(lm.model) == before and lm.model.config._attn_implementation == previous
        assert capture._ACTIVE.get() is None
    capture.run_with_hooks(lm, PROMPT, [("blocks.1.hook_resid_mid", lambda t, hook: t)])
    assert hook_count(lm.model) == before


def test_wrong_shape_names_the_hook_and_both_shapes(lm):
    n = lm.to_tokens(PROMPT).shape[1]

    def shrink(z, hook):
        return z[:, :, :2]
    with pytest.raises(ValueError, match=rf"'shrink' at 'blocks.0.attn.hook_z' returned shape \[1, {n}, 2, 8\].*"
                                         rf"has shape \[1, {n}, 4, 8\]"):
        capture.run_with_hooks(lm, PROMPT, [("blocks.0.attn.hook_z", shrink)])
    with pytest.raises(TypeError, match="returned a float"):
        capture.run_with_hooks(lm, PROMPT, [("hook_embed", lambda t, hook: 1.0)])


def test_unknown_names_and_bad_pairs_are_clear_errors(lm):
    with pytest.raises(ValueError, match="Nearest: blocks.0.attn.hook_pattern"):
        capture.run_with_hooks(lm, PROMPT, [("blocks.0.attn.hook_patern", lambda t, hook: None)])
    with pytest.raises(ValueError, match="blocks.9.attn.hook_z.*Nearest: blocks.1.attn.hook_z"):
        capture.run_with_hooks(lm, PROMPT, [("blocks.9.attn.hook_z", lambda t, hook: None)])
    with pytest.raises(ValueError, match="matches no name"):
        capture.run_with_hooks(lm, PROMPT, [(lambda n: False, lambda t, hook: None)])
    with pytest.raises(TypeError, match=r"pair \(name, fn\)"):
        capture.run_with_hooks(lm, PROMPT, [("hook_embed",)])


# ---- generation -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("use_cache", [True, False])
def test_generation_applies_the_edit_at_every_step(lm, use_cache):
    direction = torch.randn(lm.d_model, generator=torch.Generator().manual_seed(1)) * 4
    steer = ("blocks.1.hook_resid_pre", lambda resid, hook: resid + direction)
    trace = lm.generate(PROMPT, max_new_tokens=6, temperature=0, use_cache=use_cache, fwd_hooks=[steer])
    plain = lm.generate(PROMPT, max_new_tokens=6, temperature=0, use_cache=use_cache)
    assert trace.tokens != plain.tokens
    ids = trace.prompt_ids
    for token in trace.tokens:  # each greedy choice is the argmax of the edited model on the whole sequence
        assert int(lm.run_with_hooks(ids, [steer])[0, -1].argmax()) == token
        ids = ids + [token]
    streamed = [step.token_id for step in lm.stream(PROMPT, max_new_tokens=6, temperature=0, fwd_hooks=[steer])]
    assert streamed == trace.tokens
    with pytest.raises(ValueError, match="Nearest"):
        lm.generate(PROMPT, fwd_hooks=[("blocks.1.hook_resid_pr", lambda t, hook: None)])


def test_speculative_decoding_gives_the_edited_targets_greedy_tokens(lm, gpt2_tokenizer):
    draft = make_random_lm("gpt2", gpt2_tokenizer, seed=1)  # unedited: it only proposes
    direction = torch.randn(lm.d_model, generator=torch.Generator().manual_seed(1)) * 4
    steer = ("blocks.1.hook_resid_pre", lambda resid, hook: resid + direction)
    alone = lm.generate(PROMPT, max_new_tokens=8, temperature=0, fwd_hooks=[steer])
    drafted = lm.generate(PROMPT, max_new_tokens=8, temperature=0, fwd_hooks=[steer], draft=draft, draft_tokens=3)
    assert drafted.tokens == alone.tokens
