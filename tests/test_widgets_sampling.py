"""The sampling explorer of notebook 08, driven as the notebook's assert cells drive it, on the shipped tiny model."""

import pytest
import torch

from llmviz.decoding.sampling import SamplingSettings, sample
from llmviz.viz.widgets.sampling import filter_explorer


@pytest.fixture()
def explorer(tiny_lm):
    return filter_explorer(tiny_lm, "Once upon a time", n=12)


def test_top_k_slider_keeps_exactly_the_k_largest(tiny_lm, explorer):
    logits, _ = tiny_lm.run_with_cache("Once upon a time")  # independent forward
    top = torch.topk(logits[0, -1].detach(), 12).indices
    explorer.top_k.value = 3
    kept = [bool(k) for k in explorer.record.removed_by[top] == 0]
    assert kept == [True] * 3 + [False] * 9
    colours = explorer.figure.data[0].marker.color
    assert all(c != "#BBBBBB" for c in colours[:3]) and all(c == "#BBBBBB" for c in colours[3:])
    after = torch.tensor(explorer.figure.data[1].y)
    assert torch.allclose(after[:3], torch.softmax(logits[0, -1, top[:3]].detach(), -1), atol=1e-5)
    assert explorer.model_runs == 1


def test_top_p_and_min_p_match_their_definitions(explorer):
    explorer.top_p.value = 0.5
    probs = torch.softmax(explorer.logits, -1)
    sorted_probs, order = probs.sort(descending=True)
    n = int((sorted_probs.cumsum(0) < 0.5).sum()) + 1  # the smallest set reaching 0.5
    assert set(explorer.record.kept_ids.tolist()) == set(order[:n].tolist())
    explorer.top_p.value = 1.0
    explorer.min_p.value = 0.2
    assert set(explorer.record.kept_ids.tolist()) == set(torch.nonzero(probs >= 0.2 * probs.max()).reshape(-1).tolist())


def test_the_drawn_token_is_highlighted_and_seeded(explorer):
    explorer.prompt.value = "The cat sat on the"  # a flat distribution (after "Once upon a time", "," has 0.999)
    explorer.run.click()
    explorer.top_k.value = 5  # the draw must come from the 5 most likely, so it is always among the 12 bars
    shown = explorer.top_ids.tolist()
    # A seed whose draw is not the most likely token, found with the library's seeded sampler outside the widget,
    # so a highlight stuck on the first bar cannot pass.
    seed = next(s for s in range(100) if sample(explorer.logits, settings=SamplingSettings(top_k=5), seed=s).token_id
                != shown[0])
    explorer.seed.value = seed
    first = explorer.record.token_id
    explorer.temperature.value = 1.5
    explorer.temperature.value = 1.0
    assert explorer.record.token_id == first and explorer.record.seed == seed
    assert sample(explorer.logits, settings=SamplingSettings(top_k=5), seed=seed).token_id == first
    assert first in shown[1:5]
    statuses = [row[1] for row in explorer.figure.data[0].customdata]
    assert statuses[shown.index(first)] == "chosen" and statuses.count("chosen") == 1
    assert f"seed {seed}" in explorer.figure.layout.title.text


def test_new_prompt_reruns_and_errors_show(tiny_lm, explorer):
    explorer.prompt.value = "The cat sat on the"
    explorer.run.click()
    logits, _ = tiny_lm.run_with_cache("The cat sat on the")
    assert explorer.model_runs == 2 and torch.equal(explorer.top_ids, torch.topk(logits[0, -1], 12).indices)
    assert list(explorer.figure.layout.xaxis.ticktext) == [row[0] for row in explorer.figure.data[0].customdata]
    explorer.prompt.value = ""
    explorer.run.click()
    assert "empty" in explorer.output.outputs[0]["text"] and explorer.model_runs == 2


def test_bad_n_raises(tiny_lm):
    with pytest.raises(ValueError, match="`n`"):
        filter_explorer(tiny_lm, "Once", n=0)
