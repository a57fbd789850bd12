"""The loop explorer of notebook 09, driven as the notebook's assert cells drive it, on the shipped tiny model."""

import html

import pytest

from llmviz.decoding.forward import attention_work
from llmviz.viz.widgets.loop import loop_explorer

PROMPT = "Once upon a time"


@pytest.fixture()
def explorer(tiny_lm):
    return loop_explorer(tiny_lm, PROMPT, max_new_tokens=8)


def test_lines_are_the_textbook_attention_counts(tiny_lm, explorer):
    n = len(tiny_lm.to_tokens(PROMPT)[0])
    per_step = tiny_lm.n_layers * tiny_lm.n_heads
    without = [per_step * (n + i) * (n + i + 1) // 2 for i in range(len(explorer.trace.steps))]
    with_cache = [per_step * n * (n + 1) // 2] + [per_step * (n + i + 1) for i in range(len(explorer.trace.steps) - 1)]
    assert list(explorer.figure.data[0].y) == without
    assert list(explorer.figure.data[1].y) == with_cache
    assert with_cache[1] == attention_work(tiny_lm, 1, n)


def test_slider_and_button_move_the_markers_without_rerunning(tiny_lm, explorer):
    explorer.next_token.click()
    explorer.next_token.click()
    assert explorer.step.value == 2
    step = explorer.trace.steps[2]
    assert list(explorer.figure.data[3].y) == [step.attention_dot_products]
    assert f"{step.kv_cache_length} positions" in explorer.figure.layout.title.text
    assert step.kv_cache_length == len(tiny_lm.to_tokens(PROMPT)[0]) + 2
    explorer.step.value = 0
    assert list(explorer.figure.data[2].x) == [0] and explorer.model_runs == 1


def test_both_runs_choose_the_same_tokens_and_text_grows(tiny_lm, explorer):
    assert explorer.trace.tokens == explorer.trace_no_cache.tokens
    explorer.step.value = explorer.step.max
    assert explorer.trace.stop_reason in ("max_new_tokens", "eos")
    assert explorer.trace.stop_reason in explorer.figure.layout.title.text
    # The page shows the prompt, every earlier token and the newest one in bold: decoded here, independently.
    before, newest = tiny_lm.to_string(explorer.trace.tokens[:-1]), tiny_lm.to_string(explorer.trace.tokens[-1:])
    shown = explorer.text.value
    assert f"{html.escape(PROMPT)}</span>{html.escape(before)}<b" in shown
    assert f">{html.escape(newest)}</b>" in shown


def test_errors_show_in_the_output_area(explorer):
    explorer.step.value = explorer.step.max
    explorer.next_token.click()
    assert "already stopped" in explorer.output.outputs[0]["text"]
    explorer.prompt.value = ""
    explorer.run.click()
    assert explorer.output.outputs[0]["text"] == "⚠ ValueError: The prompt is empty; type at least one character.\n"
    assert explorer.model_runs == 1


def test_new_prompt_reruns_once_and_replaces_the_lines(tiny_lm, explorer):
    explorer.prompt.value = "The little dog"
    explorer.run.click()
    assert explorer.model_runs == 2 and explorer.step.value == 0
    n = len(tiny_lm.to_tokens("The little dog")[0])
    assert explorer.figure.data[0].y[0] == tiny_lm.n_layers * tiny_lm.n_heads * n * (n + 1) // 2


def test_bad_max_new_tokens_is_rejected(tiny_lm):
    with pytest.raises(ValueError, match="max_new_tokens"):
        loop_explorer(tiny_lm, PROMPT, max_new_tokens=0)
