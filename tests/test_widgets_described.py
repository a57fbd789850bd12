"""described.py: a figure shown with its sentence and a "show as table" toggle whose table holds the figure's
current numbers, escaped."""

from __future__ import annotations

import html
import re

import torch

from llmviz.viz import probability_bars
from llmviz.viz.widgets import described
from llmviz.viz.widgets.described import MAX_ROWS, table_html
from llmviz.viz.widgets.figure_widget import FigureWidget

PROMPT = "The cat sat on the"


def cells(table: str) -> list[list[str]]:
    return [[html.unescape(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table)]


def test_the_toggle_lists_the_models_numbers_under_the_sentence(tiny_lm):
    with torch.no_grad():
        probs = torch.softmax(tiny_lm.model(tiny_lm.to_tokens(PROMPT)).logits[0, -1], -1)
    top = probs.topk(5)
    tokens = tiny_lm.to_str_tokens(top.indices.tolist())
    view = described(probability_bars(tokens, top.values))
    assert isinstance(view.figure, FigureWidget) and view.show_table.description == "show as table"
    assert f"at {top.values[0].item():.1%}" in html.unescape(view.description.value)
    assert view.table.value == ""
    view.show_table.value = True
    rows = cells(view.table.value)
    assert rows[0] == ["series", "candidate next token", "probability"]
    assert [r[1] for r in rows[1:]] == tokens
    assert [float(r[2]) for r in rows[1:]] == [float(f"{p:.6g}") for p in top.values.tolist()]
    with view.figure.batch_update():  # a widget changing the figure in place: the shown table follows on refresh
        view.figure.data[0].y = [0.5, 0.25, 0.125, 0.0625, 0.0625]
    view.refresh()
    assert [float(r[2]) for r in cells(view.table.value)[1:]] == [0.5, 0.25, 0.125, 0.0625, 0.0625]
    view.show_table.value = False
    assert view.table.value == ""


def test_typed_text_is_escaped_and_long_tables_say_they_were_cut():
    view = described(probability_bars(["<b>bold</b>", "&amp;"], [0.75, 0.25]))
    view.show_table.value = True
    assert "<b>bold</b>" not in view.table.value and "&lt;b&gt;bold&lt;/b&gt;" in view.table.value
    assert "<b>" not in view.description.value
    n = MAX_ROWS + 5
    long = table_html(probability_bars([f"t{i}" for i in range(n)], [1 / n] * n))
    assert len(cells(long)) == MAX_ROWS + 1 and f"First {MAX_ROWS} of {n} rows" in long
