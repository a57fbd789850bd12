"""Text alternatives for figures: a one-sentence description computed from a figure's data, and the same data as a
table, so a screen-reader user (or a learner who prefers numbers) gets what the picture shows.

Every builder in `llmviz.viz` ends with `with_alt(fig, sentence)`, which stores the sentence in
`fig.layout.meta["alt"]`; plotly keeps `layout.meta` through `to_json`, `FigureWidget` and the HTML export, and never
draws it. `alt_text(fig)` reads it back. `as_table(fig)` turns the figure's traces into rows (heatmaps: one row per
grid row; bars and lines: one row per point), computed from the figure alone. The sentence is plain text, not
markup: escape it before putting it into HTML. A widget that later changes a figure's data in place keeps the
sentence of the figure it was built with. The small formatters here (`number`, `percent`, `quoted`, `extreme_cell`)
keep every builder's sentence in one style. This module draws nothing and knows nothing about models.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

ALT = "alt"  # the key in layout.meta
_TAG = re.compile(r"<[^>]+>")


def with_alt(fig: go.Figure, details: str) -> go.Figure:
    """Attach "<the figure's title>: <details>." as its text alternative (layout.meta["alt"]); return the figure.

    `details` is computed from the figure's data by the builder; the title's first line is read from the layout, as
    plain text.
    """
    title = html.unescape(_TAG.sub(" ", (fig.layout.title.text or "").split("<br>")[0]))  # not the subtitle
    sentence = f"{' '.join(title.split())}: {details}" if title.strip() else details
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    fig.layout.meta = {**meta, ALT: " ".join(sentence.rstrip(".").split()) + "."}  # one line, one full stop
    return fig


def alt_text(fig) -> str:
    """The one-sentence text alternative a builder attached; a ValueError if the figure has none."""
    meta = fig.layout.meta
    if not isinstance(meta, dict) or not meta.get(ALT):
        raise ValueError("This figure has no text alternative; figures from llmviz.viz's builders carry one. For "
                         "your own figure, call llmviz.viz.text_alternative.with_alt(fig, sentence).")
    return meta[ALT]


def number(value: float) -> str:
    """Three significant digits, as a person would read it aloud: 0.204, 12.3, 1.2e+04."""
    return f"{float(value):.3g}"


def percent(value: float) -> str:
    """A probability as a percentage with one decimal: 0.1504 -> '15.0%'."""
    return f"{float(value):.1%}"


def quoted(label: str) -> str:
    """A token or label as plain quoted text: '&lt;b&gt;' (escaped for plotly) reads '<b>' again."""
    return f"'{html.unescape(str(label))}'"


def extreme_cell(z: np.ndarray, largest: bool = True) -> tuple[int, int, float]:
    """(row, column, value) of the largest (or smallest) finite cell of z [rows, cols]; NaN cells are skipped."""
    filled = np.where(np.isfinite(z), z, -np.inf if largest else np.inf)
    row, col = np.unravel_index(np.argmax(filled) if largest else np.argmin(filled), z.shape)
    return int(row), int(col), float(z[row, col])


def value_range(z: np.ndarray) -> str:
    """'from -1.2 to 3.4' over the finite values of z."""
    finite = z[np.isfinite(z)]
    return f"from {number(finite.min())} to {number(finite.max())}" if finite.size else "over no finite value"


def grid_summary(z: np.ndarray, row_name: str, column_name: str, row_labels: Sequence[str] | None = None,
                 column_labels: Sequence[str] | None = None, column_numbers: Sequence[int] | None = None) -> str:
    """'3 token rows × 64 dimension columns; values run from -1.2 to 3.4; the largest, 3.4, is at token 2 ('cat'),
    dimension 17; ...' for z [rows, cols]. Labels (escaped or not) name a row or column after its number;
    column_numbers replace the column indices (e.g. the neuron numbers of a selection of neurons)."""
    rows, cols = z.shape

    def at(name: str, i: int, labels, numbers=None) -> str:
        number_i = i if numbers is None else numbers[i]
        label = None if labels is None else html.unescape(str(labels[i]))
        return f"{name} {number_i}" if label is None or label == str(number_i) else \
            f"{name} {number_i} ({quoted(label)})"

    if not np.isfinite(z).any():
        return f"{rows} {row_name} rows × {cols} {column_name} columns, all empty"
    high, low = extreme_cell(z), extreme_cell(z, largest=False)
    return (f"{rows} {row_name} rows × {cols} {column_name} columns; values run {value_range(z)}; the largest, "
            f"{number(high[2])}, is at {at(row_name, high[0], row_labels)}, "
            f"{at(column_name, high[1], column_labels, column_numbers)}; the smallest, {number(low[2])}, at "
            f"{at(row_name, low[0], row_labels)}, {at(column_name, low[1], column_labels, column_numbers)}")


@dataclass
class Table:
    """A figure's data as rows, ready for a "show as table" view: headers [columns], rows [n][columns]."""
    headers: list[str]
    rows: list[list]


