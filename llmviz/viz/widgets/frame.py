"""The frame at the top of every notebook: the pipeline diagram with this notebook's stage highlighted, and the shapes
of the running prompt at this stage for the model shown, with that model's real sizes.

`you_are_here("04_attention", lm)` returns a `Frame` that Jupyter displays as the SVG diagram
(`llmviz.viz.pipeline.pipeline_svg`) above one line such as

    Shapes here (tiny; T = 12 tokens for the running example "Once upon a time, ..."): embed [1, T, 64] → ...

The shapes come from `llmviz.course.STAGES` (which tensors this stage turns into which) and `llmviz.names` (each
capture's declared dimensions), filled in with the loaded model's sizes (`names.dims`); a capture this architecture
does not produce (hook_pos_embed in a Llama, hook_rot_q in GPT-2) is left out. It draws and formats only.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from llmviz import course, names
from llmviz.viz.pipeline import pipeline_svg

# How a dimension reads in the shape line: the prompt's length stays a symbol, head counts say what they count.
SYMBOLS = {"pos": "T", "query_pos": "T", "key_pos": "T", "pos+1": "T+1", "pos+k": "T+k", "k": "k"}
COUNTED = {"head": "heads", "kv_head": "kv heads"}


def _label(entry: str) -> str:
    """'blocks.{L}.attn.hook_q' -> 'attn.q', 'hook_embed' -> 'embed', 'ids' -> 'ids'."""
    return entry.removeprefix("blocks.{L}.").replace("hook_", "")


def render_shape(dims: str | None, sizes: dict[str, int]) -> str:
    """One shape in the frame's words: 'batch pos head d_head' -> '[1, T, 4 heads, 16]'; '' -> 'one id';
    None -> 'text'."""
    if dims is None:
        return "text"
    if not dims:
        return "one id"
    parts = []
    for dim in dims.split():
        if dim in SYMBOLS:
            parts.append(SYMBOLS[dim])
        elif dim in COUNTED:
            parts.append(f"{sizes[dim]} {COUNTED[dim]}")
        else:
            parts.append(str(sizes[dim]))
    return "[" + ", ".join(parts) + "]"


def stage_shapes(notebook: str, lm) -> list[tuple[str, str, str | None]]:
    """(label, shape, capture template or None) for every tensor the stage lists that `lm`'s architecture has,
    e.g. ('attn.q', '[1, T, 4 heads, 16]', 'blocks.{L}.attn.hook_q'). Sizes are read from `lm` (batch 1)."""
    sizes = names.dims(lm, batch=1, n_tokens=0)
    rows = []
    for entry in course.stage(notebook).shapes:
        if entry in course.SPECIAL_SHAPES:
            rows.append((entry, render_shape(course.SPECIAL_SHAPES[entry], sizes), None))
            continue
        spec = names.BY_TEMPLATE[entry]
        if lm.architecture in spec.sources:
            rows.append((_label(entry), render_shape(spec.shape_for(lm.architecture), sizes), entry))
    return rows


def shape_line(notebook: str, lm) -> str:
    """The frame's one line of shapes, e.g. 'text → ids [1, T] → embed [1, T, 64]' or '... → next_id (one id)'."""
    words = {"text": "", "one id": " (one id)"}
    return " → ".join(label + words.get(shape, f" {shape}") for label, shape, _ in stage_shapes(notebook, lm))


@dataclass(frozen=True)
class Frame:
    """What `you_are_here` returns: `svg` (the diagram), `shapes` (stage_shapes' rows), `line` (shape_line),
    `model` (the loaded model's name), `running_tokens` (T for the running example, course.RUNNING_PROMPT, on that
    model). Displays as HTML in Jupyter and as text elsewhere."""
    notebook: str
    svg: str
    shapes: tuple[tuple[str, str, str | None], ...]
    line: str
    model: str
    running_tokens: int

    def _where(self) -> str:
        return (f"{self.model}; T = {self.running_tokens} tokens for the running example "
                f"\"{course.RUNNING_PROMPT}\", layer L of every block")

    def _repr_html_(self) -> str:
        return (f'<div class="llmviz-frame">{self.svg}<p style="font-size:15px;margin:4px 0 0 10px">'
                f"<b>Shapes here</b> ({html.escape(self._where())}): {html.escape(self.line)}</p></div>")

    def __repr__(self) -> str:
        return f"You are here: {course.stage(self.notebook).title}. Shapes ({self._where()}): {self.line}"


def you_are_here(notebook: str, lm) -> Frame:
    """The frame for `notebook` (e.g. '04_attention') with the shapes of `lm`, the model the notebook shows."""
    return Frame(notebook, pipeline_svg(notebook), tuple(stage_shapes(notebook, lm)), shape_line(notebook, lm),
                 lm.name, lm.to_tokens(course.RUNNING_PROMPT).shape[1])
