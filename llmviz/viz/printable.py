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

import re
from pathlib import Path

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from llmviz.viz.style import MASKED, MASKED_SIGNED

FORMATS = (".png", ".svg", ".pdf")
DPI = 200  # print resolution for PNG; plotly's pixel sizes become inches at 100 per inch
_TAG = re.compile(r"<[^>]+>")


def plain_text(text: str | None) -> str:
    """Plotly title markup as plain text: '<br>' becomes a new line, other tags go."""
    return _TAG.sub("", (text or "").replace("<br>", "\n"))


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
    ax.figure.colorbar(image, ax=ax)


def _draw_bars(ax, trace: go.Bar) -> None:
    heights = np.asarray(trace.y, dtype=np.float64)
    x = list(trace.x) if trace.x is not None else list(range(len(heights)))
    color = trace.marker.color if trace.marker is not None and trace.marker.color is not None else "#0072B2"
    ax.bar(x, heights, color=list(color) if not isinstance(color, str) else color)


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
    for axis, set_ticks, set_labels, rotate in ((layout.xaxis, ax.set_xticks, ax.set_xlabel, 45),
                                                (layout.yaxis, ax.set_yticks, ax.set_ylabel, 0)):
        ticks = _ticks(axis)
        if ticks is not None:
            set_ticks(ticks[0], ticks[1], rotation=rotate, ha="right")
        set_labels(plain_text(axis.title.text))
    ax.set_title(plain_text(layout.title.text))
    out.tight_layout()
    return out


def save_static(fig: go.Figure, path: str | Path) -> Path:
    """Write `fig` as a print-ready image; the format comes from the suffix (.png, .svg or .pdf). Returns the path."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"Cannot write {path.name!r}: end the file name in {', '.join(FORMATS)}.")
    static_figure(fig).savefig(path, dpi=DPI)
    return path
