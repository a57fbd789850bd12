"""Streaming detokenization: partial UTF-8 bytes are held, never shown broken; special tokens add no text."""

from llmviz.lm import LM
from llmviz.tokenization.detokenize import Utf8Stream, token_text_bytes


def test_utf8_stream_holds_partial_bytes():
    stream = Utf8Stream()
    data = "a🙂".encode()
    assert stream.feed(data[:2]) == "a" and stream.pending == data[1:2]
    assert stream.feed(data[2:4]) == "" and stream.pending == data[1:4]
    assert stream.feed(data[4:]) == "🙂" and stream.pending == b""
    stream.feed(b"\xe4")
    assert stream.finish() == "\ufffd"  # an unfinished character at the very end, as HF's decode shows it
    assert stream.text == "a🙂\ufffd"


def test_token_by_token_equals_decoding_the_whole(gpt2_tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel
    lm = LM(GPT2LMHeadModel(GPT2Config(vocab_size=len(gpt2_tokenizer), n_embd=8, n_layer=1, n_head=1)),
            gpt2_tokenizer)
    text = "Tea 🍵 and 日本語, naïve café 😀!"
    ids = gpt2_tokenizer(text)["input_ids"]
    stream, pieces = Utf8Stream(), []
    for token in ids:
        pieces.append(stream.feed(token_text_bytes(lm, token)))
    assert all("\ufffd" not in piece for piece in pieces) and "".join(pieces) == text
    assert sum(piece == "" for piece in pieces) > 0  # some tokens were only part of a character
    assert token_text_bytes(lm, gpt2_tokenizer.eos_token_id) == b""
