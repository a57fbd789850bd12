"""WordPiece's greedy longest-match-first search, against BERT's own tokenizer and the vocabulary file."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmviz.tokenization.tokenizer_files import bert_vocab_file
from llmviz.tokenization.tokenizers import load_tokenizer
from llmviz.tokenization.wordpiece import segment_word, wordpiece

TEXTS = [
    "running", "unaffable", "The quick brown fox jumps over the lazy dog.", "HELLO World!!", "naïve café résumé",
    "東京タワー 中文", "emoji 😀 and 🦙🏳️‍🌈", "tabs\tand\nnewlines", "nul\x00byte", "don't stop-believing",
    "supercalifragilisticexpialidocious", "x" * 150, "a" * 99 + " " + "b" * 101, "", "   ", "[CLS] [SEP] [UNK]",
    "zzqxjk ǅ ﬁ ½", "3.14159 1,000,000",
]
text_strategy = st.lists(st.one_of(st.characters(codec="utf-8"),
                                   st.sampled_from(["ing", "un", "##", "😀", "中", "e\u0301", " ", "\t", "\x00",
                                                    "running", "The"])), max_size=25).map("".join)


def own_ids(text):
    return load_tokenizer("bert")(text, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("text", TEXTS)
def test_wordpiece_equals_bert(text):
    result = wordpiece(load_tokenizer("bert"), text)
    assert result.ids == own_ids(text)


@settings(max_examples=200, deadline=None)
@given(text_strategy)
def test_wordpiece_equals_bert_property(text):
    assert wordpiece(load_tokenizer("bert"), text).ids == own_ids(text)


def test_every_attempt_is_recorded_and_greedy():
    vocab = {token: i for i, token in enumerate(bert_vocab_file().read_text("utf-8").splitlines())}
    result = wordpiece(load_tokenizer("bert"), "Unaffable running")
    assert result.normalized == "unaffable running"
    word = result.words[0]
    assert word.tokens == ["una", "##ffa", "##ble"] and word.span == (0, 9)
    # Re-derive greedy longest-match independently from the attempts: at each start, every longer candidate
    # was tried first and missed, and the first hit is the piece.
    start = 0
    for piece in word.tokens:
        tried = [a for a in word.attempts if a.start == start]
        assert [a.end for a in tried] == list(range(len(word.word), tried[-1].end - 1, -1))
        assert all(not a.found and a.candidate not in vocab for a in tried[:-1])
        assert tried[-1].found and tried[-1].candidate == piece and piece in vocab
        assert all(a.candidate.startswith("##") == (start > 0) for a in tried)
        start = tried[-1].end
    assert result.words[1].tokens == ["running"] and len(result.words[1].attempts) == 1


def test_unknown_and_too_long_words():
    result = wordpiece(load_tokenizer("bert"), "ok 😀 " + "x" * 101)
    ok, emoji, long = result.words
    assert not ok.unknown and emoji.unknown and emoji.tokens == ["[UNK]"]
    assert emoji.attempts and not any(a.found for a in emoji.attempts)
    assert long.too_long and long.tokens == ["[UNK]"] and long.attempts == []


def test_a_word_fails_whole_when_one_position_matches_nothing():
    vocab = {"[UNK]": 0, "ab": 1, "##c": 2, "a": 3}
    assert segment_word("abc", vocab).tokens == ["ab", "##c"]
    failed = segment_word("abd", vocab)  # 'ab' matches, then nothing matches at 'd': the whole word is [UNK]
    assert failed.unknown and failed.tokens == ["[UNK]"]


def test_wordpiece_rejects_other_tokenizers():
    with pytest.raises(ValueError, match="WordPiece"):
        wordpiece(load_tokenizer("gpt2"), "hello")
