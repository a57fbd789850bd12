"""Sampling: HF's processors reproduced exactly, the draws follow the reported distribution, bad values refused."""

import math

import pytest
import torch
from scipy.stats import chisquare
from transformers.generation.logits_process import (
    LogitsProcessorList,
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from llmviz.decoding.sampling import FILTERS, SamplingSettings, distribution, sample

SETTINGS = [
    dict(temperature=1.0),
    dict(temperature=0.7, top_k=5),
    dict(temperature=1.3, top_p=0.8),
    dict(temperature=0.9, top_k=8, top_p=0.9, min_p=0.05),
    dict(temperature=1.0, min_p=0.1, repetition_penalty=1.5),
]


def random_logits(vocab=12, seed=0, scale=2.0):
    return torch.randn(vocab, generator=torch.Generator().manual_seed(seed)) * scale


def hf_processed(logits, previous, temperature=1.0, top_k=None, top_p=None, min_p=None, repetition_penalty=None):
    """The same settings through transformers' own processors, in the order _get_logits_processor builds them."""
    processors = LogitsProcessorList()
    if repetition_penalty is not None:
        processors.append(RepetitionPenaltyLogitsProcessor(repetition_penalty))
    if temperature != 1.0:
        processors.append(TemperatureLogitsWarper(temperature))
    if top_k is not None:
        processors.append(TopKLogitsWarper(top_k))
    if top_p is not None:
        processors.append(TopPLogitsWarper(top_p))
    if min_p is not None:
        processors.append(MinPLogitsWarper(min_p))
    return processors(torch.tensor([previous]), logits[None].clone())[0]


@pytest.mark.parametrize("settings", SETTINGS)
def test_filtered_logits_equal_hugging_face_processors(settings):
    previous = [1, 3, 3, 7]
    for seed in range(5):
        logits = random_logits(50, seed)
        record = distribution(logits, SamplingSettings(**settings), previous)
        expected = hf_processed(logits, previous, **settings)
        assert torch.equal(torch.isinf(record.filtered_logits), torch.isinf(expected))
        finite = ~torch.isinf(expected)
        torch.testing.assert_close(record.filtered_logits[finite], expected[finite])
        torch.testing.assert_close(record.probs, torch.softmax(expected, -1))


@pytest.mark.parametrize("settings", SETTINGS)
def test_seeded_draws_follow_the_reported_distribution(settings):
    logits = random_logits(12, seed=1)
    settings = SamplingSettings(**settings)
    n = 3000
    counts = torch.zeros(12)
    for seed in range(n):
        record = sample(logits, settings=settings, seed=seed, previous_ids=[1, 3])
        counts[record.token_id] += 1
    probs = record.probs
    assert counts[probs == 0].sum() == 0, "a removed token was drawn"
    kept = probs > 0
    expected = probs[kept].double() / probs[kept].double().sum() * n  # renormalized in float64 for scipy's check
    assert chisquare(counts[kept].double().numpy(), expected.numpy()).pvalue > 1e-3


def test_top_k_leaves_exactly_k_largest():
    for k in (1, 3, 10):
        logits = random_logits(40, seed=k)
        record = sample(logits, top_k=k)
        assert len(record.kept_ids) == k
        assert set(record.kept_ids.tolist()) == set(torch.argsort(logits, descending=True)[:k].tolist())
        assert int((record.probs > 0).sum()) == k
        assert all(record.filter_of(i) == "top_k" for i in range(40) if i not in record.kept_ids)


def test_top_p_keeps_the_smallest_set_reaching_p():
    for seed, p in enumerate((0.3, 0.5, 0.75, 0.9, 0.99)):
        logits = random_logits(40, seed=seed)
        probs = torch.softmax(logits.double(), -1)
        order = torch.argsort(probs, descending=True)
        n = int(torch.searchsorted(probs[order].cumsum(0), torch.tensor(p, dtype=torch.float64))) + 1
        record = sample(logits, top_p=p)
        assert set(record.kept_ids.tolist()) == set(order[:n].tolist())
        assert float(probs[record.kept_ids].sum()) >= p
        assert float(probs[record.kept_ids[:-1]].sum()) < p  # one token fewer would not reach p


def test_kept_ids_most_probable_first_and_probs_sum_to_one():
    record = sample(random_logits(30, seed=4), temperature=0.8, top_k=10, top_p=0.9)
    kept_probs = record.probs[record.kept_ids]
    assert torch.all(kept_probs[:-1] >= kept_probs[1:])
    assert math.isclose(float(record.probs.sum()), 1.0, rel_tol=1e-6)
    assert torch.equal(record.removed_by == 0, record.probs > 0)


def test_removed_by_names_the_first_filter():
    logits = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    record = sample(logits, top_k=4, top_p=0.5)
    assert record.filter_of(5) == "top_k" and record.filter_of(4) == "top_k"
    assert record.filter_of(0) == "kept"
    assert record.filter_of(3) == "top_p"  # within the top 4 but outside the nucleus
    assert set(FILTERS) >= {record.filter_of(i) for i in range(6)}


def test_temperature_zero_and_near_zero_give_argmax():
    for seed in range(10):
        logits = random_logits(50, seed)
        greedy = sample(logits, temperature=0, seed=seed)
        assert greedy.token_id == int(torch.argmax(logits))
        assert greedy.kept_ids.tolist() == [greedy.token_id]
        assert greedy.filter_of((greedy.token_id + 1) % 50) == "greedy"
        assert sample(logits, temperature=1e-4, seed=seed).token_id == greedy.token_id


def test_temperature_scales_logits():
    logits = random_logits(20, seed=2)
    record = sample(logits, temperature=0.5)
    torch.testing.assert_close(record.scaled_logits, logits / 0.5)
    torch.testing.assert_close(record.probs, torch.softmax(logits / 0.5, -1))


def test_repetition_penalty_lowers_seen_tokens_both_signs():
    logits = torch.tensor([2.0, -2.0, 1.0, -1.0])
    record = sample(logits, repetition_penalty=2.0, previous_ids=[0, 1])
    assert record.scaled_logits.tolist() == [1.0, -4.0, 1.0, -1.0]


def test_same_seed_same_token_and_seeds_differ():
    logits = random_logits(100, seed=3, scale=0.5)
    first = [sample(logits, seed=s).token_id for s in range(20)]
    assert first == [sample(logits, seed=s).token_id for s in range(20)]
    assert len(set(first)) > 5


@pytest.mark.parametrize("bad, name", [
    (dict(temperature=-0.1), "temperature"), (dict(temperature=float("nan")), "temperature"),
    (dict(temperature=float("inf")), "temperature"), (dict(top_k=0), "top_k"), (dict(top_k=-3), "top_k"),
    (dict(top_k=2.5), "top_k"), (dict(top_p=0.0), "top_p"), (dict(top_p=1.5), "top_p"),
    (dict(top_p=float("nan")), "top_p"), (dict(min_p=-0.1), "min_p"), (dict(min_p=2), "min_p"),
    (dict(repetition_penalty=0), "repetition_penalty"), (dict(repetition_penalty=float("nan")), "repetition_penalty"),
    (dict(seed=-1), "seed"),
])
def test_bad_values_name_the_parameter(bad, name):
    with pytest.raises(ValueError, match=name):
        sample(random_logits(), **bad)


def test_nan_logits_are_refused():
    logits = random_logits()
    logits[3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        sample(logits)
