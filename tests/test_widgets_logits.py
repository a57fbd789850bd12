"""Widgets of notebooks 07 and 08, driven as a notebook's assert cells drive them, on the shipped tiny model."""

import pytest
import torch

from llmviz.viz.widgets.common import PredictReveal
from llmviz.viz.widgets.logits import temperature_explorer


def test_temperature_slider_rescales_stored_logits_without_rerunning(tiny_lm):
    w = temperature_explorer(tiny_lm, "Once upon a time", n=10)
    logits, _ = tiny_lm.run_with_cache("Once upon a time")  # independent forward
    top = torch.topk(logits[0, -1], 10).indices
    assert torch.equal(w.top_ids, top)
    for T in (0.25, 2.0):
        w.temperature.value = T
        expected = torch.softmax(logits[0, -1].detach() / T, -1)[top]
        assert torch.allclose(torch.tensor(w.figure.data[0].y), expected, atol=1e-5)
    assert torch.allclose(torch.tensor(w.figure.data[1].y), torch.softmax(logits[0, -1].detach(), -1)[top], atol=1e-5)
    assert w.model_runs == 1 and f"T = {2.0:.2f}" in w.figure.layout.title.text
    # the top token is quoted, so a punctuation token reads as one (here the comma: "top token ',' gets ...")
    assert f"top token '{tiny_lm.to_str_tokens([int(top[0])])[0]}' gets" in w.figure.layout.title.text


def test_lower_temperature_gives_the_top_token_more_mass(tiny_lm):
    w = temperature_explorer(tiny_lm, "The dog", n=5)
    w.temperature.value = 2.0
    high = w.figure.data[0].y[0]
    w.temperature.value = 0.2
    assert w.figure.data[0].y[0] > high


def test_new_prompt_reruns_and_relabels(tiny_lm):
    w = temperature_explorer(tiny_lm, "Once upon a time", n=8)
    w.prompt.value = "The cat sat on the"
    w.run.click()
    logits, _ = tiny_lm.run_with_cache("The cat sat on the")
    top = torch.topk(logits[0, -1], 8).indices
    assert w.model_runs == 2 and torch.equal(w.top_ids, top)
    assert list(w.figure.layout.xaxis.ticktext) == list(w.labels)
    assert list(w.figure.data[0].customdata) == list(w.labels)


def test_errors_appear_in_the_output_area(tiny_lm):
    w = temperature_explorer(tiny_lm, "Once upon a time")
    w.prompt.value = ""
    w.run.click()
    assert "empty" in w.output.outputs[0]["text"] and w.model_runs == 1
    w.prompt.value = "The dog"
    w.run.click()
    assert w.output.outputs == () and w.model_runs == 2


def test_bad_n_raises(tiny_lm):
    with pytest.raises(ValueError, match="`n`"):
        temperature_explorer(tiny_lm, "Once", n=0)


def test_predict_reveal_shows_guess_and_answer():
    checkpoint = PredictReveal("what?", lambda guess: f"answer to {guess}")
    assert checkpoint.result.value == ""  # nothing revealed before the button
    checkpoint.guess.value = "0.9"
    checkpoint.button.click()
    assert "You said: <code>0.9</code>" in checkpoint.result.value and "answer to 0.9" in checkpoint.result.value
    assert checkpoint.revealed == "answer to 0.9" and not checkpoint.output.outputs


def test_predict_reveal_escapes_what_the_learner_typed():
    checkpoint = PredictReveal("<b>what?</b>", lambda guess: f"you typed {guess}")
    checkpoint.guess.value = "<script>alert(1)</script>"
    checkpoint.button.click()
    assert "<script>" not in checkpoint.result.value and "&lt;script&gt;" in checkpoint.result.value
    assert "&lt;b&gt;what?" in checkpoint.question.value


def test_predict_reveal_with_choices_reports_the_label():
    checkpoint = PredictReveal("which?", lambda guess: "right" if guess == 2 else "wrong",
                               choices=[("␣a", 1), ("␣b", 2)])
    checkpoint.guess.value = 2
    checkpoint.button.click()
    assert "You said: <code>␣b</code>" in checkpoint.result.value and checkpoint.revealed == "right"


def test_predict_reveal_reports_errors():
    checkpoint = PredictReveal("what?", lambda guess: 1 / 0)
    checkpoint.button.click()
    assert "ZeroDivisionError" in checkpoint.output.outputs[0]["text"] and checkpoint.revealed is None
