"""Tests for the tour widgets (notebook 00) on the shipped tiny model: the data equals the capture, controls only
index it, the "next token" button runs one greedy step of the loop, and errors appear in the widget's output."""

import re
from pathlib import Path

import pytest
import torch

import llmviz
from llmviz.course import RUNNING_PROMPT
from llmviz.model_choice import PREFERRED
from llmviz.viz.widgets import tour as widgets_tour
from llmviz.viz.widgets.tour import Tour, default_model, default_prompt, guess_rank, next_token_guess
from llmviz.viz.widgets.tour_figure import MAX_TOKENS, TOP_K, tour_data, tour_figure

PROMPT = "Once upon a time, a little cat"


@pytest.fixture(scope="module")
def full(tiny_lm):
    return tiny_lm.run_with_cache(PROMPT)  # every name: an independent source for what the tour keeps


def test_tour_data_equals_the_capture(tiny_lm, full):
    logits, cache = full
    data = tour_data(tiny_lm, PROMPT)
    assert data.tokens == tiny_lm.to_str_tokens(PROMPT)
    for layer in range(tiny_lm.n_layers):
        assert torch.equal(torch.tensor(data.patterns[layer]), cache["pattern", layer][0])
    torch.testing.assert_close(torch.tensor(data.embed), cache["hook_embed"][0])
    last = cache["resid_post", tiny_lm.n_layers - 1][0]  # [pos, d_model]
    torch.testing.assert_close(torch.tensor(data.resid_norms[-1]), last.norm(dim=-1))
    top = torch.softmax(logits[0], dim=-1).topk(TOP_K, dim=-1)
    torch.testing.assert_close(torch.tensor(data.top_probs), top.values)
    assert data.top_ids[:, 0].tolist() == logits[0].argmax(-1).tolist()
    # the logit lens, decoded one position at a time: its last row reads the model's own prediction, and every
    # row equals llmviz.stages.lens.logit_lens of the full capture
    lens = tiny_lm.logit_lens(cache, top_k=1)
    for p, predicted in enumerate(logits[0].argmax(-1).tolist()):
        tokens, probs = data.lens.at(p)  # [n] each
        assert tokens[-1] == tiny_lm.to_str_tokens([predicted])[0]
        assert tokens == [layer[p][0] for layer in lens.top_tokens]
        torch.testing.assert_close(torch.tensor(probs), lens.top_probs[:, p, 0])


def test_tour_data_rejects_long_and_empty_prompts(tiny_lm):
    with pytest.raises(ValueError, match="at most"):
        tour_data(tiny_lm, [1] * (MAX_TOKENS + 1))
    with pytest.raises(ValueError):
        tour_data(tiny_lm, "")


def test_figure_follows_the_chosen_token_without_running_the_model(tiny_lm):
    w = Tour(tiny_lm, PROMPT)
    assert w.model_runs == 1 and w.position.value == len(w.data.ids) - 1
    w.position.value = 2
    assert w.strip.value == 2 and w.model_runs == 1
    attention = w.figure.data[1].z  # [head, key]: keys after position 2 are masked (None)
    for head in range(tiny_lm.n_heads):
        assert all(v is None for v in attention[head][3:])
        assert list(attention[head][:3]) == pytest.approx(w.data.patterns[0, head, 2, :3].tolist())
    assert list(w.figure.data[4].y) == pytest.approx(w.data.resid_norms[:, 2].tolist())
    assert list(w.figure.data[5].x) == pytest.approx(w.data.top_probs[2][::-1].tolist())
    assert w.figure.layout.shapes[0].y0 == 1.5
    w.layer.value = tiny_lm.n_layers - 1
    assert list(w.figure.data[1].z[0][:3]) == pytest.approx(w.data.patterns[-1, 0, 2, :3].tolist())
    w.strip.value = 0  # clicking a token in the strip moves the slider
    assert w.position.value == 0 and w.model_runs == 1
    assert not w.output.outputs


