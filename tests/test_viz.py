"""Tests for llmviz.viz: every builder draws exactly the numbers it is given, marks masks and statuses where they
belong, labels its axes, hovers the value, shows tokens readably, uses the declared colour-blind-safe scales and
leaves its inputs untouched. Expected values come from the inputs or from independent recomputations (torch's
softmax and layer_norm, Python's UTF-8 decoder, GPT-2's tokenizer), never from the builders themselves.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import plotly.colors as pc
import plotly.graph_objects as go
import pytest
import torch

from llmviz import viz
from llmviz.tokenization.bytelevel import readable
from llmviz.viz import style

BYTE_TOKENS = ["The", "Ġcat", "Ġsat", "Ġon", "Ġthe", "Ġmat", "Ċ", "Ġthe"]  # raw byte-level pieces, "Ġthe" twice
READABLE = ["The", "␣cat", "␣sat", "␣on", "␣the", "␣mat", "↵", "␣the"]
N = len(BYTE_TOKENS)
VIRIDIS = pc.get_colorscale("Viridis")


def stepped_colors(colorscale, fractions) -> list[str]:
    """The colour a stepped scale gives at each fraction: the segment containing it must be one flat colour."""
    stops = [(float(f), c) for f, c in colorscale]
    out = []
    for x in fractions:
        pairs = zip(stops[:-1], stops[1:], strict=True)
        (_, c0), (_, c1) = next((a, b) for a, b in pairs if a[0] <= x <= b[0] and a[0] < b[0])
        assert c0 == c1, f"fraction {x} falls between two colours {c0} and {c1}"
        out.append(c0)
    return out


def assert_same_scale(actual, expected):
    actual, expected = [(float(f), c) for f, c in actual], [(float(f), c) for f, c in expected]
    assert [c for _, c in actual] == [c for _, c in expected]
    assert np.allclose([f for f, _ in actual], [f for f, _ in expected])


def causal(n_query: int, n_key: int) -> np.ndarray:
    """Independent causal mask: query i (absolute position n_key - n_query + i) may not see later keys."""
    return np.array([[k > n_key - n_query + q for k in range(n_key)] for q in range(n_query)])


def attention_inputs(n_query: int = N, n_key: int = N, seed: int = 0):
    """Scores QKᵀ/√d, masked scores and the softmax pattern, computed with torch, [n_query, n_key]."""
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(n_query, 8, generator=g), torch.randn(n_key, 8, generator=g)
    scores = q @ k.T / math.sqrt(8)
    masked = scores.masked_fill(torch.from_numpy(causal(n_query, n_key)), float("-inf"))
    return scores, masked, torch.softmax(masked, dim=-1)


def figure_text(fig: go.Figure) -> str:
    """The figure's JSON as the browser receives it, with unicode escapes decoded."""
    return json.dumps(json.loads(fig.to_json()), ensure_ascii=False)


def assert_readable(fig: go.Figure):
    text = figure_text(fig)
    assert "Ġ" not in text and "Ċ" not in text
    assert "␣cat" in text


def assert_axis_titles(fig: go.Figure, *axes: str):
    for axis in axes or ("xaxis", "yaxis"):
        assert fig.layout[axis].title.text, f"{axis} has no title"


# ---- style --------------------------------------------------------------------------------------------------
def test_readable_token_matches_gpt2_text(gpt2_tokenizer):
    text = "The café's cat\tsat  on\nthe mat 🙂"
    pieces = gpt2_tokenizer.tokenize(text)
    assert any("Ġ" in p for p in pieces)
    # Pieces concatenate back to the text, with whitespace made visible; the emoji's pieces are partial bytes.
    shown = "".join(viz.readable_token(p) for p in pieces if "ð" not in p and "Ł" not in p)
    assert shown.startswith(readable("The café's cat\tsat  on\nthe mat"))
    assert viz.readable_token(b" cat") == viz.readable_token("Ġcat") == viz.readable_token("▁cat") == "␣cat"
    assert viz.readable_token("ðŁ") == "<F0><9F>"  # the first half of an emoji, as hex
    assert viz.readable_token("##ing") == "##ing" and viz.readable_token("<|endoftext|>") == "<|endoftext|>"
    assert viz.readable_token("Ã©", byte_level=True) == "é"


def test_unique_labels_and_escaping():
    labels = ["the", "cat", "the", "<b>"]
    unique = viz.unique_labels(labels)
    assert unique == ["the·0", "cat", "the·2", "<b>"] and len(set(unique)) == len(unique)
    assert style.plot_text("<b>&") == "&lt;b&gt;&amp;"
    with pytest.raises(TypeError, match="tokens"):
        viz.readable_tokens("The cat")


