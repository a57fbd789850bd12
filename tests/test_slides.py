"""slides.py and `llmviz figure`: the printed logit lens and BPE merge steps hold exactly the interactive figures'
data (read back from matplotlib's artists), that data matches an independent computation, and bad requests end in
one clear line and exit code 2."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex

from llmviz.cli import main
from llmviz.slides import FIGURE_KINDS, figure
from llmviz.tokenization.bpe import merge_timeline, replay
from llmviz.viz.printable import plain_text, static_figure
from llmviz.viz.widgets.tokenization import merge_explorer

PROMPT = "The cat sat on the mat"
WORD = " unbelievable"


def test_the_printed_logit_lens_is_the_interactive_grid_and_the_models_own_last_row(tiny_lm):
    fig = figure(tiny_lm, "logit-lens", PROMPT)
    ax = static_figure(fig).axes[0]
    drawn = np.asarray(ax.images[0].get_array(), dtype=float)  # [layer, pos], row 0 at the bottom (origin lower)
    np.testing.assert_array_equal(drawn, np.asarray(fig.data[0].z, dtype=float))
    n_layers, n_pos = drawn.shape
    assert n_layers == tiny_lm.n_layers + 1 and n_pos == len(tiny_lm.to_str_tokens(PROMPT))
    # every cell's printed guess sits at its cell's centre and reads as the interactive cell text
    cells = {(round(t.get_position()[0]), round(t.get_position()[1])): t.get_text() for t in ax.texts}
    assert cells == {(j, i): plain_text(fig.data[0].text[i][j]) for i in range(n_layers) for j in range(n_pos)}
    # The last row decodes the final residual: it must be the plain forward pass's own top-1 next token.
    with torch.no_grad():
        probs = torch.softmax(tiny_lm.model(tiny_lm.to_tokens(PROMPT)).logits[0], -1)  # [pos, vocab]
    top = probs.max(-1)
    np.testing.assert_allclose(drawn[-1], top.values.numpy(), rtol=1e-5)
    assert [cells[(j, n_layers - 1)] for j in range(n_pos)] == [tiny_lm.to_str_tokens([i])[0]
                                                                for i in top.indices.tolist()]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(fig.layout.yaxis.ticktext)


def bars_of(ax) -> dict:
    """Drawn rectangles grouped by row (their centre's y): [(left, width, face, edge, edge width)]."""
    rows: dict = {}
    for patch in ax.patches:
        row = round(patch.get_y() + patch.get_height() / 2)
        rows.setdefault(row, []).append((patch.get_x(), patch.get_width(), to_hex(patch.get_facecolor()),
                                         to_hex(patch.get_edgecolor()), patch.get_linewidth()))
    return rows


def test_the_printed_merge_steps_are_the_interactive_rows_and_the_tokenizers_ids(tiny_lm):
    fig = figure(tiny_lm, "bpe", WORD)
    ax = static_figure(fig).axes[0]
    drawn = bars_of(ax)
    states = merge_timeline(replay(tiny_lm.tokenizer, WORD))
    assert len(fig.data) == len(states) + 1 == len(drawn)  # bytes, one row per merge step, the final tokens
    for row, trace in enumerate(fig.data):
        assert set(trace.y) == {row}
        expected = [(b, w, c.lower(), e.lower() if e != "white" else "#ffffff", lw * 0.75) for b, w, c, e, lw in
                    zip(trace.base, trace.x, trace.marker.color, trace.marker.line.color, trace.marker.line.width,
                        strict=True)]
        assert drawn[row] == expected
    texts = sorted((round(t.get_position()[1]), t.get_position()[0], t.get_text()) for t in ax.texts)
    assert texts == sorted((row, b + w / 2, plain_text(label)) for row, trace in enumerate(fig.data)
                           for b, w, label in zip(trace.base, trace.x, trace.text, strict=True))
    # independent: the last row's ids are the tokenizer's own encoding, and the bytes row is the text's UTF-8
    final = [label.split("\n")[1] for row, _, label in texts if row == len(fig.data) - 1]
    assert [int(i) for i in final] == tiny_lm.tokenizer(WORD, add_special_tokens=False)["input_ids"]
    assert sum(w for _, w, *_ in drawn[0]) == len(WORD.encode("utf-8"))
    # each step's row outlines exactly the pieces its merge made, and at least one
    for k, state in enumerate(states[1:], start=1):
        made = [e == "#222222" for *_, e, _ in drawn[k]]
        assert made == state.new and any(made)


def test_the_widget_and_the_slide_draw_the_same_merge_rows(tiny_lm):
    fig = figure(tiny_lm, "bpe", WORD)
    explorer = merge_explorer(WORD, tokenizer="tiny")
    for k in range(len(explorer.states)):
        explorer.step.value = k
        shown = explorer.figure.data[1]
        row = fig.data[k] if k else None
        if row is not None:
            assert list(shown.base) == list(row.base) and list(shown.x) == list(row.x)
            assert list(shown.text) == list(row.text) and list(shown.marker.color) == list(row.marker.color)
    assert list(explorer.figure.data[2].text) == list(fig.data[-1].text)
    assert list(explorer.figure.data[0].text) == list(fig.data[0].text)


@pytest.mark.parametrize("kind", ["logit-lens", "bpe"])
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_llmviz_figure_writes_each_new_kind_in_each_format(tmp_path, capsys, tiny_lm, kind, suffix, magic):
    out = tmp_path / f"{kind}{suffix}"
    assert main(["figure", kind, WORD if kind == "bpe" else PROMPT, "-o", str(out)]) == 0
    assert out.read_bytes().startswith(magic) and str(out) in capsys.readouterr().out


def test_what_the_user_typed_is_shown_as_text_not_markup(tiny_lm):
    fig = figure(tiny_lm, "bpe", "a<b>$x$")
    assert "&lt;b&gt;" in fig.layout.title.text and "<b>" not in fig.layout.title.text
    title = static_figure(fig).axes[0].get_title(loc="left")
    assert "'a<b>$x$'" in title


@pytest.mark.parametrize("argv, message", [
    (["figure", "bpe", "", "-o", "x.png"], "The prompt is empty"),
    (["figure", "logit-lens", "", "-o", "x.png"], "The prompt is empty"),
    (["figure", "attention", PROMPT, "-o", "x.png", "--layer", "5"], "--layer must be in 0..4"),
    (["figure", "attention", PROMPT, "-o", "x.png", "--head", "-1"], "--head in 0.."),
    (["figure", "bpe", "x" * 49, "-o", "x.png"], "at most 48"),
    (["figure", "bpe", WORD, "-o", "x.jpg"], r"end the file name in .png, .svg, .pdf"),
])
def test_bad_requests_exit_2_with_one_clear_line(tmp_path, capsys, tiny_lm, argv, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("llmviz: error: ") and message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_an_unknown_kind_is_refused_by_name(capsys, tiny_lm):
    with pytest.raises(SystemExit) as exit_info:
        main(["figure", "pie", PROMPT, "-o", "x.png"])
    assert exit_info.value.code == 2 and "invalid choice: 'pie'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="choose one of attention, next-token, logit-lens, bpe"):
        figure(tiny_lm, "pie", PROMPT)
    assert FIGURE_KINDS == ("attention", "next-token", "logit-lens", "bpe")
