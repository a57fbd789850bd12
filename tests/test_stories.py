"""Tests for llmviz.training.stories.generator: determinism, the shapes prompts rely on, and the Zipf-peaked choices."""

import re
from collections import Counter

import pytest

from llmviz.training.stories.generator import stories, story, zipf_choice


def test_story_is_deterministic_per_seed():
    assert story(123) == story(123)
    assert stories(20, seed=4) == stories(20, seed=4)
    assert stories(20, seed=4) != stories(20, seed=5)
    assert len(set(stories(200))) > 190  # distinct seeds give distinct stories


def test_once_upon_a_time_is_followed_by_a_comma():
    texts = stories(2000)
    after = Counter(m.group(1) for t in texts for m in re.finditer(r"Once upon a time(.)", t))
    assert sum(after.values()) > 500
    assert after[","] == sum(after.values())


def test_sat_on_the_is_peaked_with_a_long_tail():
    texts = stories(3000)
    nouns = Counter(m.group(1) for t in texts for m in re.finditer(r"sat on the (\w+)", t))
    total = sum(nouns.values())
    top, top_count = nouns.most_common(1)[0]
    assert top == "mat"
    assert 0.15 < top_count / total < 0.5
    assert len(nouns) >= 20  # a long tail, not a fixed handful


def test_greetings_and_dialogue_appear():
    text = "\n".join(stories(1000))
    assert "Hello world" in text or "Hello, world" in text
    assert text.count('"') > 1000


def test_zipf_choice_matches_its_weights():
    import random
    rng = random.Random(0)
    counts = Counter(zipf_choice(rng, ["a", "b", "c"]) for _ in range(30_000))
    harmonic = 1 + 1 / 2 + 1 / 3
    assert counts["a"] / 30_000 == pytest.approx(1 / harmonic, abs=0.02)
    assert counts["c"] / 30_000 == pytest.approx(1 / 3 / harmonic, abs=0.02)


def test_negative_count_is_rejected():
    with pytest.raises(ValueError, match="n=-1"):
        stories(-1)