def test_categorical_colorscale_gives_each_code_its_colour():
    colors = ["#0072B2", "#E69F00", "#009E73"]
    assert stepped_colors(style.categorical_colorscale(colors), [(i + 0.5) / 3 for i in range(3)]) == colors


def test_palette_is_okabe_ito_and_diverging_is_symmetric_rdbu():
    assert set(style.OKABE_ITO) == {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
                                    "#000000"}
    fractions = [f for f, _ in style.DIVERGING]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1
    assert dict(style.DIVERGING)[0.5].lower() == "#f7f7f7"  # white exactly at the middle, i.e. at zmid=0


# ---- attention ----------------------------------------------------------------------------------------------
def test_attention_heatmap_values_mask_and_hover():
    _, _, pattern = attention_inputs()
    before = pattern.clone()
    fig = viz.attention_heatmap(pattern, BYTE_TOKENS)
    assert torch.equal(pattern, before)
    z, mask = np.asarray(fig.data[0].z, dtype=float), np.asarray(fig.data[1].z, dtype=float)
    expected_mask = causal(N, N)
    assert np.array_equal(np.isnan(z), expected_mask)  # masked exactly above the diagonal, never 0
    assert np.array_equal(z[~expected_mask], pattern.double().numpy()[~expected_mask])
    assert np.array_equal(~np.isnan(mask), expected_mask)
    assert_same_scale(fig.data[0].colorscale, VIRIDIS)
    assert "%{z" in fig.data[0].hovertemplate and "masked" in fig.data[1].hovertemplate
    assert list(fig.data[0].customdata[3, 1]) == ["query 3: ␣on", "key 1: ␣cat"]  # the hover names both tokens
    assert_axis_titles(fig)
    assert_readable(fig)


def test_attention_heatmap_kv_cache_step_has_fewer_queries():
    _, _, pattern = attention_inputs(n_query=2, n_key=N)
    fig = viz.attention_heatmap(pattern.numpy(), READABLE)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (2, N) and list(fig.data[0].y) == [N - 2, N - 1]
    assert np.array_equal(np.isnan(z), causal(2, N))  # the last query sees everything, the one before all but 1


def test_attention_heads_one_trace_per_head():
    patterns = torch.stack([attention_inputs(seed=s)[2] for s in range(6)])  # [head, q, k]
    array = patterns.numpy().copy()
    fig = viz.attention_heads(array, BYTE_TOKENS, columns=4)
    assert np.array_equal(array, patterns.numpy())
    assert len(fig.data) == 6
    for h, trace in enumerate(fig.data):
        z = np.asarray(trace.z, dtype=float)
        assert np.array_equal(np.isnan(z), causal(N, N))
        assert np.array_equal(z[~causal(N, N)], array[h][~causal(N, N)])
        assert trace.coloraxis == "coloraxis" and "%{z" in trace.hovertemplate
    assert_same_scale(fig.layout.coloraxis.colorscale, VIRIDIS)
    assert [a.text for a in fig.layout.annotations] == [f"head {h}" for h in range(6)]
    assert fig.layout.xaxis5.title.text == "key" and fig.layout.yaxis.title.text == "query"
    assert_readable(fig)


def test_attention_steps_shows_scores_mask_and_softmax():
    scores, masked, pattern = attention_inputs()
    inputs = [t.clone() for t in (scores, masked, pattern)]
    fig = viz.attention_steps(scores, masked, pattern, BYTE_TOKENS)
    assert all(torch.equal(a, b) for a, b in zip(inputs, (scores, masked, pattern), strict=True))
    m = causal(N, N)
    raw, after, weights = (np.asarray(fig.data[i].z, dtype=float) for i in range(3))
    assert np.array_equal(raw, scores.double().numpy())  # panel 1 shows every score, before the mask
    assert np.array_equal(np.isnan(after), m) and np.array_equal(after[~m], scores.double().numpy()[~m])
    assert np.allclose(np.nansum(weights, axis=1), 1.0)  # rows of the softmax panel sum to 1
    assert all(np.array_equal(~np.isnan(np.asarray(fig.data[i].z, dtype=float)), m) for i in (3, 4))
    assert_same_scale(fig.layout.coloraxis.colorscale, style.DIVERGING)
    assert fig.layout.coloraxis.cmid == 0
    assert_same_scale(fig.layout.coloraxis2.colorscale, VIRIDIS)
    assert_readable(fig)


