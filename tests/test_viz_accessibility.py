"""Every figure builder in llmviz.viz gives a text alternative stating its data's numbers, and draws with
colour-blind-safe colours. The builders are found by introspection, so a new builder without an example here (and so
without these checks) fails `test_every_builder_has_an_example`.

Examples use the tiny model's real capture of PROMPT where the figure shows model data. The numbers expected in each
sentence are recomputed here with numpy from the inputs, never read from the figure.
"""

from __future__ import annotations

import colorsys
import importlib
import inspect
import pkgutil

import numpy as np
import plotly.colors
import plotly.graph_objects as go
import pytest
import torch
from matplotlib.colors import to_rgb

import llmviz.viz as viz
from llmviz.tokenization.bpe import merge_timeline, piece_ids, replay
from llmviz.viz.style import DIVERGING, readable_tokens
from llmviz.viz.text_alternative import alt_text, as_table, with_alt

PROMPT = "The cat sat on the mat"


def g(value) -> str:
    return f"{float(value):.3g}"


def pct(value) -> str:
    return f"{float(value):.1%}"


def public_builders() -> dict:
    """Every public function of a llmviz.viz module (widgets excluded) annotated to return a plotly Figure, except
    those that take one (`with_alt(fig, ...)` labels a figure, it does not build one)."""
    found = {}
    for info in pkgutil.iter_modules(viz.__path__):
        if info.ispkg:
            continue
        module = importlib.import_module(f"llmviz.viz.{info.name}")
        for name, function in vars(module).items():
            if (inspect.isfunction(function) and function.__module__ == module.__name__ and not name.startswith("_")
                    and inspect.signature(function).return_annotation in ("go.Figure", go.Figure)
                    and next(iter(inspect.signature(function).parameters), "") != "fig"):  # with_alt(fig, ...)
                found[name] = function
    return found


@pytest.fixture(scope="module")
def run(tiny_lm):
    logits, cache = tiny_lm.run_with_cache(PROMPT)
    return tiny_lm, logits[0], cache, readable_tokens(tiny_lm.to_str_tokens(PROMPT))


def masked_argmax(pattern: np.ndarray) -> tuple[int, int]:
    """The strongest causal weight among queries that see more than one key (query 0 always gives key 0 all of it)."""
    allowed = np.tril(np.ones_like(pattern, dtype=bool))
    allowed[0] = False
    return np.unravel_index(np.argmax(np.where(allowed, pattern, -1.0)), pattern.shape)


# ---- one example per builder: (figure, strings its sentence must contain) -----------------------------------
def ex_attention_heatmap(lm, logits, cache, toks):
    p = cache["pattern", 1][0, 2].numpy()
    q, k = masked_argmax(p)
    return viz.attention_heatmap(p, toks), [f"{len(toks)} queries", g(p[q, k]), f"query {q} ('{toks[q]}')",
                                            f"key {k} ('{toks[k]}')"]


def ex_attention_heads(lm, logits, cache, toks):
    p = cache["pattern", 0][0].numpy()  # [head, q, k]
    h = int(np.argmax([p[i][masked_argmax(p[i])] for i in range(len(p))]))
    q, k = masked_argmax(p[h])
    return viz.attention_heads(p, toks), [f"{lm.n_heads} heads", f"{g(p[h, q, k])} in head {h}", f"key {k}"]


def ex_attention_steps(lm, logits, cache, toks):
    scores = cache["blocks.0.attn.hook_attn_scores"][0, 1].numpy()
    p = cache["pattern", 0][0, 1].numpy()
    raw = np.where(np.tril(np.ones_like(p, dtype=bool)), scores, 0.0)
    n = len(toks)
    return viz.attention_steps(raw, scores, p, toks), [f"hides {n * (n - 1) // 2} of {n * n} cells",
                                                       g(p[masked_argmax(p)])]


