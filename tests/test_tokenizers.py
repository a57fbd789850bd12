"""Real tokenizers by name, the side-by-side table, special tokens and byte-level round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmviz.tokenization.bytelevel import bytes_to_unicode, token_bytes
from llmviz.tokenization.tokenizer_files import bert_vocab_file
from llmviz.tokenization.tokenizers import (
    compare,
    encode_with_special_tokens,
    is_byte_level,
    load_tokenizer,
    missing_bytes,
    model_type,
    special_tokens,
    tokenize,
)

# Text a learner might type, plus the hard cases: emoji, CJK, combining marks, tabs, newlines, NUL.
AWKWARD = ["🦙🏳️‍🌈", "東京タワー", "e\u0301 n\u0303", "a\tb\nc\r\n", "nul\x00byte", "  two  spaces", ""]
# Characters from all of Unicode, mixed with multi-character emoji sequences (ZWJ), CJK and combining marks.
unicode_text = st.lists(st.one_of(st.characters(codec="utf-8"),
                                  st.sampled_from(["😀", "👩‍👩‍👧", "🏳️‍🌈", "中文", "e\u0301", "\u0308", "\t", "\n",
                                                   "\x00", " ", "Ġ", "▁", "##"])), max_size=30).map("".join)


def bert_vocab() -> list[str]:
    return bert_vocab_file().read_text(encoding="utf-8").splitlines()


def test_gpt2_is_the_real_tokenizer():
    tokenizer = load_tokenizer("gpt2")
    assert len(tokenizer) == 50257
    assert model_type(tokenizer) == "BPE" and is_byte_level(tokenizer)
    # GPT-2's well-known ids, as in OpenAI's encoder.json
    assert tokenizer("Hello world", add_special_tokens=False)["input_ids"] == [15496, 995]
    assert tokenizer.convert_tokens_to_ids("<|endoftext|>") == 50256


def test_bert_is_wordpiece_with_the_shipped_vocabulary():
    tokenizer = load_tokenizer("bert")
    vocab = bert_vocab()
    assert model_type(tokenizer) == "WordPiece" and len(tokenizer) == len(vocab) == 30522
    row = tokenize(tokenizer, "running unaffable", name="bert")
    assert row.ids == [vocab.index(t) for t in row.tokens]  # an id is the line number in vocab.txt
    assert row.tokens[0] == "running" and any(t.startswith("##") for t in row.tokens)


def test_unigram_is_a_shipped_unigram_model():
    tokenizer = load_tokenizer("unigram")
    assert model_type(tokenizer) == "Unigram" and len(tokenizer) == 4000
    text = "It is a truth universally acknowledged"
    row = tokenize(tokenizer, text, name="unigram")
    # SentencePiece's metaspace: every space becomes "▁" and the text gets one in front, so the pieces spell the text
    # exactly, and exactly one piece per word starts with "▁" (a word split in pieces continues without one).
    assert "".join(row.tokens) == "▁" + text.replace(" ", "▁")
    assert sum(t.startswith("▁") for t in row.tokens) == len(text.split())
    assert len(row.tokens) > len(text.split())  # at least one word is split: the lattice chose pieces, not words
    assert row.round_trip and row.unknown == 0


def test_tiny_tokenizer_is_byte_level_bpe():
    tokenizer = load_tokenizer("tiny")
    assert model_type(tokenizer) == "BPE" and is_byte_level(tokenizer)
    assert tokenize(tokenizer, "Once upon a time").round_trip


@pytest.mark.slow
def test_smollm2_tokenizer_is_byte_level_bpe():
    tokenizer = load_tokenizer("smollm2")
    assert model_type(tokenizer) == "BPE" and is_byte_level(tokenizer) and len(tokenizer) == 49152
    assert tokenize(tokenizer, "Hello, world! 12345").round_trip


def test_unknown_name_and_bad_text_raise():
    with pytest.raises(ValueError, match="gpt2"):
        load_tokenizer("gpt-5")
    with pytest.raises(TypeError, match="text"):
        tokenize(load_tokenizer("gpt2"), 42)


def test_side_by_side_numbers_match_a_recount():
    text = "The unhappiness of Miss Bennet, 東京 😀!"
    rows = compare(text, names=("gpt2", "bert", "unigram"))
    assert [r.name for r in rows] == ["gpt2", "bert", "unigram"]
    assert [r.algorithm for r in rows] == ["BPE", "WordPiece", "Unigram"]
    n_bytes = len(text.encode("utf-8"))
    for row in rows:
        tokenizer = load_tokenizer(row.name)
        assert row.ids == tokenizer(text, add_special_tokens=False)["input_ids"]
        assert row.n_tokens == len(row.ids) == len(row.pieces)
        assert row.bytes_per_token == pytest.approx(n_bytes / len(row.ids))
    gpt2 = rows[0]
    assert b"".join(token_bytes(t) for t in gpt2.tokens) == text.encode("utf-8")
    assert gpt2.unknown == 0 and gpt2.round_trip
    assert rows[1].unknown >= 1 and not rows[1].round_trip  # BERT has no token for the emoji
    assert "␣of" in gpt2.pieces and "␣of" in rows[2].pieces  # Ġ and ▁ both shown as ␣


def test_special_tokens_are_visible():
    bert = special_tokens(load_tokenizer("bert"))
    vocab = bert_vocab()
    assert bert.pad == ("[PAD]", vocab.index("[PAD]")) and bert.unk == ("[UNK]", vocab.index("[UNK]"))
    assert bert.others["[CLS]"] == vocab.index("[CLS]") and bert.others["[SEP]"] == vocab.index("[SEP]")
    gpt2 = special_tokens(load_tokenizer("gpt2"))
    assert gpt2.eos == ("<|endoftext|>", 50256) and gpt2.pad is None
    unigram = special_tokens(load_tokenizer("unigram"))
    assert unigram.bos == ("<s>", 1) and unigram.eos == ("</s>", 2) and unigram.pad == ("<pad>", 3)


@pytest.mark.parametrize("name", ["bert", "gpt2"])
@pytest.mark.parametrize("side", ["right", "left"])
def test_padding_is_marked(name, side):
    tokenizer = load_tokenizer(name)
    texts = ["a much longer sentence than the other", "short"]
    view = encode_with_special_tokens(tokenizer, texts, padding_side=side)
    lengths = [len(tokenizer(t)["input_ids"]) for t in texts]
    assert {len(row) for row in view.ids} == {max(lengths)}
    pad_id = tokenizer.convert_tokens_to_ids(view.pad_token)
    for ids, mask, special, n in zip(view.ids, view.attention_mask, view.is_special, lengths, strict=True):
        assert sum(mask) == n
        assert all(i == pad_id and s for i, m, s in zip(ids, mask, special, strict=True) if m == 0)
        real = [i for i, m in zip(ids, mask, strict=True) if m]
        assert real == tokenizer(texts[view.ids.index(ids)])["input_ids"]
        assert (mask[0] == 0) == (side == "left" and n < max(lengths))
    if name == "bert":
        assert view.tokens[0][0] == "[CLS]" and "[SEP]" in view.tokens[1] and "[PAD]" in view.tokens[1]
    with pytest.raises(ValueError, match="padding_side"):
        encode_with_special_tokens(tokenizer, texts, padding_side="middle")


@pytest.mark.parametrize("text", AWKWARD)
def test_byte_level_round_trip_awkward(text):
    tokenizer = load_tokenizer("gpt2")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids, clean_up_tokenization_spaces=False) == text


@settings(max_examples=200, deadline=None)
@given(unicode_text)
def test_byte_level_round_trip_property(text):
    tokenizer = load_tokenizer("gpt2")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids, clean_up_tokenization_spaces=False) == text


@settings(max_examples=100, deadline=None)
@given(unicode_text)
def test_tiny_round_trip_property(text):
    tokenizer = load_tokenizer("tiny")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids, clean_up_tokenization_spaces=False) == text


SMOLLM2_MISSING: dict[str, set[int]] = {}


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(unicode_text)
def test_smollm2_round_trip_property(text):
    """SmolLM2 lacks 21 single-byte tokens; the text round-trips exactly when it avoids those bytes."""
    tokenizer = load_tokenizer("smollm2")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    missing = SMOLLM2_MISSING.setdefault("bytes", set(missing_bytes(tokenizer)))
    decoded = tokenizer.decode(ids, clean_up_tokenization_spaces=False)
    assert (decoded == text) == (not missing & set(text.encode("utf-8")))


def test_gpt2_has_every_byte():
    assert missing_bytes(load_tokenizer("gpt2")) == []


@pytest.mark.slow
def test_smollm2_drops_bytes_it_has_no_token_for():
    tokenizer = load_tokenizer("smollm2")
    missing = missing_bytes(tokenizer)
    assert 0x04 in missing and len(missing) == 21
    vocab = tokenizer.get_vocab()
    assert all(bytes_to_unicode()[b] not in vocab for b in missing)
    ids = tokenizer("a\x04b", add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == "ab"