def test_attention_steps_treats_hf_fill_value_as_masked():
    scores, masked, pattern = attention_inputs()
    hf_masked = scores.masked_fill(torch.from_numpy(causal(N, N)), torch.finfo(torch.float32).min)
    fig = viz.attention_steps(scores, hf_masked, pattern, READABLE)
    assert np.array_equal(np.isnan(np.asarray(fig.data[1].z, dtype=float)), causal(N, N))


def test_signed_heatmap_for_alibi_biases():
    slope = 0.5
    bias = -slope * np.maximum(0, np.arange(N)[:, None] - np.arange(N)[None, :])  # ALiBi: -m * distance
    fig = viz.attention_heatmap(bias, BYTE_TOKENS, value_name="bias", signed=True)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.array_equal(z[~causal(N, N)], bias[~causal(N, N)]) and np.isnan(z[causal(N, N)]).all()
    assert_same_scale(fig.data[0].colorscale, style.DIVERGING)
    assert fig.data[0].zmid == 0 and fig.data[0].zmin is None
    assert fig.data[1].colorscale[0][1] == style.MASKED_SIGNED  # masked grey is not the scale's white zero


def test_attention_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="pattern"):
        viz.attention_heatmap(np.ones((2, 3, 3)), ["a", "b", "c"])
    with pytest.raises(ValueError, match="tokens"):
        viz.attention_heatmap(np.eye(3), ["a", "b"])


# ---- vectors ------------------------------------------------------------------------------------------------
def test_vector_heatmap_and_neurons():
    matrix = torch.randn(N, 16, generator=torch.Generator().manual_seed(1))
    before = matrix.clone()
    fig = viz.vector_heatmap(matrix, BYTE_TOKENS, title="Embeddings")
    assert torch.equal(matrix, before)
    assert np.array_equal(np.asarray(fig.data[0].z), matrix.double().numpy())
    assert_same_scale(fig.data[0].colorscale, style.DIVERGING)
    assert fig.data[0].zmid == 0
    assert_axis_titles(fig)
    assert_readable(fig)

    acts = matrix.numpy()
    peaks = [max(acts[:, j]) for j in range(16)]
    top = sorted(range(16), key=lambda j: -peaks[j])[:5]  # independent top-5 by peak activation
    fig = viz.neuron_activations(acts, BYTE_TOKENS, top_neurons=5)
    assert list(fig.data[0].x) == top
    assert np.array_equal(np.asarray(fig.data[0].z), acts[:, top].astype(float))
    fig = viz.neuron_activations(acts, READABLE, top_neurons=[3, 0])
    assert np.array_equal(np.asarray(fig.data[0].z), acts[:, [3, 0]].astype(float))
    assert "%{z" in fig.data[0].hovertemplate
    with pytest.raises(ValueError, match="top_neurons"):
        viz.neuron_activations(acts, READABLE, top_neurons=[16])


def test_vector_panels_share_one_symmetric_scale():
    g = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(N, 8, generator=g) * s for s in (1.0, 2.0, 0.5))
    fig = viz.vector_panels({"q": q, "k": k, "v": v}, BYTE_TOKENS, title="One head")
    for trace, m in zip(fig.data, (q, k, v), strict=True):
        assert np.array_equal(np.asarray(trace.z), m.double().numpy()) and trace.coloraxis == "coloraxis"
    limit = float(max(q.abs().max(), k.abs().max(), v.abs().max()))
    assert fig.layout.coloraxis.cmin == pytest.approx(-limit) and fig.layout.coloraxis.cmax == pytest.approx(limit)
    assert_same_scale(fig.layout.coloraxis.colorscale, style.DIVERGING)
    assert [a.text for a in fig.layout.annotations] == ["q", "k", "v"]
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert_readable(fig)
    with pytest.raises(ValueError, match="same number of rows"):
        viz.vector_panels({"a": np.ones((2, 3)), "b": np.ones((3, 3))}, ["x", "y"])


