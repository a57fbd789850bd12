"""Beam search: the best sequence equals HF generate(num_beams=...), and the recorded tree is consistent."""

import pytest
import torch
from conftest import make_random_lm
from transformers import GPT2Tokenizer

from llmviz.decoding.beam import beam_search
from llmviz.decoding.generation import generate

SEARCHES = [dict(num_beams=4, length_penalty=1.0, early_stopping=False),
            dict(num_beams=3, length_penalty=0.0, early_stopping=True),
            dict(num_beams=2, length_penalty=2.0, early_stopping="never"),
            dict(num_beams=3, length_penalty=-1.0, early_stopping=False)]


def hf_beam(lm, ids, max_new_tokens, **search):
    ids = torch.tensor([ids])
    out = lm.model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False,
                            pad_token_id=lm.model.generation_config.eos_token_id, **search)
    return out[0, ids.shape[1]:].tolist()


@pytest.fixture(scope="module")
def letters():
    """An 8-letter vocabulary plus <|endoftext|> (id 8), so EOS is likely and hypotheses finish early."""
    return GPT2Tokenizer(vocab={c: i for i, c in enumerate("abcdefgh")}, merges=[])


@pytest.mark.parametrize("search", SEARCHES)
def test_best_equals_hf_on_gpt2_vocab(gpt2_tokenizer, search):
    lm = make_random_lm("gpt2", gpt2_tokenizer, initializer_range=0.3)
    tree = beam_search(lm, "Hello there", max_new_tokens=8, **search)
    assert tree.best_tokens == hf_beam(lm, lm.to_tokens("Hello there")[0].tolist(), 8, **search)


@pytest.mark.parametrize("search", SEARCHES)
def test_best_equals_hf_with_early_eos(letters, search):
    finished_on_eos = 0
    for seed in range(8):
        lm = make_random_lm("gpt2", letters, seed=seed, initializer_range=0.5, eos_token_id=8, bos_token_id=8)
        tree = beam_search(lm, [1, 2, 3], max_new_tokens=10, **search)
        assert tree.best_tokens == hf_beam(lm, [1, 2, 3], 10, **search), f"seed {seed}"
        finished_on_eos += any(n.status == "finished" and n.token_id == 8 for n in tree.nodes)
    assert finished_on_eos > 0  # the EOS branch of the algorithm was exercised


def test_tree_is_consistent_with_the_model(letters):
    lm = make_random_lm("gpt2", letters, seed=5, initializer_range=0.5, eos_token_id=8, bos_token_id=8)
    prompt = [1, 2, 3]
    tree = beam_search(lm, prompt, num_beams=3, max_new_tokens=6, length_penalty=1.0)
    assert all(len(step) == 2 * 3 for step in tree.steps)
    for step in tree.steps[:-1]:
        assert sum(tree.nodes[i].status == "kept" for i in step) == 3
    for node in tree.nodes:
        with torch.no_grad():
            logits = lm.model(torch.tensor([prompt + node.tokens[:-1]])).logits[0, -1]
        expected = float(torch.log_softmax(logits, -1)[node.token_id])
        assert node.log_prob == pytest.approx(expected, abs=1e-4)
        parent_total = tree.nodes[node.parent].cumulative_log_prob if node.parent >= 0 else 0.0
        assert node.cumulative_log_prob == pytest.approx(parent_total + node.log_prob, abs=1e-4)
        if node.parent >= 0:
            assert tree.nodes[node.parent].status == "kept"
        if node.status == "finished":
            assert node.score == pytest.approx(node.cumulative_log_prob / len(node.tokens) ** 1.0, abs=1e-5)
    scores = [n.score for n in tree.finished]
    assert scores == sorted(scores, reverse=True) and len(tree.finished) == 3
    assert tree.text == lm.to_string(tree.best_tokens)


def test_one_beam_is_greedy(gpt2_tokenizer):
    lm = make_random_lm("gpt2", gpt2_tokenizer, initializer_range=0.3)
    tree = beam_search(lm, "Once upon", num_beams=1, max_new_tokens=8)
    assert tree.best_tokens == generate(lm, "Once upon", max_new_tokens=8, temperature=0, capture=None).tokens


@pytest.mark.parametrize("bad, name", [(dict(num_beams=0), "num_beams"), (dict(max_new_tokens=0), "max_new_tokens"),
                                       (dict(length_penalty=float("nan")), "length_penalty"),
                                       (dict(early_stopping="sometimes"), "early_stopping")])
def test_bad_arguments(gpt2_tokenizer, bad, name):
    lm = make_random_lm("gpt2", gpt2_tokenizer)
    with pytest.raises(ValueError, match=name):
        beam_search(lm, "Hi", **bad)


def test_shipped_model_best_equals_hf(tiny_lm):
    for prompt in ("Once upon a time", "The cat"):
        tree = tiny_lm.beam_search(prompt, num_beams=4, max_new_tokens=8)
        assert tree.best_tokens == hf_beam(tiny_lm, tiny_lm.to_tokens(prompt)[0].tolist(), 8, num_beams=4)


@pytest.mark.slow
def test_smollm2_best_equals_hf(smollm2_lm):
    ids = smollm2_lm.to_tokens("Once upon a time")[0].tolist()
    tree = smollm2_lm.beam_search("Once upon a time", num_beams=3, max_new_tokens=6)
    assert tree.best_tokens == hf_beam(smollm2_lm, ids, 6, num_beams=3)