def test_next_token_appends_the_greedy_token(tiny_lm):
    w = Tour(tiny_lm, PROMPT)
    before = list(w.data.ids)
    w.next_token.click()
    assert w.model_runs == 3  # one generation step, then the tour's capture of the longer text
    assert w.data.ids == before + [int(tour_data(tiny_lm, before).top_ids[-1, 0])]
    assert w.last_step.token_id == w.data.ids[-1]
    assert f"probability {tour_data(tiny_lm, before).top_probs[-1, 0]:.3f}" in w.status.value
    assert w.position.max == w.position.value == len(before)
    assert len(w.strip.options) == len(before) + 1 and len(w.figure.data[1].z[0]) == len(before) + 1


def test_new_prompt_reruns_and_errors_show_in_the_output(tiny_lm):
    w = Tour(tiny_lm, PROMPT)
    w.prompt.value = "The dog"
    assert w.model_runs == 2 and w.data.tokens == tiny_lm.to_str_tokens("The dog")
    assert w.figure.layout.yaxis.ticktext == tuple(w.data.tokens)
    w.prompt.value = ""
    assert "ValueError" in w.output.outputs[0]["text"]
    assert w.data.tokens == tiny_lm.to_str_tokens("The dog")  # the last good prompt stays on screen


def test_guess_reveals_the_model_distribution(tiny_lm, full):
    logits, _ = full
    g = next_token_guess(tiny_lm, PROMPT)
    probs = torch.softmax(logits[0, -1], dim=-1)  # [vocab], from the fixture's own forward
    assert "rank" not in g.result.value  # nothing revealed before the button
    best = probs.argmax().item()
    g.guess.value = tiny_lm.to_string([best]).strip()
    g.button.click()
    token, p, rank = guess_rank(tiny_lm, probs, g.guess.value)
    assert rank == 1 and p == pytest.approx(probs[best].item(), rel=1e-5)
    assert "rank 1 of" in g.result.value and f"{probs[best].item():.4f}" in g.result.value and not g.output.outputs
    second = probs.topk(2).indices[1].item()
    assert guess_rank(tiny_lm, probs, tiny_lm.to_string([second]))[2] == 2
    with pytest.raises(ValueError, match="empty"):
        guess_rank(tiny_lm, probs, "  ")


def test_default_model_falls_back_with_a_notice(tiny_lm, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("LLMVIZ_MODEL", raising=False)
    monkeypatch.setitem(llmviz.registry.MODELS, PREFERRED, tmp_path / "not-set-up")
    fallback = default_model()
    assert fallback.name == "tiny" and "tiny" in capsys.readouterr().out
    assert default_prompt(fallback) == RUNNING_PROMPT   # the tour follows the course's running example on any model

def test_figure_builder_is_pure(tiny_lm):
    data = tour_data(tiny_lm, PROMPT)
    fig = tour_figure(data, position=1, layer=0)
    assert len(fig.data) == 6 and fig.layout.yaxis.ticktext == tuple(data.tokens)


def test_view_is_a_figure_widget_of_the_choice(tiny_lm):
    data = tour_data(tiny_lm, PROMPT)
    view = widgets_tour.tour_view(data, position=1, layer=0)
    assert list(view.data[4].y) == pytest.approx(data.resid_norms[:, 1].tolist())


@pytest.mark.slow
def test_readme_tour_caption_is_what_smollm2_predicts(smollm2_lm):
    """The README's screenshot caption names the tour's model, its default prompt and the predicted next token; the
    three are recomputed here (the browser tier takes the screenshot with that default prompt)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    caption = re.search(r'\*The tour on (\S+): "(.+?)" → "(.+?)"\.', readme)
    assert caption, "README lost the tour caption: *The tour on MODEL: \"PROMPT\" → \"TOKEN\".*"
    model, prompt, token = caption.groups()
    assert model.lower() == smollm2_lm.name and prompt == default_prompt(smollm2_lm)
    with torch.no_grad():
        best = int(smollm2_lm.model(smollm2_lm.to_tokens(prompt)).logits[0, -1].argmax())
    assert token == smollm2_lm.to_string([best])