def test_embedding_map_and_similarity():
    points = np.random.default_rng(0).normal(size=(20, 2))
    labels = [f"Ġw{i}" for i in range(20)]
    saved = points.copy()
    fig = viz.embedding_map(points, labels, highlight=[3, "Ġw7"])
    assert np.array_equal(points, saved)
    assert np.array_equal(fig.data[0].x, points[:, 0]) and np.array_equal(fig.data[0].y, points[:, 1])
    assert np.array_equal(fig.data[1].x, points[[3, 7], 0]) and list(fig.data[1].text) == ["␣w3", "␣w7"]
    assert "Ġ" not in figure_text(fig) and "%{x" in fig.data[0].hovertemplate
    assert_axis_titles(fig)

    v = torch.nn.functional.normalize(torch.randn(N, 4, generator=torch.Generator().manual_seed(2)), dim=-1)
    sim = v @ v.T
    fig = viz.similarity_matrix(sim, BYTE_TOKENS)
    assert np.array_equal(np.asarray(fig.data[0].z), sim.double().numpy())
    assert (fig.data[0].zmin, fig.data[0].zmax, fig.data[0].zmid) == (-1, 1, 0)
    assert_readable(fig)


def test_positional_figures():
    pos, i = np.arange(12)[:, None], np.arange(8)[None, :]
    encoding = np.where(i % 2 == 0, np.sin(pos / 10000 ** (i / 8)), np.cos(pos / 10000 ** ((i - 1) / 8)))
    fig = viz.positional_heatmap(encoding)
    assert np.array_equal(np.asarray(fig.data[0].z), encoding) and fig.data[0].zmid == 0
    assert "customdata" not in fig.to_plotly_json()["data"][0]  # numeric axes hover %{x}, %{y}: no per-cell text
    assert fig.data[0].hovertemplate.startswith("position %{y}<br>dimension %{x}")
    big = np.random.default_rng(0).normal(size=(400, 300))
    z = np.asarray(viz.positional_heatmap(big).data[0].z)
    assert z.dtype == np.float32 and np.array_equal(z, big.astype(np.float32))  # a large grid is sent as float32
    unit = encoding / np.linalg.norm(encoding, axis=1, keepdims=True)
    fig = viz.position_similarity(unit @ unit.T)
    assert np.allclose(np.diag(np.asarray(fig.data[0].z)), 1.0)
    assert_axis_titles(fig)
    with pytest.raises(ValueError, match="square"):
        viz.position_similarity(np.ones((3, 4)))


# ---- depth --------------------------------------------------------------------------------------------------
def test_line_by_layer_and_layer_norm_stats():
    norms = {"resid_pre": [1.0, 2.5, 4.0], "resid_post": [2.5, 4.0, 7.5]}
    fig = viz.line_by_layer(norms, yaxis_title="norm", layer_labels=["embed", "block 0", "block 1"])
    assert [list(t.y) for t in fig.data] == list(norms.values())
    assert [t.name for t in fig.data] == list(norms)
    assert "%{y" in fig.data[0].hovertemplate
    assert_axis_titles(fig)
    assert list(viz.line_by_layer([3.0, 1.0]).data[0].y) == [3.0, 1.0]
    with pytest.raises(ValueError, match="same number of layers"):
        viz.line_by_layer({"a": [1, 2], "b": [1]})

    x = torch.randn(N, 32, generator=torch.Generator().manual_seed(3)) * 5 + 2
    y = torch.nn.functional.layer_norm(x, (32,))
    stats = [x.mean(-1), x.var(-1, unbiased=False), y.mean(-1), y.var(-1, unbiased=False)]
    fig = viz.layer_norm_stats(*stats, BYTE_TOKENS)
    for trace, expected in zip(fig.data, [stats[0], stats[2], stats[1], stats[3]], strict=True):
        assert np.array_equal(np.asarray(trace.y), expected.double().numpy())
    assert np.allclose(np.asarray(fig.data[3].y), 1.0, atol=1e-3)  # LayerNorm makes each token's variance 1
    assert fig.layout.yaxis2.type == "log" and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert_readable(fig)


def test_logit_lens_grid():
    probs = np.random.default_rng(1).uniform(size=(3, N))
    top = [[BYTE_TOKENS[(layer + p) % N] for p in range(N)] for layer in range(3)]
    fig = viz.logit_lens_grid(top, probs, BYTE_TOKENS)
    assert np.array_equal(np.asarray(fig.data[0].z), probs)
    assert [list(row) for row in fig.data[0].text] == [[READABLE[(layer + p) % N] for p in range(N)]
                                                       for layer in range(3)]
    assert "%{z" in fig.data[0].hovertemplate and "%{text}" in fig.data[0].hovertemplate
    assert_same_scale(fig.data[0].colorscale, VIRIDIS)
    assert_axis_titles(fig)
    assert_readable(fig)


