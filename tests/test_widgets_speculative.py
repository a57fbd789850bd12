"""The speculative explorer of notebook 10, driven as the notebook's assert cells drive it, on the shipped pair."""

import pytest

import llmviz
from llmviz.viz.adapters import speculative_rows
from llmviz.viz.widgets.speculative import K_VALUES, speculative_explorer

PROMPT = "Once upon a time"


@pytest.fixture(scope="module")
def explorer():
    return speculative_explorer(llmviz.load("tiny"), llmviz.load("tiny-draft"), PROMPT, max_new_tokens=12)


def test_slider_indexes_precomputed_traces(explorer):
    assert explorer.model_runs == len(K_VALUES)
    for k in (1, 6, 3):
        explorer.draft_tokens.value = k
        trace = explorer.traces[k]
        rows = speculative_rows(trace, explorer.lm)
        assert len(explorer.figure.data[0].y) == len(rows) == trace.target_passes
        shown = [[t for t in row if t] for row in explorer.figure.data[0].text]
        assert [len(r) for r in shown] == [len(r) for r in rows]
        assert all(len(s.speculation.proposed) <= k for s in trace.steps)
        assert f"k = {k} " in explorer.figure.layout.title.text
        assert f"{trace.target_passes} target passes" in explorer.figure.layout.title.text
    assert explorer.model_runs == len(K_VALUES)


def test_every_k_gives_the_target_greedy_text(explorer):
    alone = explorer.lm.generate(PROMPT, temperature=0, max_new_tokens=12, capture=None)
    for trace in explorer.traces.values():
        assert trace.tokens == alone.tokens


def test_callback_error_is_shown(explorer):
    saved = explorer.traces.pop(2)
    try:
        explorer.draft_tokens.value = 2
        assert "ValueError" in explorer.output.outputs[0]["text"]
    finally:
        explorer.traces[2] = saved
    explorer.draft_tokens.value = 1
    assert explorer.output.outputs == ()


def test_bad_arguments_raise(explorer):
    with pytest.raises(ValueError, match="k"):
        speculative_explorer(explorer.lm, explorer.draft, PROMPT, k=9)
    with pytest.raises(ValueError, match="max_new_tokens"):
        speculative_explorer(explorer.lm, explorer.draft, PROMPT, max_new_tokens=0)
