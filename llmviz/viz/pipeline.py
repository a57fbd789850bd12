"""The pipeline diagram ("you are here"): every notebook's stage from text to text, one of them highlighted.

`pipeline_layout()` places one box per stage of `llmviz.course.STAGES` (geometry only, in SVG pixels, y down):
row 1 runs from the prompt's text through tokens, embeddings and positions into one transformer block (attention,
MLP, norm + residual, drawn inside a bracket that says it repeats), row 2 from the logits through sampling and the
loop to the output text, row 3 holds the notebooks that are not one stage (00 the tour, 10 the other way to run the
loop, 12 edits). `pipeline_svg(current)` draws that layout as a self-contained SVG string; `llmviz.viz.
pipeline_figure` draws the same layout with matplotlib for slides. Both read the same list, so the diagram cannot
drift from the course.

The SVG is accessible and needs nothing else: `role="img"` with a <title> naming the current stage and a <desc>
listing the stages in order; the current box differs from the others in fill (Okabe-Ito orange against light grey,
distinct in lightness too), border width and a "you are here" label, so colour is never the only cue. All text is
escaped. No scripts, no fonts or images fetched. It runs no model and reads no file.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape  # quotes too: text goes into attributes as well as elements

from llmviz.course import STAGES, Stage, stage
from llmviz.viz.style import FONT_FAMILY, ORANGE, TEXT

WIDTH = 960
BOX_W, BOX_H, GAP, PILL_W = 116, 56, 22, 80
ROW_Y = (44, 164, 276)           # top of each row's boxes; the space above row 1 and 2 holds "you are here"
SIDE_W = 290                     # row 3's wider boxes, which show their second line
HEIGHT = 370
FILL, HIGHLIGHT, STROKE = "#F3F3F3", ORANGE, "#555555"


@dataclass(frozen=True)
class Box:
    """One drawn box. `stage` is None for the text pills at both ends. x, y: top-left corner, in SVG pixels."""
    stage: Stage | None
    x: float
    y: float
    w: float
    h: float
    label: str
    sub: str = ""          # the other line: the notebook number above (rows 1-2), the stage's job below (row 3)
    dashed: bool = False   # not a stage of text -> text: the tour, speculative decoding, interventions


@dataclass(frozen=True)
class Layout:
    boxes: tuple[Box, ...]
    arrows: tuple[tuple[tuple[float, float], ...], ...]  # polylines, arrowhead at the last point
    bracket: tuple[float, float, float, float]           # x, y, w, h around one transformer block
    notes: tuple[tuple[float, float, str], ...]          # x, y (baseline, centred), text
    width: int = WIDTH
    height: int = HEIGHT


def _row(items, y) -> list[Box]:
    """Boxes left to right from x = 10: a str item is a text pill, a Stage a stage box."""
    boxes, x = [], 10.0
    for item in items:
        if isinstance(item, str):
            boxes.append(Box(None, x, y + 8, PILL_W, BOX_H - 16, item))
            x += PILL_W + GAP
        else:
            boxes.append(Box(item, x, y, BOX_W, BOX_H, item.short, item.number))
            x += BOX_W + GAP
    return boxes


def pipeline_layout(stages: tuple[Stage, ...] = STAGES) -> Layout:
    """Where every stage's box goes. Pipeline stages fill rows 1-2 in course order (six on row 1, then a turn);
    the others go on row 3 in course order."""
    chain = [s for s in stages if s.role == "pipeline"]
    side = [s for s in stages if s.role != "pipeline"]
    row1, row2 = _row(["prompt text", *chain[:6]], ROW_Y[0]), _row(["", *chain[6:], "output text"], ROW_Y[1])
    row2 = [b for b in row2 if b.label]  # the blank item only indents row 2 under row 1's first stage
    row3 = [Box(s, 10 + i * (SIDE_W + 30), ROW_Y[2], SIDE_W, BOX_H, f"{s.number} · {s.title}", s.turns, True)
            for i, s in enumerate(side)]
    arrows = [((a.x + a.w, a.y + a.h / 2), (b.x, b.y + b.h / 2)) for row in (row1, row2)
              for a, b in zip(row[:-1], row[1:], strict=True)]
    # The turn: out of row 1's right end, back left above row 2 (clear of its "you are here" label), in from the left.
    last, first = row1[-1], row2[0]
    turn_y, left = ROW_Y[1] - 34, first.x - GAP
    arrows.append(((last.x + last.w, last.y + last.h / 2), (WIDTH - 8, last.y + last.h / 2), (WIDTH - 8, turn_y),
                   (left, turn_y), (left, first.y + first.h / 2), (first.x, first.y + first.h / 2)))
    block = row1[-3:]
    bracket = (block[0].x - 8, ROW_Y[0] - 6, block[-1].x + block[-1].w - block[0].x + 16, BOX_H + 12)
    notes = [(bracket[0] + bracket[2] / 2, ROW_Y[0] + BOX_H + 22, "one transformer block, repeated for every layer")]
    loop = next((b for b in row2 if b.stage is not None and b.stage.notebook.startswith("09")), None)
    if loop is not None:
        notes.append((loop.x + loop.w / 2, loop.y + loop.h + 18, "↺ append the id, run again"))
    return Layout(tuple(row1 + row2 + row3), tuple(arrows), bracket, tuple(notes))


def _text(x, y, text, size=13, weight="normal", anchor="middle", style="normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" font-style="{style}" '
            f'text-anchor="{anchor}">{escape(text)}</text>')


def _box_svg(box: Box, current: Stage | None) -> list[str]:
    here = box.stage is not None and box.stage == current
    fill = HIGHLIGHT if here else ("#FFFFFF" if box.stage is None else FILL)
    dash = ' stroke-dasharray="6 4"' if box.dashed and not here else ""
    cls = "stage current" if here else ("stage" if box.stage is not None else "end")
    data = f' data-notebook="{escape(box.stage.notebook)}"' if box.stage is not None else ""
    tip = f"{box.stage.number} · {box.stage.title}: {box.stage.turns}" if box.stage is not None else box.label
    parts = [f'<g class="{cls}"{data}><title>{escape(tip)}</title>',
             f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" '
             f'rx="{8 if box.stage else 20}" fill="{fill}" stroke="{TEXT if here else STROKE}" '
             f'stroke-width="{3.5 if here else 1.2}"{dash}/>']
    weight = "bold" if here else "normal"
    cx = box.x + box.w / 2
    if box.dashed:
        parts += [_text(cx, box.y + 23, box.label, 14, weight), _text(cx, box.y + 42, box.sub, 12, style="italic")]
    elif box.sub:
        parts += [_text(cx, box.y + 21, box.sub, 12, weight), _text(cx, box.y + 40, box.label, 13.5, weight)]
    else:
        parts.append(_text(cx, box.y + box.h / 2 + 5, box.label, 13 if box.stage else 12, weight,
                           style="normal" if box.stage else "italic"))
    if here:
        parts.append(_text(cx, box.y - 12, "you are here ▼", 12, "bold"))
    parts.append("</g>")
    return parts


def current_stage(current: str | None, stages: tuple[Stage, ...] = STAGES) -> Stage | None:
    """The stage to highlight: None for None, else the one named (ValueError, listing the names, if none is)."""
    if current is None:
        return None
    found = [s for s in stages if s.notebook == current.removesuffix(".ipynb")]
    return found[0] if found else stage(current)  # stage() raises the error that lists the notebooks


def pipeline_svg(current: str | None = None, stages: tuple[Stage, ...] = STAGES) -> str:
    """The diagram as an SVG string, with notebook `current` (e.g. '04_attention') highlighted, or none if None.

    Scales to its container's width (viewBox, width 100%, at most WIDTH pixels). ValueError for an unknown name.
    """
    here = current_stage(current, stages)
    layout = pipeline_layout(stages)
    title = (f"Where you are: notebook {here.number}, {here.title} ({here.turns}), in the pipeline from text to text"
             if here else "The pipeline from text to text, one notebook per stage")
    order = "; ".join(f"{b.stage.number} {b.stage.title}" for b in layout.boxes if b.stage is not None)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="pipeline-title pipeline-desc" '
           f'viewBox="0 0 {layout.width} {layout.height}" width="100%" style="max-width:{layout.width}px" '
           f'font-family="{escape(FONT_FAMILY)}" fill="{TEXT}">',
           f'<title id="pipeline-title">{escape(title)}</title>',
           f'<desc id="pipeline-desc">Stages in order: {escape(order)}.</desc>',
           '<defs><marker id="pipeline-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{STROKE}"/></marker></defs>']
    bx, by, bw, bh = layout.bracket
    out.append(f'<rect x="{bx:.1f}" y="{by:.1f}" width="{bw:.1f}" height="{bh:.1f}" rx="12" fill="none" '
               f'stroke="{STROKE}" stroke-dasharray="3 3"/>')
    for points in layout.arrows:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{STROKE}" stroke-width="1.5" '
                   'marker-end="url(#pipeline-arrow)"/>')
    for x, y, text in layout.notes:
        out.append(_text(x, y, text, 12, style="italic"))
    for box in layout.boxes:
        out += _box_svg(box, here)
    if here is not None:
        out.append(_text(10, layout.height - 12, f"You are here: {here.number} · {here.title} — {here.turns}.",
                         14, "bold", anchor="start"))
    out.append("</svg>")
    return "\n".join(out)