# ---- decoding -----------------------------------------------------------------------------------------------
def test_probability_bars_grey_exactly_the_filtered_tokens():
    probs = torch.softmax(torch.tensor([3.0, 2.0, 1.5, 0.5, 0.0, -1.0]), dim=-1)
    kept = torch.cumsum(probs, 0) - probs < 0.9  # top-p 0.9: keep until the mass before a token reaches 0.9
    tokens = ["Ġcat", "Ġdog", "Ġmat", "Ġthe", "Ċ", "Ġcat"]
    fig = viz.probability_bars(tokens, probs, kept_mask=kept, highlight=1)
    assert np.array_equal(np.asarray(fig.data[0].y), probs.double().numpy())
    colors = list(fig.data[0].marker.color)
    assert [c == style.GREY for c in colors] == (~kept).tolist()
    assert colors[1] == style.ORANGE and colors[0] == style.BLUE
    assert [shape == "/" for shape in fig.data[0].marker.pattern.shape] == (~kept).tolist()  # hatched, not just grey
    assert "%{y" in fig.data[0].hovertemplate and list(fig.data[0].x) == list(range(6))  # "␣cat" twice, not merged
    assert_axis_titles(fig)
    assert_readable(fig)
    with pytest.raises(ValueError, match="kept_mask"):
        viz.probability_bars(tokens, probs, kept_mask=[True])


def test_probability_comparison_under_temperatures():
    logits = torch.tensor([2.0, 1.0, 0.5, -1.0])
    series = {f"T = {t}": torch.softmax(logits / t, dim=-1) for t in (0.5, 1.0, 2.0)}
    fig = viz.probability_comparison(["Ġa", "Ġb", "Ġc", "Ġa"], series)
    assert [t.name for t in fig.data] == list(series)
    for trace, probs in zip(fig.data, series.values(), strict=True):
        assert np.array_equal(np.asarray(trace.y), probs.double().numpy()) and "%{y" in trace.hovertemplate
    assert fig.data[0].y[0] > fig.data[2].y[0]  # a low temperature sharpens the top token
    assert fig.layout.barmode == "group"
    assert_axis_titles(fig)
    assert "Ġ" not in figure_text(fig)


def test_activation_curves_with_samples():
    x = torch.linspace(-4, 4, 81)
    curves = {"GELU": torch.nn.functional.gelu(x), "ReLU": torch.relu(x)}
    pre = torch.randn(2, 8, 50, generator=torch.Generator().manual_seed(4))  # [batch, pos, d_mlp]
    fig = viz.activation_curves(x, curves, samples=(pre, torch.nn.functional.gelu(pre)), max_samples=300)
    assert np.array_equal(np.asarray(fig.data[1].y), curves["GELU"].double().numpy())
    samples = fig.data[0]
    assert 0 < len(samples.x) <= 300
    assert np.allclose(np.asarray(samples.y), torch.nn.functional.gelu(torch.as_tensor(samples.x)).numpy(),
                       atol=1e-6)  # every scattered pair lies on the GELU curve
    assert_axis_titles(fig)
    assert len(viz.activation_curves(x, curves).data[0].x) == 0  # no samples: an empty first trace, same order


def test_kv_cache_and_cost_figures():
    steps = np.arange(1, 11)
    cache_len = steps + 4
    cache_bytes = cache_len * 2 * 2 * 4 * 8 * 4  # k and v, 2 layers, 4 heads, d_head 8, float32
    fig = viz.kv_cache_growth(steps, cache_len, cache_bytes, bytes_unit="KiB")
    assert np.array_equal(fig.data[0].y, cache_len) and np.allclose(fig.data[1].y, cache_bytes / 1024)
    assert np.array_equal(fig.data[1].customdata, cache_bytes)
    assert fig.layout.yaxis.title.text and fig.layout.yaxis2.title.text and fig.layout.xaxis.title.text
    fig = viz.cost_with_without_cache(steps, np.ones(10), cache_len)
    assert np.array_equal(fig.data[0].y, cache_len) and np.array_equal(fig.data[1].y, np.ones(10))
    assert np.array_equal(fig.data[0].customdata, cache_len)  # ratio without / with
    assert_axis_titles(fig)


