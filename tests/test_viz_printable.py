"""printable.py: the static image of a figure draws exactly the interactive figure's data, ticks and titles, and
`llmviz figure` writes it from a real forward pass."""

from __future__ import annotations

import warnings

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from matplotlib.colors import to_hex

from llmviz.cli import main
from llmviz.viz import attention_heatmap, probability_bars
from llmviz.viz.printable import colormap, save_static, static_figure
from llmviz.viz.style import MASKED, readable_tokens

PROMPT = "The cat sat on the mat"


def heatmap_of(fig: go.Figure):
    return static_figure(fig).axes[0].images[0]


def test_the_heatmap_shows_the_figures_values_and_masks(tiny_lm, story_cache):
    pattern = story_cache["pattern", 1][0, 2]  # [q, k] from the session's own capture
    tokens = readable_tokens(tiny_lm.to_str_tokens(story_cache["hook_embed"].shape[1] * [0]))
    fig = attention_heatmap(pattern, tokens)
    image = heatmap_of(fig)
    drawn = np.ma.filled(image.get_array().astype(float), np.nan)  # [q, k] as matplotlib holds it
    expected = np.triu(np.ones_like(pattern.numpy(), dtype=bool), 1)  # causally masked cells, recomputed
    assert np.array_equal(np.isnan(drawn), expected)
    np.testing.assert_allclose(drawn[~expected], pattern.numpy()[~expected], rtol=1e-6)
    assert image.get_clim() == (0.0, 1.0)
    assert to_hex(image.get_cmap().get_bad()) == MASKED.lower()


def test_the_heatmap_keeps_the_token_ticks_and_the_first_row_on_top(tiny_lm):
    tokens = readable_tokens(tiny_lm.to_str_tokens(PROMPT))
    n = len(tokens)
    fig = attention_heatmap(torch.full((n, n), 1.0 / n), tokens, title="Layer 0<br>head 1")
    ax = static_figure(fig).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(fig.layout.xaxis.ticktext) == tokens
    assert [t.get_text() for t in ax.get_yticklabels()] == tokens
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # inverted: query 0 on top, as in the notebook
    assert ax.get_title(loc="left") == "Layer 0\nhead 1" and ax.get_xlabel() == fig.layout.xaxis.title.text


def test_the_bars_are_the_figures_heights_and_colours():
    probs = torch.tensor([0.5, 0.3, 0.2])
    fig = probability_bars(["␣a", "␣b", "␣c"], probs, kept_mask=[True, True, False], highlight=1)
    ax = static_figure(fig).axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    np.testing.assert_allclose(heights, probs.numpy(), rtol=1e-7)
    assert [to_hex(p.get_facecolor()) for p in ax.patches] == [c.lower() for c in fig.data[0].marker.color]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["␣a", "␣b", "␣c"]


def test_a_plotly_colorscale_becomes_the_same_colormap():
    cmap = colormap([[0.0, "#000000"], [0.5, "rgb(255, 0, 0)"], [1.0, "#FFFFFF"]])
    # the 256-entry lookup table puts 0.5 between two entries: within one step of the stop's colour
    for position, rgb in ((0.0, (0, 0, 0)), (0.5, (1, 0, 0)), (1.0, (1, 1, 1))):
        np.testing.assert_allclose(cmap(position)[:3], rgb, atol=2 / 255)


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_files_are_written_in_the_suffixs_format_without_missing_glyphs(tmp_path, suffix, magic):
    fig = probability_bars(["␣cat", "⟨EOS⟩", "é"], [0.6, 0.3, 0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font" for an unknown character
        path = save_static(fig, tmp_path / f"bars{suffix}")
    assert path.read_bytes().startswith(magic)


def test_bad_requests_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match=r"\.png, \.svg, \.pdf"):
        save_static(probability_bars(["a"], [1.0]), tmp_path / "bars.jpg")
    with pytest.raises(ValueError, match="heatmap .* or bars"):
        static_figure(go.Figure(go.Scatter(x=[0, 1], y=[1, 2])))


def test_llmviz_figure_writes_the_models_attention(tmp_path, capsys, tiny_lm):
    out = tmp_path / "attn.png"
    assert main(["figure", "attention", PROMPT, "-o", str(out), "--layer", "1", "--head", "2"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG") and str(out) in capsys.readouterr().out
    from llmviz.slides import figure
    drawn = np.ma.filled(heatmap_of(figure(tiny_lm, "attention", PROMPT, layer=1, head=2)).get_array(), np.nan)
    _, cache = tiny_lm.run_with_cache(PROMPT)  # an independent forward with every name kept
    expected = cache["pattern", 1][0, 2].numpy()
    keep = ~np.isnan(drawn)
    np.testing.assert_allclose(drawn[keep], expected[keep], rtol=1e-5)
    assert keep.sum() == len(expected) * (len(expected) + 1) // 2


def test_llmviz_figure_next_token_and_its_errors(tmp_path, capsys, tiny_lm):
    assert main(["figure", "next-token", PROMPT, "-o", str(tmp_path / "bars.svg"), "--top", "5"]) == 0
    from llmviz.slides import figure
    bars = [p.get_height() for p in static_figure(figure(tiny_lm, "next-token", PROMPT, top=5)).axes[0].patches]
    with torch.no_grad():
        probs = torch.softmax(tiny_lm.model(tiny_lm.to_tokens(PROMPT)).logits[0, -1], -1)
    np.testing.assert_allclose(bars, probs.topk(5).values.numpy(), rtol=1e-5)
    capsys.readouterr()
    assert main(["figure", "attention", PROMPT, "-o", str(tmp_path / "a.png"), "--layer", "99"]) == 2
    assert "--layer must be in 0.." in capsys.readouterr().err
    assert main(["figure", "attention", PROMPT, "-o", str(tmp_path / "missing" / "a.png")]) == 2
    assert "No such file or directory" in capsys.readouterr().err
    assert main(["figure", "next-token", "", "-o", str(tmp_path / "b.png")]) == 2
    assert "empty" in capsys.readouterr().err
