"""Print-ready static images (PNG, SVG, PDF) of the interactive figures, for slides and handouts, drawn by matplotlib.

`static_figure(fig)` redraws a plotly figure made by this package's builders with matplotlib: a heatmap such as
`attention_heatmap` (its first heatmap trace: the same z, colour scale and range, masked cells in the same grey) or
bars such as `probability_bars` (the same heights and colours), with the same tick labels and titles. Everything is
read from the plotly figure itself, so a slide can never disagree with the notebook. `save_static(fig, path)`
writes the file, its format taken from the suffix.

It uses matplotlib's object API and the Agg canvas only: no pyplot, no global backend change, nothing displayed, so
it is safe inside a notebook. It does not run a model or build data; the builders do that.
"""

from __future__ import annotations

import html
import re
import textwrap
from pathlib import Path

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from llmviz.viz.style import BLUE, MASKED, MASKED_SIGNED, TEXT

FORMATS = (".png", ".svg", ".pdf")
DPI = 200  # print resolution for PNG; plotly's pixel sizes become inches at 100 per inch
_TAG = re.compile(r"<[^>]+>")
TEXT_OPTIONS = dict(parse_math=False)  # a token such as "$x$" is text, not matplotlib mathtext


def plain_text(text: str | None) -> str:
    """Plotly title markup as plain text: '<br>' becomes a new line, other tags go, escapes ('&lt;') are undone."""
    return html.unescape(_TAG.sub("", (text or "").replace("<br>", "\n")))


def colormap(colorscale, name: str = "llmviz") -> LinearSegmentedColormap:
    """A matplotlib colormap from a plotly colorscale (a name such as 'Viridis', or [[position, colour], ...])."""
    scale = plotly.colors.get_colorscale(colorscale) if isinstance(colorscale, str) else colorscale
    stops = [(float(position), plotly.colors.unlabel_rgb(plotly.colors.convert_colors_to_same_type(color, "rgb")[0][0]))
             for position, color in scale]
    return LinearSegmentedColormap.from_list(name, [(p, tuple(c / 255 for c in rgb)) for p, rgb in stops])


def _ticks(axis) -> tuple[list, list] | None:
    if axis.tickvals is None or axis.ticktext is None:
        return None
    return list(axis.tickvals), [str(t) for t in axis.ticktext]


def _draw_heatmap(ax, trace: go.Heatmap, layout) -> None:
    z = np.asarray(trace.z, dtype=np.float64)  # [rows, cols]; None (masked) becomes NaN
    rows, cols = z.shape
    x = list(trace.x) if trace.x is not None else list(range(cols))
    y = list(trace.y) if trace.y is not None else list(range(rows))
    signed = trace.zmid is not None
    cmap = colormap(trace.colorscale or "Viridis").with_extremes(bad=MASKED_SIGNED if signed else MASKED)
    if signed:
        half = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
        vmin, vmax = trace.zmid - half, trace.zmid + half
    else:
        vmin, vmax = trace.zmin, trace.zmax
    # Cells centred on their positions, as in plotly; with a reversed y axis the first row is drawn on top.
    reversed_y = layout.yaxis.autorange == "reversed"
    bottom, top = (y[-1] + 0.5, y[0] - 0.5) if reversed_y else (y[0] - 0.5, y[-1] + 0.5)
    image = ax.imshow(z, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest",
                      origin="upper" if reversed_y else "lower", extent=(x[0] - 0.5, x[-1] + 0.5, bottom, top))
    bar = ax.figure.colorbar(image, ax=ax)
    if trace.colorbar is not None and trace.colorbar.title is not None:
        bar.set_label(plain_text(trace.colorbar.title.text), **TEXT_OPTIONS)
    if trace.text is not None and "%{text}" in (trace.texttemplate or ""):
        _cell_text(ax, image, np.asarray(trace.text, dtype=object), x, y)


def _cell_text(ax, image, text: np.ndarray, x: list, y: list) -> None:
    """Each cell's text (e.g. the logit lens's top guess) at its centre: white on dark colours, dark on light ones."""
    z = image.get_array()
    size = max(5.0, min(9.0, 300 / max(len(x), len(y))))  # points: smaller cells, smaller text
    for i, j in np.ndindex(text.shape):
        if not text[i, j] or np.ma.is_masked(z[i, j]):
            continue
        red, green, blue, _ = image.cmap(image.norm(z[i, j]))
        dark = 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.5  # relative luminance, roughly
        ax.text(x[j], y[i], plain_text(str(text[i, j])), ha="center", va="center", fontsize=size,
                color="white" if dark else TEXT, **TEXT_OPTIONS)