def test_speculative_steps_colours_each_status():
    rows = [[("Ġcat", "accepted"), ("Ġsat", "rejected"), ("Ġon", "discarded"), ("Ġmat", "replacement")],
            [("Ġthe", "accepted"), ("Ċ", "bonus")]]
    fig = viz.speculative_steps(rows)
    z = np.asarray(fig.data[0].z, dtype=float)
    statuses = viz.decoding.SPECULATIVE_STATUSES
    assert [statuses[int(c)] for c in z[0]] == ["accepted", "rejected", "discarded", "replacement"]
    assert [statuses[int(c)] for c in z[1, :2]] == ["accepted", "bonus"] and np.isnan(z[1, 2:]).all()
    assert [list(r) for r in fig.data[0].text] == [["␣cat", "<s>␣sat</s>", "<i>␣on</i>", "<b>␣mat</b>"],
                                                   ["␣the", "<b>↵</b>", "", ""]]
    # Each code's colour is its status colour, read back through the stepped colour scale.
    sampled = stepped_colors(fig.data[0].colorscale, [(i + 0.5) / len(statuses) for i in range(len(statuses))])
    assert sampled == [style.STATUS_COLORS[s] for s in statuses]
    assert_axis_titles(fig)
    with pytest.raises(ValueError, match="status"):
        viz.speculative_steps([[("a", "maybe")]])


def beam_nodes():
    # root -> a, b (pruned); a -> c (finished), d (pruned), e; e -> f (finished)
    return [dict(id=0, parent_id=None, token="The", logprob=0.0, status="kept"),
            dict(id=1, parent_id=0, token="Ġcat", logprob=-0.5, status="kept"),
            dict(id=2, parent_id=0, token="Ġdog", logprob=-2.0, status="pruned"),
            dict(id=3, parent_id=1, token="Ġsat", logprob=-1.0, status="finished"),
            dict(id=4, parent_id=1, token="Ċ", logprob=-3.0, status="pruned"),
            viz.BeamNode(5, 1, "Ġran", -1.5, "kept"),
            viz.BeamNode(6, 5, "Ġoff", -2.5, "finished")]


def test_beam_tree_edges_and_greying():
    nodes = beam_nodes()
    saved = copy.deepcopy(nodes)
    fig = viz.beam_tree(nodes)
    assert nodes == saved
    x, y = viz.tree.tree_layout([viz.tree._as_node(n, i) for i, n in enumerate(nodes)])
    parent = {0: None, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1, 6: 5}

    def segments(trace):
        xs, ys = list(trace.x), list(trace.y)
        return [((xs[i], ys[i]), (xs[i + 1], ys[i + 1])) for i in range(0, len(xs), 3)]

    kept, pruned = segments(fig.data[0]), segments(fig.data[1])
    assert len(kept) + len(pruned) == len(nodes) - 1  # one edge per non-root node
    assert pruned == [((x[parent[i]], y[parent[i]]), (x[i], y[i])) for i in (2, 4)]  # exactly the pruned ones
    assert fig.data[1].line.color == style.GREY and fig.data[0].line.color != style.GREY
    assert [list(t.text) for t in fig.data[2:]] == [["The", "␣cat", "␣ran"], ["␣dog", "↵"], ["␣sat", "␣off"]]
    assert fig.data[3].marker.color == style.GREY
    assert fig.data[4].customdata[1][0] == "The␣cat␣ran␣off"  # the whole sequence in the hover
    # Layout: depth on x, leaves on consecutive rows, a parent at the mean row of its children.
    assert [x[i] for i in range(7)] == [0, 1, 1, 2, 2, 2, 3]
    assert sorted(y[i] for i in (2, 3, 4, 6)) == [0, 1, 2, 3]
    assert y[1] == (y[3] + y[4] + y[5]) / 3 and y[0] == (y[1] + y[2]) / 2
    assert "Ġ" not in figure_text(fig) and "%{customdata[1]" in fig.data[2].hovertemplate
    assert_axis_titles(fig)


def test_beam_tree_rejects_bad_nodes():
    with pytest.raises(ValueError, match="parent_id"):
        viz.beam_tree([dict(id=0, parent_id=9, token="a", logprob=0.0, status="kept")])
    with pytest.raises(ValueError, match="status"):
        viz.beam_tree([dict(id=0, parent_id=None, token="a", logprob=0.0, status="lost")])


# ---- tokens and bytes ---------------------------------------------------------------------------------------
def test_token_table(gpt2_tokenizer):
    text = "The cat sat on the mat.\nThe cat"
    ids = gpt2_tokenizer(text)["input_ids"]
    pieces = gpt2_tokenizer.convert_ids_to_tokens(ids)
    fig = viz.token_table(pieces, ids, per_row=5)
    custom = np.asarray(fig.data[0].customdata, dtype=object).reshape(-1, 3)[:len(ids)]
    assert [int(c[2]) for c in custom] == ids and [int(c[0]) for c in custom] == list(range(len(ids)))
    assert "".join(c[1] for c in custom) == readable(text)  # the pieces spell the text, whitespace visible
    assert np.asarray(fig.data[0].z, dtype=float).shape == (math.ceil(len(ids) / 5), 5)
    assert viz.token_table(pieces * 3, ids * 3).layout.width <= 960  # the default fits JupyterLab's output area
    assert_axis_titles(fig)
    assert_readable(fig)


