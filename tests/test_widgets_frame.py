"""The frame's shape line: every shape it prints, with T replaced by the prompt's length, is the shape of the real
tensor (a capture read with run_with_cache, the ids, the last position's probabilities), on the shipped GPT-2 and on
a random Llama with grouped-query attention, where it leaves out what that architecture does not produce."""

from __future__ import annotations

import re

import pytest

from llmviz import course
from llmviz.viz.widgets import you_are_here
from llmviz.viz.widgets.frame import stage_shapes

PROMPT = "Once upon a time, a little cat saw a big dog"


def parse(shape: str, n_tokens: int) -> tuple[int, ...] | None:
    """'[1, T, 4 heads, 16]' -> (1, n_tokens, 4, 16); 'one id' -> (); 'text' -> None."""
    if shape == "text":
        return None
    if shape == "one id":
        return ()
    sizes = []
    for part in shape.strip("[]").split(", "):
        number = re.sub(r" [a-z ]+$", "", part)  # "4 heads" -> "4"
        sizes.append(n_tokens + int(number[2:] or 0) if number.startswith("T") else int(number))  # "T+1" -> n + 1
    return tuple(sizes)


def real_shapes(lm):
    """Every tensor the frame can name, measured: captures of layer 0 and the pseudo-tensors."""
    ids = lm.to_tokens(PROMPT)
    logits, cache = lm.run_with_cache(ids)
    n = ids.shape[1]
    real = {name: tuple(cache[name].shape) for name in cache.keys()}
    real.update({"ids": tuple(ids.shape), "next_probs": tuple(logits[0, -1].softmax(-1).shape), "next_id": (),
                 "ids_next": (1, n + 1)})
    return real, n


@pytest.mark.parametrize("which", ["tiny", "llama"])
def test_every_shape_in_the_frame_is_a_real_tensors_shape(which, tiny_lm, random_llama_lm):
    lm = tiny_lm if which == "tiny" else random_llama_lm
    real, n = real_shapes(lm)
    checked = 0
    for stage in course.STAGES:
        for label, shape, capture in stage_shapes(stage.notebook, lm):
            key = capture.format(L=0) if capture else label
            if key in ("text", "draft_ids", "verify_logits"):  # no tensor, or one that needs a draft model
                continue
            assert parse(shape, n) == real[key], (stage.notebook, label, shape, real[key])
            checked += 1
    assert checked >= 30


def test_the_architecture_decides_which_captures_appear(tiny_lm, random_llama_lm):
    gpt2 = [c for _, _, c in stage_shapes("03_positional_encoding", tiny_lm)]
    llama = [c for _, _, c in stage_shapes("03_positional_encoding", random_llama_lm)]
    assert "hook_pos_embed" in gpt2 and "blocks.{L}.attn.hook_rot_q" not in gpt2
    assert "hook_pos_embed" not in llama and "blocks.{L}.attn.hook_rot_q" in llama


def test_the_frame_shows_the_diagram_the_line_and_the_real_sizes(tiny_lm):
    frame = you_are_here("04_attention", tiny_lm)
    html = frame._repr_html_()
    assert html.count("<svg") == 1 and 'class="stage current" data-notebook="04_attention"' in html
    q = f"attn.q [1, T, {tiny_lm.n_heads} heads, {tiny_lm.d_head}]"
    assert q in frame.line and q in html and "tiny" in repr(frame)
    # T is named with its real value for the running example, counted here by the tokenizer itself
    assert frame.running_tokens == len(tiny_lm.tokenizer(course.RUNNING_PROMPT)["input_ids"]) == 12
    assert "T = 12 tokens for the running example" in html and course.RUNNING_PROMPT in repr(frame)
    with pytest.raises(ValueError, match="not a notebook of the course"):
        you_are_here("4_attention", tiny_lm)
