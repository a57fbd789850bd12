"""The pipeline diagram as a print-ready image (PNG, SVG or PDF) for slides, drawn by matplotlib.

It draws `llmviz.viz.pipeline.pipeline_layout()`, the very boxes, arrows and notes the notebooks' SVG shows, so a
slide and a notebook cannot disagree about the course. Like `llmviz.viz.printable`, it uses matplotlib's object
API and the Agg canvas only (no pyplot, nothing displayed), and it runs no model.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from llmviz.course import STAGES, Stage
from llmviz.viz.pipeline import FILL, HIGHLIGHT, STROKE, current_stage, pipeline_layout
from llmviz.viz.printable import DPI, FORMATS
from llmviz.viz.style import TEXT

PIXELS_PER_INCH = 100  # the layout's SVG pixels; 960 wide -> 9.6 inches
POINTS = 72 / PIXELS_PER_INCH  # an SVG font size in pixels, as matplotlib points at this scale


def pipeline_figure(current: str | None = None, stages: tuple[Stage, ...] = STAGES) -> Figure:
    """A matplotlib Figure of the pipeline, notebook `current` (e.g. '04_attention') highlighted, or none."""
    here = current_stage(current, stages)
    layout = pipeline_layout(stages)
    fig = Figure(figsize=(layout.width / PIXELS_PER_INCH, layout.height / PIXELS_PER_INCH))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, layout.width)
    ax.set_ylim(layout.height, 0)  # the layout's y runs down, as in SVG
    ax.set_axis_off()

    def text(x, y, s, size, weight="normal", style="normal", ha="center"):
        ax.text(x, y, s, fontsize=size * POINTS, fontweight=weight, fontstyle=style, ha=ha, va="baseline",
                color=TEXT)

    bx, by, bw, bh = layout.bracket
    ax.add_patch(FancyBboxPatch((bx, by), bw, bh, boxstyle="round,pad=0,rounding_size=12", fill=False,
                                edgecolor=STROKE, linestyle=(0, (3, 3))))
    for points in layout.arrows:
        ax.plot([p[0] for p in points[:-1]], [p[1] for p in points[:-1]], color=STROKE, linewidth=1.2)
        ax.add_patch(FancyArrowPatch(points[-2], points[-1], arrowstyle="-|>", mutation_scale=12, color=STROKE,
                                     linewidth=1.2, shrinkA=0, shrinkB=0))
    for x, y, note in layout.notes:
        text(x, y, note, 12, style="italic")
    for box in layout.boxes:
        current_box = box.stage is not None and box.stage == here
        face = HIGHLIGHT if current_box else ("white" if box.stage is None else FILL)
        ax.add_patch(FancyBboxPatch((box.x, box.y), box.w, box.h, facecolor=face,
                                    boxstyle=f"round,pad=0,rounding_size={8 if box.stage else 20}",
                                    edgecolor=TEXT if current_box else STROKE, linewidth=2.5 if current_box else 0.9,
                                    linestyle=(0, (6, 4)) if box.dashed and not current_box else "solid"))
        weight, cx = ("bold" if current_box else "normal"), box.x + box.w / 2
        if box.dashed:
            text(cx, box.y + 23, box.label, 14, weight)
            text(cx, box.y + 42, box.sub, 12, style="italic")
        elif box.sub:
            text(cx, box.y + 21, box.sub, 12, weight)
            text(cx, box.y + 40, box.label, 13.5, weight)
        else:
            text(cx, box.y + box.h / 2 + 5, box.label, 12, style="italic")
        if current_box:
            text(cx, box.y - 12, "you are here ▼", 12, "bold")
    if here is not None:
        text(10, layout.height - 12, f"You are here: {here.number} · {here.title} — {here.turns}.", 14, "bold",
             ha="left")
    return fig


def save_pipeline(path: str | Path, current: str | None = None) -> Path:
    """Write the pipeline diagram as an image; the format comes from the suffix (.png, .svg or .pdf)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"Cannot write {path.name!r}: end the file name in {', '.join(FORMATS)}.")
    pipeline_figure(current).savefig(path, dpi=DPI)
    return path