def test_lone_bytes_of_a_byte_level_sequence_read_as_hex():
    # 'ð' alone is a printable Latin-1 character, but among byte-level tokens it is the emoji's first byte.
    assert viz.readable_tokens(["Ġcat", "ð", "Ł", "Ļ", "Ĥ"]) == ["␣cat", "<F0>", "<9F>", "<99>", "<82>"]
    assert viz.readable_tokens(["the", "##ha", "[UNK]"]) == ["the", "##ha", "[UNK]"]  # WordPiece stays as it is


def test_token_comparison_one_row_per_tokenizer(gpt2_tokenizer):
    text = "The unhappiness of cats"
    ids = gpt2_tokenizer(text)["input_ids"]
    rows = {"gpt2": (gpt2_tokenizer.convert_ids_to_tokens(ids), ids),
            "letters": (list(text), list(range(len(text))))}
    fig = viz.token_comparison(rows)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (2, len(text)) and (~np.isnan(z)).sum(axis=1).tolist() == [len(ids), len(text)]
    custom = fig.data[0].customdata
    assert [int(custom[0][c][3]) for c in range(len(ids))] == ids
    assert "".join(custom[0][c][2] for c in range(len(ids))) == readable(text)
    assert list(fig.layout.yaxis.ticktext) == [f"gpt2 ({len(ids)})", f"letters ({len(text)})"]
    assert_axis_titles(fig)
    assert "Ġ" not in figure_text(fig) and "␣cats" in figure_text(fig)


def test_segmentation_lattice_packs_candidates_and_marks_the_path():
    word = "▁unhappy"
    spans = [(0, 3, "▁un", -3.0), (0, 1, "▁", -1.0), (1, 3, "un", -4.0), (3, 8, "happy", -5.0),
             dict(start=3, end=6, piece="hap", score=-6.0), (6, 8, "py", -7.0)]
    fig = viz.segmentation_lattice(word, spans, best=[0, 3])
    every, chosen = fig.data
    assert list(every.base) == [s[0] if isinstance(s, tuple) else s["start"] for s in spans]
    assert list(every.x) == [3, 1, 2, 5, 3, 2] and list(every.marker.color) == [-3, -1, -4, -5, -6, -7]
    assert list(chosen.text) == ["␣un", "happy"] and list(chosen.y) == [0, 0]
    # No two candidates in one row overlap.
    for row in set(every.y):
        cells = sorted((b, b + w) for b, w, y in zip(every.base, every.x, every.y, strict=True) if y == row)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(cells, cells[1:], strict=False))
    assert "%{customdata[3]" in every.hovertemplate
    assert_axis_titles(fig)
    with pytest.raises(ValueError, match="best"):
        viz.segmentation_lattice(word, spans, best=[9])


def test_byte_view_marks_a_character_still_arriving():
    chunks = [b"Hi", b" \xe2\x80"]  # the first two bytes of '…' (E2 80 A6): the stream holds them back
    fig = viz.byte_view(["Hi", "␣<E2><80>"], chunks)
    roles = [viz.tokens.BYTE_ROLES[int(r)] for r in np.asarray(fig.data[0].z)[0]]
    assert roles[3:] == ["first byte of a multi-byte character", "continuation byte"]
    assert [(b.x0, b.x1) for b in fig.layout.shapes if b.type == "rect"] == [(2.5, 4.5)]
    assert "waiting for the rest" in fig.data[0].customdata[0][4][2]
    assert viz.tokens.waiting_tail(b"Hi \xe2\x80") == 3 and viz.tokens.waiting_tail(b"Hi \xe2\x80\xa6") is None
    assert viz.tokens.waiting_tail(b"Hi \x80") is None  # a stray continuation byte is invalid, not waiting


def test_utf8_characters_match_python_decoder():
    text = "Hi 🙂 café ±"
    data = text.encode("utf-8")
    spans = viz.utf8_characters(data)
    assert all(complete for _, _, complete in spans)
    assert [data[a:b].decode("utf-8") for a, b, _ in spans] == list(text)
    assert viz.utf8_characters(b"\xe2\x80") == [(0, 1, False), (1, 2, False)]  # incomplete: not a character


