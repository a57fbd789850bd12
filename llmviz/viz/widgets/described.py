"""A figure with its words: the one-sentence text alternative under it and a "show as table" toggle that lists the
figure's numbers, so a screen-reader user, or a learner who prefers numbers, gets what the picture shows.

The sentence is `llmviz.viz.text_alternative.alt_text` (set by the builder from the data it was built with); the
table is `as_table`, read from the figure's current data each time it is shown, so it follows a widget that updates
the figure in place. Everything user-typed goes into the page escaped. This module computes nothing about models.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from llmviz.viz.text_alternative import alt_text, as_table
from llmviz.viz.widgets.figure_widget import FigureWidget

MAX_ROWS, MAX_COLUMNS = 60, 40  # a table longer than this is cut, with a note saying so


def table_html(figure) -> str:
    """The figure's data (see `as_table`) as an escaped HTML table with a header row, cut to MAX_ROWS x MAX_COLUMNS."""
    table = as_table(figure)
    headers, rows = table.headers[:MAX_COLUMNS], [row[:MAX_COLUMNS] for row in table.rows[:MAX_ROWS]]

    def cell(value) -> str:
        if value is None:
            return "—"
        return f"{value:.6g}" if isinstance(value, float) else html.escape(str(value))

    head = "".join(f"<th scope='col'>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    cut = len(table.rows) > MAX_ROWS or len(table.headers) > MAX_COLUMNS
    note = f"<p>First {len(rows)} of {len(table.rows)} rows and {len(headers)} of {len(table.headers)} columns.</p>" \
        if cut else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


class DescribedFigure(widgets.VBox):
    """`figure` (a builder's plotly Figure, shown as llmviz's FigureWidget, or a FigureWidget already), then its
    sentence, then a "show as table" toggle.

    Attributes: `figure` (the FigureWidget), `description` (HTML: the sentence), `show_table` (ToggleButton),
    `table` (HTML: empty until the toggle is on). Call `refresh()` after changing the figure to rebuild a shown table.
    """

    def __init__(self, figure):
        self.figure = figure if isinstance(figure, widgets.DOMWidget) else FigureWidget(figure)
        self.description = widgets.HTML(f"<p>{html.escape(alt_text(self.figure))}</p>")
        self.show_table = widgets.ToggleButton(value=False, description="show as table",
                                               tooltip="list the figure's numbers as a table")
        self.table = widgets.HTML()
        self.show_table.observe(lambda _: self.refresh(), names="value")
        super().__init__([self.figure, self.description, self.show_table, self.table])

    def refresh(self) -> None:
        self.table.value = table_html(self.figure) if self.show_table.value else ""


def described(figure) -> DescribedFigure:
    """A DescribedFigure for `figure` (see the class)."""
    return DescribedFigure(figure)
