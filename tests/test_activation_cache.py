"""activation_cache.py: shorthand lookups resolve to the declared names, errors say what exists, views keep the
tensors."""

from __future__ import annotations

import pytest
import torch
from conftest import make_random_lm

from llmviz.capture import run_with_cache


@pytest.fixture(scope="module")
def captured(gpt2_tokenizer):
    lm = make_random_lm("llama", gpt2_tokenizer, num_hidden_layers=3)
    return run_with_cache(lm, "The cat sat")[1]


def test_shorthand_and_negative_layers(captured):
    assert captured["pattern", 0] is captured["blocks.0.attn.hook_pattern"]
    assert captured["pattern", -1] is captured["blocks.2.attn.hook_pattern"]
    assert captured["scale", 1, "ln2"] is captured["blocks.1.ln2.hook_scale"]
    assert captured["normalized", None, "ln_final"] is captured["ln_final.hook_normalized"]
    assert captured["embed"] is captured["hook_embed"]
    assert captured["rot_k", 2] is captured["blocks.2.attn.hook_rot_k"]
    assert ("pattern", 2) in captured and ("pattern", 3) not in captured and "nope" not in captured


def test_errors_name_the_key_and_what_exists(captured):
    with pytest.raises(KeyError, match="blocks.0.attn.hook_pattern"):  # the nearest name
        captured["blocks.0.attn.hook_patern"]
    with pytest.raises(KeyError, match=r"Layer 3 .* layers 0\.\.2"):
        captured["pattern", 3]
    with pytest.raises(KeyError, match=r"Layer -4"):
        captured["q", -4]
    with pytest.raises(KeyError, match=r"out of range"):
        captured["blocks.7.attn.hook_q"]
    with pytest.raises(KeyError, match="ambiguous.*ln1.*ln2"):
        captured["scale", 0]
    with pytest.raises(KeyError, match=r"blocks\.\{L\}\.attn\.hook_pattern"):  # lists what the cache holds
        captured["hook_pos_embed"]  # a GPT-2 name: not in a Llama cache
    with pytest.raises(KeyError, match="tuple"):
        captured[0]


def test_missing_because_filtered(gpt2_tokenizer):
    lm = make_random_lm("gpt2", gpt2_tokenizer)
    _, cache = run_with_cache(lm, "The cat", names=["blocks.0.attn.hook_pattern"])
    with pytest.raises(KeyError, match="not kept.*names="):
        cache["q", 0]


def test_layer_view_to_and_repr(captured):
    one = captured.layer(-1)
    assert list(one) and all(name.startswith("blocks.2.") for name in one)
    assert one["pattern", 2] is captured["pattern", 2]
    moved = captured.to("cpu")
    assert list(moved) == list(captured) and torch.equal(moved["q", 1], captured["q", 1])
    text = repr(captured)
    assert "blocks.{L}.attn.hook_pattern" in text and "layers 0-2" in text and "[1, 4, 3, 3]" in text
    assert text.count("\n") == len(captured.templates())
    assert captured.nbytes > 0 and len(captured) == 3 + 3 * 20 + 3