def top_candidates(lm, logits, n=8):
    probs = torch.softmax(logits[-1], -1)
    best = probs.topk(n)
    return readable_tokens(lm.to_str_tokens(best.indices.tolist())), best.values.numpy(), logits[-1][best.indices]


def ex_probability_bars(lm, logits, cache, toks):
    labels, probs, _ = top_candidates(lm, logits)
    kept = [True] * 6 + [False] * 2
    return viz.probability_bars(labels, probs, kept_mask=kept, highlight=1), [
        f"the top token is '{labels[0]}' at {pct(probs[0])}", f"'{labels[4]}' {pct(probs[4])}",
        "2 of 8 are filtered out", f"the chosen token is '{labels[1]}'"]


def ex_probability_comparison(lm, logits, cache, toks):
    labels, _, chosen_logits = top_candidates(lm, logits)
    series = {f"T = {t}": torch.softmax(chosen_logits / t, -1).numpy() for t in (0.5, 2.0)}
    return viz.probability_comparison(labels, series), [f"'{name}': '{labels[int(np.argmax(p))]}' at {pct(p.max())}"
                                                        for name, p in series.items()]


def ex_kv_cache_growth(lm, logits, cache, toks):
    steps, length = np.arange(5), np.arange(6, 11)
    size = length * 2 * lm.n_layers * 224 * 4
    return viz.kv_cache_growth(steps, length, size), ["over 5 steps", "from 6 to 10 positions",
                                                      f"to {g(size[-1] / 1024)} KiB"]


def ex_cost_with_without_cache(lm, logits, cache, toks):
    steps = np.arange(6)
    without = (steps + 6) ** 2
    return viz.cost_with_without_cache(steps, steps * 0 + 6, without), [f"{g(without[-1] / 6)}× less",
                                                                       f"{g(without.sum())} against 36"]


def ex_speculative_steps(lm, logits, cache, toks):
    rows = [[("␣a", "accepted"), ("␣b", "accepted"), ("␣c", "rejected"), ("␣d", "discarded"), ("␣e", "replacement")],
            [("␣f", "accepted"), ("␣g", "bonus")]]
    return viz.speculative_steps(rows), ["2 verification steps", "3 accepted", "1 rejected", "1 bonus"]


def ex_line_by_layer(lm, logits, cache, toks):
    norms = np.array([cache[f"blocks.{L}.hook_resid_post"][0, -1].norm().item() for L in range(lm.n_layers)])
    peak = int(np.argmax(norms))
    return viz.line_by_layer({"norm": norms}), [f"from {g(norms[0])} at layer 0", f"to {g(norms[-1])} at "
                                                f"{lm.n_layers - 1}", f"highest {g(norms[peak])} at {peak}"]


def ex_layer_norm_stats(lm, logits, cache, toks):
    before, after = cache["blocks.0.hook_resid_pre"][0], cache["blocks.0.ln1.hook_normalized"][0]
    stats = [before.mean(-1), before.var(-1, unbiased=False), after.mean(-1), after.var(-1, unbiased=False)]
    return viz.layer_norm_stats(*stats, toks), [f"from {g(stats[1].min())} to {g(stats[1].max())}",
                                                f"variance from {g(stats[3].min())} to {g(stats[3].max())}"]


def lens_example(lm, cache, toks):
    lens = lm.logit_lens(cache, top_k=1)
    return viz.lens_grid(lens, toks)


def final_guess(lm, logits):
    probs = torch.softmax(logits[-1], -1)  # independent: the plain run's own last distribution
    return readable_tokens(lm.to_str_tokens([int(probs.argmax())]))[0], probs.max()


def ex_logit_lens_grid(lm, logits, cache, toks):
    word, prob = final_guess(lm, logits)
    return viz.logit_lens_grid(**lens_example(lm, cache, toks)), [f"{lm.n_layers + 1} layers × {len(toks)} positions",
                                                                   f"is '{word}' at {pct(prob)}"]