def test_byte_view_marks_a_character_split_across_tokens():
    chunks = [b"Hi", b" \xf0\x9f", b"\x99\x82", b" caf\xc3\xa9"]  # the emoji's four bytes straddle tokens 1 and 2
    pieces = ["Hi", "Ġ<F0><9F>", "<99><82>", "Ġcafé"]
    saved = list(chunks)
    fig = viz.byte_view(pieces, chunks)
    assert chunks == saved
    data = b"".join(chunks)
    assert list(fig.data[0].text[0]) == [f"{b:02X}" for b in data]
    roles = [viz.tokens.BYTE_ROLES[int(r)] for r in np.asarray(fig.data[0].z)[0]]
    assert roles[3:7] == ["first byte of a multi-byte character"] + ["continuation byte"] * 3
    boxes = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [(b.x0, b.x1) for b in boxes] == [(2.5, 6.5)]  # exactly the emoji's bytes 3..6
    assert "held back" in fig.data[0].customdata[0][4][2]
    assert "Ġ" not in figure_text(fig)
    assert_axis_titles(fig)


def test_no_builder_changes_its_inputs():
    rng = np.random.default_rng(7)
    _, masked, pattern = attention_inputs()
    tokens = list(BYTE_TOKENS)
    calls = [
        (viz.attention_heatmap, pattern.numpy().copy(), tokens),
        (viz.attention_heads, np.stack([pattern.numpy()] * 3), tokens),
        (viz.attention_steps, masked.numpy().copy(), masked.numpy().copy(), pattern.numpy().copy(), tokens),
        (viz.vector_heatmap, rng.normal(size=(N, 5)), tokens),
        (viz.vector_panels, {"a": rng.normal(size=(N, 3)), "b": rng.normal(size=(N, 2))}, tokens),
        (viz.neuron_activations, rng.normal(size=(N, 30)), tokens),
        (viz.similarity_matrix, rng.uniform(-1, 1, size=(N, N)), tokens),
        (viz.positional_heatmap, rng.normal(size=(N, 6))),
        (viz.position_similarity, rng.uniform(-1, 1, size=(N, N))),
        (viz.embedding_map, rng.normal(size=(N, 2)), tokens, [1, 2]),
        (viz.probability_bars, tokens, rng.dirichlet(np.ones(N)), rng.uniform(size=N) > 0.5, 0),
        (viz.probability_comparison, tokens, {"a": rng.dirichlet(np.ones(N)), "b": rng.dirichlet(np.ones(N))}),
        (viz.line_by_layer, {"a": list(rng.normal(size=4)), "b": list(rng.normal(size=4))}),
        (viz.layer_norm_stats, *rng.uniform(size=(4, N)), tokens),
        (viz.logit_lens_grid, [tokens, tokens], rng.uniform(size=(2, N)), tokens),
        (viz.kv_cache_growth, list(range(5)), np.arange(5) + 3, np.arange(5) * 100),
        (viz.cost_with_without_cache, list(range(5)), np.ones(5), np.arange(5) + 3.0),
        (viz.speculative_steps, [[("Ġa", "accepted"), ("Ġb", "rejected")], [("Ġc", "bonus")]]),
        (viz.beam_tree, beam_nodes()),
        (viz.token_table, tokens, list(range(N))),
        (viz.token_comparison, {"x": (tokens, list(range(N)))}),
        (viz.byte_view, ["Hi", "Ġ"], [b"Hi", b" "]),
        (viz.segmentation_lattice, "abc", [(0, 1, "a", -1.0), (1, 3, "bc", -2.0)], [0, 1]),
        (viz.activation_curves, np.linspace(-1, 1, 5), {"f": np.linspace(-1, 1, 5) ** 2}),
    ]
    for builder, *args in calls:
        saved = copy.deepcopy(args)
        fig = builder(*args)
        assert isinstance(fig, go.Figure), builder.__name__
        go.FigureWidget(fig)  # every figure can be wrapped once by a widget
        for before, after in zip(saved, args, strict=True):
            np.testing.assert_equal(after, before, err_msg=builder.__name__)


# ---- widgets can update the figures in place ----------------------------------------------------------------
def test_figure_widget_updates_trace_in_place():
    _, _, first = attention_inputs(seed=0)
    _, _, second = attention_inputs(seed=1)
    widget = go.FigureWidget(viz.attention_heatmap(first, READABLE))
    mask = viz.causal_mask(N, N)
    with widget.batch_update():
        widget.data[0].z = viz.attention.masked_values(second.numpy(), mask)
    z = np.asarray(widget.data[0].z, dtype=float)
    assert np.array_equal(z[~mask], second.double().numpy()[~mask]) and np.isnan(z[mask]).all()
