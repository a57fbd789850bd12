"""Tests for llmviz.models.thread_count: the torch thread count chosen from the machine's cores, load and environment.

A pure function of its inputs, so each case states the machine it stands for; one test checks that load() applies it."""

import pytest
import torch

import llmviz
from llmviz.models import thread_count


@pytest.mark.parametrize(("cores", "environ", "load", "expected"), [
    (8, {}, 0.5, None),                                # a learner's laptop with cores to spare: torch's default
    (2, {}, 0.0, 1),                                   # few cores: two threads fight whatever else runs
    (1, {}, 0.0, 1),
    (8, {"CI": "true"}, 0.0, 1),                       # CI shares its machine
    (8, {"CI": "false"}, 0.0, None),
    (8, {}, 5.0, 1),                                   # busy: load above half the cores
    (8, {"LLMVIZ_THREADS": "3"}, 5.0, 3),              # the override wins over every rule
    (2, {"LLMVIZ_THREADS": " 2 "}, 0.0, 2),
    (2, {"OMP_NUM_THREADS": "2"}, 0.0, None),          # torch already read OMP_NUM_THREADS: leave it
    (8, {"OMP_NUM_THREADS": "1", "CI": "1"}, 0.0, None),
])
def test_thread_count_follows_the_machine(cores, environ, load, expected):
    assert thread_count(cores, environ, load) == expected


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5"])
def test_a_bad_override_says_what_to_set(bad):
    with pytest.raises(ValueError, match=f"LLMVIZ_THREADS={bad!r} is not a positive whole number"):
        thread_count(8, {"LLMVIZ_THREADS": bad})


def test_load_applies_the_override(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setenv("LLMVIZ_THREADS", "2")
    try:
        llmviz.load("tiny")
        assert torch.get_num_threads() == 2
        monkeypatch.setenv("LLMVIZ_THREADS", "1")
        llmviz.load("tiny")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