def ex_cone_grid(lm, logits, cache, toks):
    kwargs = lens_example(lm, cache, toks)
    change = np.zeros((lm.n_layers + 1, len(toks)))
    change[3:, 2:] = 1.0
    word, prob = final_guess(lm, logits)
    return viz.cone_grid(change=change, **kwargs), [f"{int((change > 1e-3).sum())} of {change.size} cells changed",
                                                    f"is '{word}' at {pct(prob)}"]


def ex_layer_grid(lm, logits, cache, toks):
    values = np.array([[0.5, -2.0, 0.1], [1.5, 0.2, -0.3]])
    return viz.layer_grid(values, ["0", "1", "2"], "Head effect", "head", "change"), [
        "the largest, 1.5, is at layer 1, head 0", "the smallest, -2, at layer 0, head 1"]


def ex_attribution_bars(lm, logits, cache, toks):
    values = np.array([0.4, -1.25, 2.5, 0.1])
    return viz.attribution_bars(["embed", "L0H1", "mlp 2", "bias"], values, "Who pushes the logit"), [
        f"sum to {g(values.sum())}", "the largest is 'mlp 2' at 2.5", "the most negative 'L0H1' at -1.25"]


def ex_segmentation_lattice(lm, logits, cache, toks):
    spans = [(0, 2, "ca", -3.0), (2, 3, "t", -2.5), (0, 1, "c", -4.0), (1, 3, "at", -2.0), (0, 3, "cat", -6.5)]
    return viz.segmentation_lattice("cat", spans, best=[2, 3]), ["5 candidate pieces", "'c' | 'at'", "total "
                                                                 "log-probability -6"]


def ex_token_comparison(lm, logits, cache, toks):
    rows = {"tiny": (toks, [1] * len(toks)), "<bytes>": (list("The cat"), list(range(7)))}
    return viz.token_comparison(rows), [f"'tiny': {len(toks)} tokens", "'<bytes>': 7 tokens"]


def ex_token_table(lm, logits, cache, toks):
    ids = lm.to_tokens(PROMPT)[0].tolist()
    return viz.token_table(toks, ids), [f"{len(ids)} tokens", f"'{toks[1]}' ({ids[1]})"]


def ex_byte_view(lm, logits, cache, toks):
    pieces, chunks = ["a", "<F0><9F>", "<98><80>", "b"], [b"a", b"\xf0\x9f", b"\x98\x80", b"b"]
    return viz.byte_view(pieces, chunks), ["6 bytes from 4 tokens make 3 whole characters", "1 of them split"]


def ex_beam_tree(lm, logits, cache, toks):
    nodes = [dict(id=0, parent_id=None, token="The", logprob=0.0, status="kept"),
             dict(id=1, parent_id=0, token="␣cat", logprob=-1.0, status="kept"),
             dict(id=2, parent_id=0, token="␣dog", logprob=-2.5, status="pruned"),
             dict(id=3, parent_id=1, token="␣sat", logprob=-1.75, status="finished"),
             dict(id=4, parent_id=1, token="␣ran", logprob=-3.0, status="finished")]
    return viz.beam_tree(nodes), ["5 nodes: 2 kept, 1 pruned, 2 finished", "'The␣cat␣sat'", "-1.75"]


def ex_embedding_map(lm, logits, cache, toks):
    points = cache["hook_embed"][0, :, :2].numpy()
    return viz.embedding_map(points, toks, highlight=[1]), [f"{len(toks)} points",
                                                            f"'{toks[1]}' at ({g(points[1, 0])}, {g(points[1, 1])})"]


def grid_extremes(z, row, col, labels=None):
    r, c = np.unravel_index(np.argmax(z), z.shape)
    name = f" ('{labels[r]}')" if labels is not None else ""
    return [f"the largest, {g(z[r, c])}, is at {row} {r}{name}, {col} {c}", f"values run from {g(z.min())}"]


