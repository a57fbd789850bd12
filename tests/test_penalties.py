"""Penalties: OpenAI's frequency and presence penalties as formulas, HF's repetition penalty, and the order they apply.

Every expected value is recomputed here in plain Python (collections.Counter over the ids) or by Hugging Face's
own processors; nothing is checked against llmviz's own output.
"""

from collections import Counter

import pytest
import torch
from transformers import GenerationConfig

from llmviz.decoding import generate
from llmviz.decoding.sampling import SamplingSettings, distribution, sample


def openai_penalized(logits, generated, frequency, presence):
    """OpenAI's rule, token by token: mu[j] - c[j] * frequency - (c[j] > 0) * presence, c counted by Counter."""
    counts = Counter(generated)
    return torch.tensor([v - counts[j] * frequency - (counts[j] > 0) * presence for j, v in enumerate(logits.tolist())])


@pytest.mark.parametrize("frequency, presence", [(0.5, 0.0), (0.0, 1.5), (0.3, 0.7), (-0.4, 0.2)])
def test_frequency_and_presence_follow_openai_formula(frequency, presence):
    logits = torch.randn(30, generator=torch.Generator().manual_seed(1)) * 3
    generated = [4, 4, 4, 9, 2, 9, 29]
    record = distribution(logits, SamplingSettings(frequency_penalty=frequency, presence_penalty=presence), generated)
    torch.testing.assert_close(record.scaled_logits, openai_penalized(logits, generated, frequency, presence))
    assert torch.equal(record.logits, logits)  # the raw logits stay what the model said


def test_penalties_count_only_the_generated_ids_and_come_before_the_temperature():
    logits = torch.randn(20, generator=torch.Generator().manual_seed(2))
    prompt, generated = [1, 1, 5], [5, 7, 7, 7]
    record = sample(logits, temperature=0.5, frequency_penalty=0.4, presence_penalty=0.6,
                    previous_ids=prompt + generated, generated_ids=generated)
    expected = openai_penalized(logits, generated, 0.4, 0.6) / 0.5  # the prompt's 1s are not counted
    torch.testing.assert_close(record.scaled_logits, expected)
    torch.testing.assert_close(record.probs, torch.softmax(expected, -1))


def test_repetition_then_frequency_and_presence():
    logits = torch.tensor([2.0, -2.0, 1.0, -1.0, 0.5])
    record = sample(logits, repetition_penalty=2.0, frequency_penalty=0.5, presence_penalty=0.25,
                    previous_ids=[0, 1, 1, 4], generated_ids=[1, 1, 4])
    # id 0: 2 / 2 = 1, not generated; id 1: -2 * 2 - 2 * 0.5 - 0.25; id 4: 0.5 / 2 - 0.5 - 0.25
    assert record.scaled_logits.tolist() == [1.0, -5.25, 1.0, -1.0, -0.5]


def test_greedy_takes_the_argmax_of_the_penalized_logits():
    logits = torch.tensor([3.0, 2.5, 0.0])
    assert sample(logits, temperature=0).token_id == 0
    assert sample(logits, temperature=0, presence_penalty=1.0, previous_ids=[0]).token_id == 1


def test_hugging_face_applies_the_repetition_penalty_then_temperature_top_k_top_p_min_p(tiny_lm):
    """The order sampling.py follows is the order of the installed transformers' own processor list."""
    config = GenerationConfig(do_sample=True, temperature=0.7, top_k=5, top_p=0.9, min_p=0.1, repetition_penalty=1.3)
    names = [type(p).__name__ for p in tiny_lm.model._get_logits_processor(config, input_ids_seq_length=4)]
    assert names == ["RepetitionPenaltyLogitsProcessor", "TemperatureLogitsWarper", "TopKLogitsWarper",
                     "TopPLogitsWarper", "MinPLogitsWarper"]


def test_generate_applies_the_penalties_to_the_tokens_it_generated(tiny_lm):
    trace = generate(tiny_lm, "Once upon a time", max_new_tokens=12, temperature=0, frequency_penalty=0.8,
                     presence_penalty=0.5, capture=None)
    for i, step in enumerate(trace.steps):
        expected = openai_penalized(step.sample.logits, trace.tokens[:i], 0.8, 0.5)
        torch.testing.assert_close(step.sample.scaled_logits, expected)
        assert step.token_id == int(torch.argmax(expected))


@pytest.mark.parametrize("name, value", [("frequency_penalty", float("nan")), ("presence_penalty", float("inf")),
                                         ("frequency_penalty", "1"), ("presence_penalty", True)])
def test_bad_penalties_name_the_parameter(name, value):
    with pytest.raises(ValueError, match=name):
        SamplingSettings(**{name: value})
