"""The widgets of notebook 01 (merge explorer, BPE trainer), driven as the notebook drives them."""

from collections import Counter
from itertools import pairwise

import pytest

from llmviz.tokenization.bpe import replay
from llmviz.tokenization.bpe_train import train_with_library
from llmviz.tokenization.bytelevel import token_bytes
from llmviz.tokenization.tokenizers import load_tokenizer
from llmviz.viz.style import ORANGE, token_labels
from llmviz.viz.widgets.tokenization import bpe_trainer, merge_explorer, merge_timeline

TEXT = "The cat sat on the unbelievable mat 🐱"


@pytest.mark.parametrize("name", ["tiny", "gpt2"])
def test_timeline_ends_at_the_tokenizers_own_ids_and_never_loses_a_byte(name):
    tok = load_tokenizer(name)
    states = merge_timeline(replay(tok, TEXT))
    assert tok.convert_tokens_to_ids(states[-1].pieces) == tok(TEXT, add_special_tokens=False)["input_ids"]
    assert states[0].merge is None and len(states[0].pieces) == len(TEXT.encode("utf-8"))
    ranks = [s.merge.rank for s in states[1:]]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)  # learned order, each rule once
    for before, after in zip(states, states[1:], strict=False):
        assert b"".join(token_bytes(p) for p in after.pieces) == TEXT.encode("utf-8")
        assert len(before.pieces) - len(after.pieces) == after.occurrences == sum(after.new) > 0
        a, b = after.merge.pair
        merged = [x + y for x, y in pairwise(before.pieces) if (x, y) == (a, b)]
        assert merged and set(merged) == {after.merge.merged}
        assert all(end - start == len(token_bytes(p)) for p, (start, end) in zip(after.pieces, after.spans,
                                                                                 strict=True))


def test_slider_only_indexes_the_precomputed_steps():
    w = merge_explorer(" unbelievable")
    assert w.replays == 1 and w.step.value == 0
    titles = set()
    for k in range(w.step.max + 1):
        w.step.value = k
        state = w.states[k]
        bars = w.figure.data[1]
        assert list(bars.text) == [f"<b>{label}</b>" for label in token_labels(state.pieces, byte_level=True)]
        assert list(bars.base) == [s for s, _ in state.spans] and sum(bars.x) == len(" unbelievable")
        assert list(bars.marker.color).count(ORANGE) == state.occurrences
        titles.add(w.figure.layout.title.text)
    assert len(titles) == w.step.max + 1 and w.replays == 1
    final = load_tokenizer("tiny")(" unbelievable", add_special_tokens=False)["input_ids"]
    assert [int(t.split("<br>")[1]) for t in w.figure.data[2].text] == final
    assert "the tokenizer's own tokens" in w.figure.layout.title.text


def test_new_text_and_tokenizer_retokenize_once():
    w = merge_explorer("cat")
    w.text.value, w.tokenizer.value = " unbelievable 🐱", "gpt2"
    w.run.click()
    assert w.replays == 2 and w.output.outputs == ()
    ids = load_tokenizer("gpt2")(" unbelievable 🐱", add_special_tokens=False)["input_ids"]
    assert [int(t.split("<br>")[1]) for t in w.figure.data[2].text] == ids
    assert len(w.figure.data[0].text) == len(" unbelievable 🐱".encode())
    w.step.value = w.step.max
    assert list(w.figure.data[1].text) == [t.split("<br>")[0] for t in w.figure.data[2].text]


def test_explorer_errors_appear_in_its_output_area():
    w = merge_explorer("cat", max_bytes=10)
    for text, message in [("", "The text is empty"), ("a" * 11, "at most 10")]:
        w.text.value = text
        w.run.click()
        assert message in w.output.outputs[0]["text"] and w.replays == 1
    w.text.value = "dog"
    w.run.click()
    assert w.output.outputs == () and w.replays == 2
    with pytest.raises(ValueError, match="tokenizer"):
        merge_explorer("cat", tokenizer="bert")
    with pytest.raises(ValueError, match="max_bytes"):
        merge_explorer("cat", max_bytes=0)


PARAGRAPH = "the cat sat on the mat. the cat ate the rat. a fat cat and a fat rat."


def test_trainer_bars_are_the_library_trainers_merges():
    w = bpe_trainer(PARAGRAPH, merges=12)
    merges, _ = train_with_library(PARAGRAPH, vocab_size=256 + 12)
    assert list(w.figure.data[0].text) == token_labels([a + b for a, b in merges], byte_level=True)
    # The first bar is the most frequent adjacent pair, counted independently over the pre-tokenized words.
    from tokenizers.pre_tokenizers import ByteLevel
    words = Counter(p for p, _ in ByteLevel(add_prefix_space=False).pre_tokenize_str(PARAGRAPH))
    pairs = Counter()
    for word, n in words.items():
        for pair in pairwise(word):
            pairs[pair] += n
    assert w.figure.data[0].y[0] == max(pairs.values()) and w.trainings == 1
    assert "␣cat" in w.summary.value


def test_trainer_shows_an_empty_paragraph_as_a_message():
    w = bpe_trainer(PARAGRAPH)
    before = w.figure.data[0].y
    w.text.value = "   "
    w.train.click()
    assert "type a paragraph" in w.output.outputs[0]["text"] and w.trainings == 1
    assert w.figure.data[0].y == before
    w.text.value, w.merges.value = PARAGRAPH, 3
    w.train.click()
    assert w.output.outputs == () and len(w.figure.data[0].y) == 3 and w.trainings == 2


def test_token_comparison_wraps_long_rows_without_losing_a_token():
    """The builder's per_row option (added for notebook 01, so five tokenizers fit a notebook's width)."""
    import numpy as np

    from llmviz import viz
    tok = load_tokenizer("tiny")
    ids = tok(TEXT, add_special_tokens=False)["input_ids"]
    rows = {"tiny": (tok.convert_ids_to_tokens(ids), ids), "one": (["x"], [7])}
    fig = viz.token_comparison(rows, per_row=5)
    n_lines = -(-len(ids) // 5)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (n_lines + 1, 5) and (~np.isnan(z)).sum() == len(ids) + 1
    custom = fig.data[0].customdata
    cells = [custom[line][c] for line in range(n_lines) for c in range(5) if custom[line][c][0] == "tiny"]
    assert [int(c[1]) for c in cells] == list(range(len(ids))) and [int(c[3]) for c in cells] == ids
    assert list(fig.layout.yaxis.ticktext) == [f"tiny ({len(ids)})"] + ["↳ continued"] * (n_lines - 1) + ["one (1)"]
    with pytest.raises(ValueError, match="per_row"):
        viz.token_comparison(rows, per_row=0)