def _per_bar(value, n: int, default) -> list:
    """A plotly per-bar property (one value, a list, or None) as n values."""
    if value is None:
        return [default] * n
    return [value] * n if isinstance(value, (str, int, float)) else list(value)


def _draw_bars(ax, trace: go.Bar) -> None:
    horizontal = trace.orientation == "h"
    lengths = np.asarray(trace.x if horizontal else trace.y, dtype=np.float64)  # bar lengths [n]
    n = len(lengths)
    where = list(trace.y if horizontal else trace.x) if (trace.y if horizontal else trace.x) is not None \
        else list(range(n))
    base = np.asarray(_per_bar(trace.base, n, 0.0), dtype=np.float64)
    marker = trace.marker
    colors = _per_bar(marker.color, n, BLUE)
    edges = _per_bar(marker.line.color, n, "white")
    widths = [w * 0.75 for w in _per_bar(marker.line.width, n, 0)]  # plotly pixels -> points
    draw = ax.barh if horizontal else ax.bar
    bars = draw(where, lengths, 0.8, base, color=colors, edgecolor=edges, linewidth=widths)
    if horizontal:
        ax.margins(y=0.01)  # rows of bars (the merge steps): the 0.2 gap between rows is margin enough
    # Plotly hatches bars that a filter dropped, so they differ by more than colour; so does the print.
    for patch, shape in zip(bars, _per_bar(marker.pattern.shape, n, ""), strict=True):
        if shape:
            patch.set_hatch(shape * 2)
    if trace.text is not None:
        for position, start, length, label in zip(where, base, lengths, _per_bar(trace.text, n, ""), strict=True):
            centre = (start + length / 2, position) if horizontal else (position, start + length / 2)
            ax.text(*centre, plain_text(str(label)), ha="center", va="center", fontsize=8, color=TEXT,
                    **TEXT_OPTIONS)


def static_figure(fig: go.Figure) -> Figure:
    """A matplotlib Figure drawing `fig`'s first heatmap trace, or its bar traces, with its ticks and titles.

    Raises ValueError for a figure with neither (e.g. a subplot grid of several heatmaps: pick one head first).
    """
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    bars = [t for t in fig.data if t.type == "bar"]
    if not heatmaps and not bars:
        raise ValueError("static_figure draws a heatmap (attention_heatmap, ...) or bars (probability_bars, ...); "
                         f"this figure holds {sorted({t.type for t in fig.data})}.")
    layout = fig.layout
    width, height = (layout.width or 700) / 100, (layout.height or 500) / 100  # plotly pixels -> inches
    out = Figure(figsize=(width, height))
    FigureCanvasAgg(out)  # the canvas that renders to PNG, SVG and PDF; never a window
    ax = out.add_subplot()
    if heatmaps:
        _draw_heatmap(ax, heatmaps[0], layout)
    for trace in bars:
        _draw_bars(ax, trace)
    for axis, set_ticks, set_labels, set_limits, rotate in (
            (layout.xaxis, ax.set_xticks, ax.set_xlabel, ax.set_xlim, 45),
            (layout.yaxis, ax.set_yticks, ax.set_ylabel, ax.set_ylim, 0)):
        ticks = _ticks(axis)
        if ticks is not None:
            set_ticks(ticks[0], [plain_text(t) for t in ticks[1]], rotation=rotate, ha="right", **TEXT_OPTIONS)
        set_labels(plain_text(axis.title.text), **TEXT_OPTIONS)
        if axis.range is not None:
            set_limits(*axis.range)
    if not heatmaps and layout.yaxis.autorange == "reversed":
        ax.invert_yaxis()  # e.g. the merge steps: the bytes on top, as in the notebook
    # matplotlib clips a title wider than the figure; wrap it at about the characters that fit (12 pt: ~7 pt each)
    fits = max(20, int(width * 72 / 7))
    title = "\n".join(textwrap.fill(line, fits) for line in plain_text(layout.title.text).split("\n"))
    ax.set_title(title, loc="left", **TEXT_OPTIONS)
    out.tight_layout()
    return out


def save_static(fig: go.Figure, path: str | Path) -> Path:
    """Write `fig` as a print-ready image; the format comes from the suffix (.png, .svg or .pdf). Returns the path."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"Cannot write {path.name!r}: end the file name in {', '.join(FORMATS)}.")
    static_figure(fig).savefig(path, dpi=DPI)
    return path
