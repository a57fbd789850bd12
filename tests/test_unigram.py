"""Unigram Viterbi segmentation against the library's own output, and its n-best paths against brute force."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmviz.tokenization.tokenizers import load_tokenizer
from llmviz.tokenization.unigram import build_lattice, unigram_model, viterbi, viterbi_word

TEXTS = [
    "It is a truth universally acknowledged", "The unhappiness of Miss Bennet", "Elizabeth's sisters, Jane and Lydia!",
    "HELLO World!!", "naïve café résumé", "東京タワー 中文", "emoji 😀😀 and 🦙", "tabs\tand\nnewlines", "nul\x00byte",
    "  two  spaces  ", "", " ", "<s>hello</s> <pad>", "ﬁ ½ ²", "supercalifragilisticexpialidocious",
]
text_strategy = st.lists(st.one_of(st.characters(codec="utf-8"),
                                   st.sampled_from(["the", "ness", "un", "▁", "😀", "中", "e\u0301", " ", "\t",
                                                    "<s>", "Mr. Darcy"])), max_size=25).map("".join)


def own_ids(text):
    return load_tokenizer("unigram")(text, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("text", TEXTS)
def test_viterbi_equals_the_library(text):
    result = viterbi(load_tokenizer("unigram"), text)
    assert result.ids == own_ids(text)
    assert result.tokens == load_tokenizer("unigram").convert_ids_to_tokens(result.ids)


@settings(max_examples=200, deadline=None)
@given(text_strategy)
def test_viterbi_equals_the_library_property(text):
    assert viterbi(load_tokenizer("unigram"), text).ids == own_ids(text)


def all_segmentations(word, lattice):
    """Every path through the lattice, by brute force: (score, pieces)."""
    by_start = {}
    for node in lattice:
        by_start.setdefault(node.start, []).append(node)

    def walk(start):
        if start == len(word):
            return [(0.0, ())]
        return [(node.score + score, (node.piece, *rest)) for node in by_start.get(start, [])
                for score, rest in walk(node.end)]
    return sorted(walk(0), key=lambda p: -p[0])


@pytest.mark.parametrize("word", ["▁unhappiness", "▁Bennet", "▁acknowledged", "▁東京x"])
def test_best_path_and_alternatives_against_brute_force(word):
    model = unigram_model(load_tokenizer("unigram"))
    result = viterbi_word(word, model, n_best=5)
    paths = all_segmentations(word, result.lattice)
    assert result.best_score == pytest.approx(paths[0][0])
    assert result.best_score == pytest.approx(sum(node.score for node in result.best_path))
    assert "".join(node.piece for node in result.best_path) == word
    assert [a.score for a in result.alternatives] == pytest.approx([s for s, _ in paths[:5]])
    assert result.alternatives[0].pieces == [node.piece for node in result.best_path]
    for alternative in result.alternatives:
        assert "".join(alternative.pieces) == word
    # the best path ending at each position is the best over the prefix
    for ending in result.best_ending:
        prefix = all_segmentations(word[:ending.end], [n for n in result.lattice if n.end <= ending.end])
        assert ending.score == pytest.approx(prefix[0][0])
    assert result.best_ending[-1].score == pytest.approx(result.best_score)


def test_lattice_holds_every_matching_piece_and_unknowns():
    model = unigram_model(load_tokenizer("unigram"))
    word = "▁the😀"
    lattice = build_lattice(word, model)
    expected = {(s, e) for s in range(len(word)) for e in range(s + 1, len(word) + 1) if word[s:e] in model.vocab}
    assert {(n.start, n.end) for n in lattice if not n.unknown} == expected
    unknown = [n for n in lattice if n.unknown]
    assert [(n.start, n.piece) for n in unknown] == [(4, "😀")]
    assert unknown[0].score == pytest.approx(min(model.scores) - 10)


def test_neighbouring_unknowns_fuse_into_one():
    result = viterbi(load_tokenizer("unigram"), "😀😀")
    assert result.tokens == ["▁", "<unk>"] and result.ids == own_ids("😀😀")
    assert len(result.words[0].best_path) == 3  # '▁', '😀', '😀' before fusing


def test_viterbi_rejects_other_tokenizers_and_bad_n_best():
    with pytest.raises(ValueError, match="Unigram"):
        viterbi(load_tokenizer("bert"), "hello")
    with pytest.raises(ValueError, match="n_best"):
        viterbi(load_tokenizer("unigram"), "hello", n_best=0)