def ex_vector_heatmap(lm, logits, cache, toks):
    z = cache["hook_embed"][0].numpy()
    return viz.vector_heatmap(z, toks), grid_extremes(z, "token", "dimension", toks)


def ex_vector_panels(lm, logits, cache, toks):
    q, k = cache["blocks.0.attn.hook_q"][0, :, 0].numpy(), cache["blocks.0.attn.hook_k"][0, :, 0].numpy()
    return viz.vector_panels({"q": q, "k": k}, toks), [f"'q' runs from {g(q.min())} to {g(q.max())}",
                                                       f"'k' runs from {g(k.min())} to {g(k.max())}"]


def ex_similarity_matrix(lm, logits, cache, toks):
    e = torch.nn.functional.normalize(cache["hook_embed"][0], dim=-1)
    sim = (e @ e.T).numpy()
    off = np.where(np.eye(len(sim), dtype=bool), -np.inf, sim)
    i, j = np.unravel_index(np.argmax(off), off.shape)
    return viz.similarity_matrix(sim, toks), [f"'{toks[i]}' and '{toks[j]}' at {g(sim[i, j])}"]


def ex_positional_heatmap(lm, logits, cache, toks):
    z = cache["hook_pos_embed"][0].numpy()
    return viz.positional_heatmap(z), grid_extremes(z, "position", "dimension")


def ex_position_similarity(lm, logits, cache, toks):
    p = torch.nn.functional.normalize(cache["hook_pos_embed"][0], dim=-1)
    sim = (p @ p.T).numpy()
    return viz.position_similarity(sim), [f"{len(sim)} position rows × {len(sim)} position columns",
                                          f"values run from {g(sim.min())} to {g(sim.max())}"]


def ex_neuron_activations(lm, logits, cache, toks):
    acts = cache["blocks.0.mlp.hook_post"][0].numpy()
    top = int(np.argmax(acts.max(axis=0)))
    r = int(np.argmax(acts[:, top]))
    return viz.neuron_activations(acts, toks, top_neurons=5), [f"5 of {acts.shape[1]} neurons",
                                                               f"the largest, {g(acts.max())}, is at token {r} "
                                                               f"('{toks[r]}'), neuron {top}"]


def ex_activation_curves(lm, logits, cache, toks):
    x = torch.linspace(-4, 4, 81)
    pre, post = cache["blocks.0.mlp.hook_pre"][0], cache["blocks.0.mlp.hook_post"][0]
    fig = viz.activation_curves(x, {"GELU": torch.nn.functional.gelu(x)}, samples=(pre, post))
    return fig, ["'GELU' over inputs from -4 to 4", f"of the model's {pre.numel()} (input, output) pairs",
                 f"inputs from {g(pre.min())}"]


def ex_bpe_merge_steps(lm, logits, cache, toks):
    states = merge_timeline(replay(lm.tokenizer, " unbelievable"))
    ids = lm.tokenizer(" unbelievable", add_special_tokens=False)["input_ids"]
    return viz.bpe_merge_steps(states, piece_ids(lm.tokenizer, states)), [
        f"13 bytes become {len(ids)} tokens in {len(states) - 1} merge steps", f"({ids[0]})", f"({ids[-1]})"]


EXAMPLES = {name.removeprefix("ex_"): function for name, function in globals().items() if name.startswith("ex_")}


def test_every_builder_has_an_example():
    builders = public_builders()
    assert len(builders) >= 28  # the enumeration itself works: it finds the builders we know of
    assert set(builders) == set(EXAMPLES), f"builders without an example here: {set(builders) - set(EXAMPLES)}"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_text_alternative_states_the_datas_numbers(name, run):
    fig, expected = EXAMPLES[name](*run)
    sentence = alt_text(fig)
    assert sentence == alt_text(go.Figure(fig.to_dict()))  # survives a copy, as in a FigureWidget or a page
    assert sentence.endswith(".") and "\n" not in sentence and "<" not in sentence.replace("'<", "")
    assert sentence.startswith(fig.layout.title.text.split("<br>")[0].split(" (")[0][:20].replace("&lt;", "<"))
    for part in expected:
        assert part in sentence, f"{name}: {part!r} missing from {sentence!r}"


