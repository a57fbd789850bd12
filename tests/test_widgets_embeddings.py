"""Tests for the embedding widgets (notebook 02) on the shipped tiny model: the explorer's bars and highlighted
points equal an independent cosine search and projection, the slider only slices, a new word searches once, and a
word that is not one token shows a message in the widget's output area; the checkpoint quotes the measured ranking."""

import pytest
import torch

from llmviz.stages import embeddings
from llmviz.viz.widgets.embeddings import closest_token_checkpoint, neighbour_explorer


@pytest.fixture(scope="module")
def setup(tiny_lm):
    W = tiny_lm.model.get_input_embeddings().weight.detach()  # independent of embeddings.embedding_matrix
    map_ids = torch.arange(300, 700)
    return tiny_lm, W, map_ids


def by_hand(W, token_id, k):
    sims = torch.nn.functional.cosine_similarity(W, W[token_id][None], dim=-1)  # [vocab]
    sims[token_id] = -2.0
    top = torch.topk(sims, k)
    return top.indices, top.values


def test_bars_and_map_equal_an_independent_search(setup):
    lm, W, map_ids = setup
    w = neighbour_explorer(lm, map_ids, word="cat", k=6)
    cat = lm.tokenizer(" cat")["input_ids"][0]
    ids, sims = by_hand(W, cat, 6)
    torch.testing.assert_close(torch.tensor(w.figure.data[3].x), sims, atol=1e-5, rtol=0)
    assert list(w.figure.data[3].y) == [lm.tokenizer.decode([int(i)]).replace(" ", "␣") for i in ids]
    centred = W - W[map_ids].mean(0)
    xy = centred @ w.projection.components.T  # [vocab, 2] on the fitted map
    torch.testing.assert_close(torch.tensor([w.figure.data[1].x, w.figure.data[1].y]).T, xy[ids], atol=1e-4, rtol=0)
    assert w.figure.data[2].text == ("␣cat",) and len(w.figure.data[0].x) == len(map_ids)
    assert w.model_runs == 1 and not w.output.outputs


def test_slider_only_slices(setup):
    lm, W, map_ids = setup
    w = neighbour_explorer(lm, map_ids, word="dog", k=8, max_k=20)
    dog = lm.tokenizer(" dog")["input_ids"][0]
    _, sims = by_hand(W, dog, 20)
    for k in (1, 20, 3):
        w.k.value = k
        torch.testing.assert_close(torch.tensor(w.figure.data[3].x), sims[:k], atol=1e-5, rtol=0)
        assert len(w.figure.data[1].x) == k and f"its {k} nearest" in w.figure.layout.title.text
    assert w.model_runs == 1


def test_new_word_searches_once_and_bad_words_show_a_message(setup):
    lm, W, map_ids = setup
    w = neighbour_explorer(lm, map_ids, word="cat", k=5)
    before = list(w.figure.data[3].x)
    w.word.value = "xylophonezz"  # several tokens: a message, the figure unchanged
    assert "not one token" in w.output.outputs[0]["text"] and "⚠ ValueError" in w.output.outputs[0]["text"]
    assert list(w.figure.data[3].x) == before and w.model_runs == 1
    w.word.value = "happy"
    happy = lm.tokenizer(" happy")["input_ids"][0]
    torch.testing.assert_close(torch.tensor(w.figure.data[3].x), by_hand(W, happy, 5)[1], atol=1e-5, rtol=0)
    assert w.model_runs == 2 and not w.output.outputs  # the old message is cleared
    w.word.value = " "
    assert "empty" in w.output.outputs[0]["text"]


def test_bad_settings_raise(setup):
    lm, _, map_ids = setup
    with pytest.raises(ValueError, match="max_k"):
        neighbour_explorer(lm, map_ids, k=5, max_k=0)
    with pytest.raises(ValueError, match="`k`"):
        neighbour_explorer(lm, map_ids, k=31, max_k=30)


def test_checkpoint_quotes_the_ranking(setup):
    lm, W, _ = setup
    unit = embeddings.unit_rows(W)
    cat = lm.tokenizer(" cat")["input_ids"][0]
    ids, sims = by_hand(W, cat, 3)
    c = closest_token_checkpoint(lm, unit, "cat")
    c.guess.value = lm.tokenizer.decode([int(ids[1])]).strip()  # the second nearest
    text = c.reveal()
    assert f"({float(sims[0]):.2f})" in text and "ranks 2 of 4095" in text and not text.startswith("Right")
    c.guess.value = lm.tokenizer.decode([int(ids[0])]).strip()
    assert c.reveal().startswith("Right.")
    c.guess.value = "xylophonezz"
    assert "no single row" in c.reveal()
    c.guess.value = "cat"
    assert "itself" in c.reveal()