def _labels(axis, positions: Sequence) -> list:
    """Tick text for positions where the axis names them, else the positions themselves."""
    if axis is not None and axis.tickvals is not None and axis.ticktext is not None:
        names = {v: _plain(t) for v, t in zip(axis.tickvals, axis.ticktext, strict=False)}
        return [names.get(p, p) for p in positions]
    return [p.item() if isinstance(p, np.generic) else p for p in positions]


def _plain(text) -> str:
    """Plotly markup as plain text: '<b>␣cat</b><br>374' reads '␣cat 374'."""
    return " ".join(html.unescape(_TAG.sub(" ", str(text))).split())


def _cell(value):
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    return float(value) if isinstance(value, (int, float, np.number)) else _plain(value)


def as_table(fig: go.Figure) -> Table:
    """The data of a figure as a table, computed from the figure alone.

    A heatmap (the first one) gives one row per grid row: its label, then one column per grid column; masked cells
    are None. Where cells carry text, the text is shown: alone on a categorical grid (token strips, speculative
    steps: no colour bar), with the value on a measured one ('␣on (0.93)' in the logit lens). Bars, lines and markers
    give one row per point: series, label, value, and the point's text if any (e.g. a beam node's token).
    Legend-only and decorative traces (no points, or no hover) are skipped.
    """
    layout = fig.layout
    traces = [t for t in fig.data if t.type in ("heatmap", "bar", "scatter", "scattergl") and t.hoverinfo != "skip"
              and (t.z is not None if t.type == "heatmap" else t.x is not None and len(t.x) and t.x[0] is not None)]
    if not traces:
        raise ValueError(f"as_table reads heatmaps, bars and lines; this figure holds {[t.type for t in fig.data]}.")
    heatmaps = [t for t in traces if t.type == "heatmap"]
    if heatmaps:
        trace = heatmaps[0]
        z = np.asarray(trace.z, dtype=object)
        rows, cols = z.shape
        y = _labels(layout.yaxis, list(trace.y) if trace.y is not None else list(range(rows)))
        x = _labels(layout.xaxis, list(trace.x) if trace.x is not None else list(range(cols)))
        text = np.asarray(trace.text, dtype=object) if trace.text is not None else np.full(z.shape, "", object)
        categorical = trace.showscale is False  # z holds category codes; the text says what each cell is

        def cell(i: int, j: int):
            value, label = _cell(z[i, j]), _cell(text[i, j]) if text[i, j] else None
            if label is None:
                return value
            return label if value is None or categorical else f"{label} ({number(value)})"

        body = [[y[i]] + [cell(i, j) for j in range(cols)] for i in range(rows)]
        return Table(headers=[_title(layout.yaxis)] + [str(v) for v in x], rows=body)
    body, with_text = [], any(t.text is not None and not isinstance(t.text, str) for t in traces)
    for t in traces:
        horizontal = t.type == "bar" and t.orientation == "h"
        where, values = (t.y, t.x) if horizontal else (t.x, t.y)
        axis = layout.yaxis if horizontal else layout.xaxis
        texts = list(t.text) if with_text and t.text is not None and not isinstance(t.text, str) else \
            [None] * len(values)
        for label, value, note in zip(_labels(axis, list(where)), values, texts, strict=True):
            body.append([_plain(t.name or ""), label, _cell(value)] + ([_cell(note)] if with_text else []))
    headers = ["series", _title(layout.xaxis), _title(layout.yaxis)] + (["text"] if with_text else [])
    return Table(headers=headers, rows=body)


def _title(axis) -> str:
    return _plain(axis.title.text) if axis is not None and axis.title.text else ""