def test_a_figure_without_a_text_alternative_says_how_to_add_one():
    with pytest.raises(ValueError, match="with_alt"):
        alt_text(go.Figure(go.Bar(y=[1])))
    fig = with_alt(go.Figure(go.Bar(y=[1]), layout=dict(title="<b>One</b> &amp; more<br>a subtitle")), "one bar at 1")
    assert alt_text(fig) == "One & more: one bar at 1."  # plain text, the title's first line only


def test_show_as_table_gives_the_figures_numbers(run):
    lm, logits, cache, toks = run
    labels, probs, _ = top_candidates(lm, logits, n=5)
    table = as_table(viz.probability_bars(labels, probs))
    assert table.headers == ["series", "candidate next token", "probability"]
    assert [row[1] for row in table.rows] == labels
    np.testing.assert_allclose([row[2] for row in table.rows], probs, rtol=1e-6)
    p = cache["pattern", 1][0, 2].numpy()
    grid = as_table(viz.attention_heatmap(p, toks + []))
    assert grid.headers[1:] == toks and [row[0] for row in grid.rows] == toks
    assert grid.rows[0][2] is None and grid.rows[-1][1] == pytest.approx(p[-1, 0])  # masked cell, real cell
    lens = as_table(viz.logit_lens_grid(**lens_example(lm, cache, toks)))
    word, prob = final_guess(lm, logits)
    assert lens.rows[-1][-1] == f"{word} ({g(prob)})"


# ---- colour-blind-safe scales -------------------------------------------------------------------------------
# Machado, Oliveira & Fernandes (2009), full-severity deuteranopia and protanopia, on linear RGB.
DEUTAN = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]])
PROTAN = np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]])
# A red and a green must stay at least this far apart (CIELAB ΔE) for both: Okabe-Ito's vermillion and bluish green
# keep 53 and 37; plotly's default red and green fall to 41 and 30, ColorBrewer Set1's to 21, tab10's to 7.
MIN_DELTA_E = 35


def rgb(color: str) -> np.ndarray:
    """[3] in 0..1 from '#D55E00', 'rgb(213, 94, 0)' or a CSS name."""
    if color.startswith("rgb"):
        return np.array(plotly.colors.unlabel_rgb(color)[:3]) / 255
    return np.array(to_rgb(color))


