"""The streaming-detokenization explorer of notebook 11, driven as the notebook drives it, on the shipped tiny model."""

import pytest

from llmviz.viz.widgets.detokenization import CODES, stream_explorer

TEXT = "cat 🐱 猫"


@pytest.fixture()
def explorer(tiny_lm):
    return stream_explorer(tiny_lm, TEXT)


def test_every_step_shows_exactly_the_complete_characters_received(tiny_lm, explorer):
    data = TEXT.encode("utf-8")
    ids = tiny_lm.tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    assert explorer.ids == ids and b"".join(s.data for s in explorer.steps) == data
    for k in range(len(ids) + 1):
        explorer.step.value = k
        received = b"".join(tiny_lm.token_bytes(i) for i in ids[:k])  # independent: the tokens' own bytes
        assert explorer.received == received
        # The stream shows the longest prefix that is whole UTF-8 characters; the rest (at most 3 bytes) waits.
        whole = max(n for n in range(len(received) + 1) if _decodes(received[:n]))
        assert explorer.emitted == received[:whole].decode("utf-8") and explorer.held == received[whole:]
        title = explorer.figure.layout.title.text
        assert f"bytes received: {len(received)} " in title and f"bytes held back: {len(received) - whole}<" in title
        z = explorer.figure.data[0].z
        assert [z[0][i] != CODES["future"] for i in range(len(ids))] == [i < k for i in range(len(ids))]
    assert explorer.emitted == TEXT and explorer.tokenize_runs == 1


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_naive_decode_of_an_emoji_byte_is_the_replacement_character(tiny_lm, explorer):
    explorer.step.value = explorer.step.max
    cat = [s for s in explorer.steps if s.data and s.data[0] == 0xF0][0]  # the first byte of 🐱 (F0 9F 90 B1)
    assert cat.naive == "\ufffd" and cat.emitted == "" and cat.held == b"\xf0"
    assert explorer.figure.data[0].z[1][cat.position] == CODES["broken"]
    assert explorer.figure.data[0].z[3][cat.position] == CODES["held"]


def test_special_tokens_add_no_text(tiny_lm):
    w = stream_explorer(tiny_lm, "Hi<|endoftext|>")
    w.step.value = w.step.max
    assert w.ids[-1] in tiny_lm.tokenizer.all_special_ids and w.emitted == "Hi"
    assert w.steps[-1].naive == "<|endoftext|>"  # a plain decode prints the marker; the stream does not


def test_new_text_retokenizes_and_errors_show_in_the_output(tiny_lm, explorer):
    explorer.text.value = ""
    explorer.run.click()
    assert "ValueError" in explorer.output.outputs[0]["text"] and explorer.tokenize_runs == 1
    explorer.text.value = "héllo"
    explorer.run.click()
    assert explorer.output.outputs == () and explorer.tokenize_runs == 2
    explorer.step.value = explorer.step.max
    assert explorer.emitted == "héllo" and len(explorer.figure.data[0].z[0]) == len(explorer.steps)
    explorer.text.value = "word " * 40
    explorer.run.click()
    assert "at most 24" in explorer.output.outputs[0]["text"]


def test_bad_max_tokens_is_refused(tiny_lm):
    with pytest.raises(ValueError, match="max_tokens"):
        stream_explorer(tiny_lm, "cat", max_tokens=0)
