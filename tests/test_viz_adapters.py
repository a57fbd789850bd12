"""Tests for llmviz.viz.adapters: the adapters carry the library's real records into the builders unchanged.

They run the real beam search, sampler, generation loop, speculative decoding and logit lens on tiny random models
and check each adapter's output against the record it came from and against independent recomputations.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import make_random_lm

from llmviz import viz
from llmviz.decoding.sampling import sample

PROMPT = "Once upon a time"


@pytest.fixture(scope="module")
def lm(gpt2_tokenizer):
    return make_random_lm("gpt2", gpt2_tokenizer, initializer_range=0.3)


def test_beam_nodes_feed_the_tree(lm):
    tree = lm.beam_search(PROMPT, num_beams=3, max_new_tokens=4)
    nodes = viz.beam_nodes(tree, lm)
    assert len(nodes) == len(tree.nodes) + 1 and nodes[0].parent_id is None
    assert nodes[0].token == "".join(lm.to_str_tokens(PROMPT))
    for node, source in zip(nodes[1:], tree.nodes, strict=True):
        assert node.token == lm.to_str_tokens([source.token_id])[0]
        assert node.logprob == pytest.approx(source.cumulative_log_prob) and node.status == source.status
    fig = viz.beam_tree(nodes)
    n_pruned = sum(node.status == "pruned" for node in tree.nodes)
    assert len(fig.data[1].x) == 3 * n_pruned and len(fig.data[0].x) == 3 * (len(tree.nodes) - n_pruned)
    best = tree.best  # its hover shows the prompt and every generated token
    finished = fig.data[4]
    i = [row[3] for row in finished.customdata].index(lm.to_str_tokens([best.token_id])[0])
    assert finished.customdata[i][0].endswith("".join(lm.to_str_tokens(best.tokens)))


def test_candidates_show_the_filter(lm):
    logits = lm.model(lm.to_tokens(PROMPT)).logits[0, -1].detach()  # [vocab]
    record = sample(logits, temperature=0.7, top_k=5, seed=3)
    bars = viz.candidates(record, lm, n=10)
    expected = torch.softmax(logits / 0.7, dim=-1)
    top = torch.argsort(expected, descending=True)[:10]
    assert np.allclose(bars["probs"], expected[top].numpy(), rtol=1e-5)
    assert bars["kept_mask"].tolist() == [True] * 5 + [False] * 5
    assert bars["tokens"] == [lm.to_str_tokens([int(i)])[0] for i in top]
    assert top[bars["highlight"]] == record.token_id
    fig = viz.probability_bars(**bars)
    assert [c == viz.style.GREY for c in fig.data[0].marker.color] == [False] * 5 + [True] * 5
    after = viz.candidates(record, lm, n=10, after_filter=True)
    assert after["probs"][:5].sum() == pytest.approx(1.0, abs=1e-5) and (after["probs"][5:] == 0).all()


def test_speculative_rows_from_rounds_and_from_a_trace(lm, gpt2_tokenizer):
    rounds = [SimpleNamespace(proposed=[1, 2, 3], accepted=[True, False, False], rejected=2, replacement=4, bonus=None),
              SimpleNamespace(proposed=[5, 6], accepted=[True, True], rejected=None, replacement=None, bonus=7)]
    rows = viz.speculative_rows(rounds, str)
    assert rows == [[("1", "accepted"), ("2", "rejected"), ("3", "discarded"), ("4", "replacement")],
                    [("5", "accepted"), ("6", "accepted"), ("7", "bonus")]]

    draft = make_random_lm("gpt2", gpt2_tokenizer, seed=1, n_layer=1, initializer_range=0.3)
    trace = lm.generate(PROMPT, max_new_tokens=10, temperature=0, draft=draft, draft_tokens=3, capture=None)
    rows = viz.speculative_rows(trace, lm)
    emitted = [token for row in rows for token, status in row if status in ("accepted", "replacement", "bonus")]
    assert emitted[:len(trace.tokens)] == lm.to_str_tokens(trace.tokens)  # the grid spells the output
    fig = viz.speculative_steps(rows)
    assert np.asarray(fig.data[0].z).shape[0] == len(rows)


def test_cache_series_match_the_attention_arithmetic(lm):
    kwargs = dict(max_new_tokens=6, temperature=0, capture=None)
    with_cache, without = lm.generate(PROMPT, **kwargs), lm.generate(PROMPT, use_cache=False, **kwargs)
    prompt = lm.to_tokens(PROMPT).shape[1]
    growth = viz.kv_cache_series(with_cache)
    assert growth["cache_len"] == [prompt + i for i in range(len(growth["steps"]))]
    cost = viz.cache_cost_series(with_cache, without)
    per_layer_head = lm.n_layers * lm.n_heads
    # Without a cache step i recomputes all P = prompt + i positions causally: P(P+1)/2 query·key products.
    assert cost["work_without"] == [per_layer_head * (prompt + i) * (prompt + i + 1) // 2 for i in cost["steps"]]
    assert cost["work_with"][1:] == [per_layer_head * (prompt + i) for i in cost["steps"][1:]]  # one query
    fig = viz.cost_with_without_cache(**cost)
    assert list(fig.data[0].y) == cost["work_without"]


def test_lens_grid(lm):
    _, cache = lm.run_with_cache(PROMPT)
    lens = lm.logit_lens(cache, top_k=3)
    grid = viz.lens_grid(lens, lm.to_str_tokens(PROMPT))
    assert np.array_equal(grid["probs"], lens.top_probs[:, :, 0].numpy())
    assert grid["top_tokens"] == [[guesses[0] for guesses in layer] for layer in lens.top_tokens]
    fig = viz.logit_lens_grid(**grid)
    assert list(fig.layout.yaxis.ticktext) == list(lens.labels)


def test_shipped_model_stage_figures_show_the_capture(tiny_lm):
    """On the shipped model: the attention-steps figure shows QKᵀ/√d recomputed by hand, the captured masked scores
    and the captured pattern; the logit lens grid and the next-token bars show the lens and the sampler's numbers."""
    text = "Once upon a time, the little cat"
    logits, cache = tiny_lm.run_with_cache(text)
    tokens = tiny_lm.to_str_tokens(text)
    rotated = tiny_lm.architecture == "llama"  # RoPE models score with the rotated q and k
    q, k = cache["rot_q" if rotated else "q", 0][0, :, 0], cache["rot_k" if rotated else "k", 0][0, :, 0]  # [pos, d]
    scores = q @ k.T / tiny_lm.d_head ** 0.5
    fig = viz.attention_steps(scores, cache["attn_scores", 0][0, 0], cache["pattern", 0][0, 0], tokens)
    mask = np.triu(np.ones((len(tokens), len(tokens)), dtype=bool), 1)
    shown = np.asarray(fig.data[1].z, dtype=float)
    assert np.allclose(shown[~mask], scores.double().numpy()[~mask], atol=1e-4) and np.isnan(shown[mask]).all()
    assert np.allclose(np.nansum(np.asarray(fig.data[2].z, dtype=float), axis=1), 1.0, atol=1e-5)
    lens = tiny_lm.logit_lens(cache)
    grid = viz.logit_lens_grid(**viz.lens_grid(lens, tokens))
    assert np.allclose(np.asarray(grid.data[0].z)[-1], torch.softmax(logits[0].float(), -1).max(-1).values.numpy(),
                       atol=1e-5)  # the last row of the lens is the model's own top probability
    bars = viz.candidates(sample(logits[0, -1], temperature=1.0, top_p=0.9, seed=0), tiny_lm, n=12)
    assert viz.probability_bars(**bars).data[0].y[0] == pytest.approx(float(torch.softmax(logits[0, -1], -1).max()))