def lab(color_rgb: np.ndarray, simulate: np.ndarray | None = None) -> np.ndarray:
    linear = np.where(color_rgb <= 0.04045, color_rgb / 12.92, ((color_rgb + 0.055) / 1.055) ** 2.4)
    if simulate is not None:
        linear = np.clip(simulate @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    f = np.cbrt(np.maximum(xyz / np.array([0.95047, 1.0, 1.08883]), (6 / 29) ** 3))
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def hue_family(color: str) -> str | None:
    h, lightness, s = colorsys.rgb_to_hls(*rgb(color))
    if s < 0.3 or not 0.15 < lightness < 0.9:
        return None  # greys, near-black and pastel tints carry no red-or-green meaning
    degrees = h * 360
    return "red" if degrees < 35 or degrees > 330 else "green" if 75 < degrees < 170 else None


def red_green_pairs(colors: set[str]) -> list[tuple[str, str, float]]:
    """Pairs of a red and a green that deuteranopes or protanopes can hardly tell apart: (red, green, ΔE)."""
    reds = [c for c in colors if hue_family(c) == "red"]
    greens = [c for c in colors if hue_family(c) == "green"]
    bad = []
    for r in reds:
        for gr in greens:
            distance = min(np.linalg.norm(lab(rgb(r), m) - lab(rgb(gr), m)) for m in (DEUTAN, PROTAN))
            if distance < MIN_DELTA_E:
                bad.append((r, gr, round(float(distance), 1)))
    return bad


def stops(scale) -> list[tuple[float, str]]:
    scale = plotly.colors.get_colorscale(scale) if isinstance(scale, str) else scale
    return [(round(float(p), 4), plotly.colors.label_rgb(tuple(round(v * 255) for v in rgb(c)))) for p, c in scale]


SAFE_SCALES = [stops("Viridis"), stops("Cividis"), stops(DIVERGING)]


def colours_of(fig: go.Figure) -> tuple[set[str], list, list[str]]:
    """(discrete colours, continuous scales, problems) used by a figure's traces and colour axes."""
    colours, scales, problems = set(), [], []
    for i, trace in enumerate(fig.data):
        if trace.type == "heatmap":
            if trace.coloraxis is None:
                scales.append(trace.colorscale)
            continue
        marker = trace.marker
        explicit = [marker.color] if marker is not None else []
        explicit += [trace.line.color] if getattr(trace, "line", None) is not None else []
        values = [c for value in explicit if value is not None
                  for c in ([value] if isinstance(value, str) else list(value))]
        if not values:
            problems.append(f"trace {i} ({trace.type}) has no colour of its own: plotly's colorway would pair "
                            "red #EF553B with green #00CC96")
        if marker is not None and marker.colorscale is not None:
            scales.append(marker.colorscale)
        colours |= {c for c in values if isinstance(c, str)}
    for axis in ("coloraxis", "coloraxis2"):
        if axis in fig.layout and fig.layout[axis].colorscale is not None:
            scales.append(fig.layout[axis].colorscale)
    return colours, scales, problems


def scale_problems(scale) -> list[str]:
    drawn = stops(scale)
    if drawn in SAFE_SCALES:
        return []
    distinct = {c for _, c in drawn}
    stepped = all(p2 == p1 or c2 == c1 for (p1, c1), (p2, c2) in zip(drawn, drawn[1:], strict=False))
    if len(distinct) == 1 or stepped:  # a single colour (a mask) or stepped classes: their pairs are checked
        return []
    return [f"a continuous scale outside Viridis, Cividis and the RdBu diverging scale: {drawn[:3]}..."]


def figure_colour_problems(fig: go.Figure) -> list[str]:
    """Every reason a figure is not colour-blind-safe: a foreign scale, a colour left to plotly, or a red and a
    green that stand for different things (discrete colours and the classes of stepped scales, pooled)."""
    colours, scales, problems = colours_of(fig)
    for scale in scales:
        problems += scale_problems(scale)
        if stops(scale) not in SAFE_SCALES:  # a stepped (categorical) scale: its classes are categories too
            colours |= {c for _, c in stops(scale)}
    return problems + [f"red/green pair {pair}" for pair in red_green_pairs(colours)]


def test_the_colour_check_catches_red_against_green_and_foreign_scales():
    for red, green in (("#D62728", "#2CA02C"), ("#E41A1C", "#4DAF4A"), ("#EF553B", "#00CC96"), ("red", "lime")):
        bars = go.Figure(go.Bar(y=[1, 2], marker=dict(color=[red, green])))
        assert figure_colour_problems(bars), (red, green)
    assert figure_colour_problems(go.Figure(go.Heatmap(z=[[0, 1]], colorscale="RdYlGn")))
    assert figure_colour_problems(go.Figure(go.Heatmap(z=[[0, 1]], colorscale="Jet")))
    assert figure_colour_problems(go.Figure([go.Scatter(y=[1]), go.Scatter(y=[2])]))  # plotly's colorway
    okabe = go.Figure(go.Bar(y=[1, 2, 3], marker=dict(color=["#D55E00", "#009E73", "#0072B2"])))
    assert figure_colour_problems(okabe) == []


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_builder_draws_with_colour_blind_safe_colours(name, run):
    fig, _ = EXAMPLES[name](*run)
    assert figure_colour_problems(fig) == []
