"""`export_trace`: one prompt's run written as a single self-contained, interactive HTML file.

It checks the output path first (so a typo costs no forward pass), builds the numbers with trace_data.py, the page
with trace_page.py, and writes the file. The file needs no other file and makes no network request: send it,
put it on a course page, or open it on a phone.
"""

from __future__ import annotations

import os
from pathlib import Path

from llmviz.export.trace_data import trace_data
from llmviz.export.trace_page import trace_html


def check_output_path(path) -> Path:
    """The path to write, or a ValueError/FileNotFoundError saying what is wrong with it and what to do."""
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise ValueError(f"The output path must be a file name such as trace.html, not {path!r}.")
    path = Path(path).expanduser()
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"The trace is an HTML page: give the output a name ending in .html (got {str(path)!r}).")
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a folder; give a file name inside it, e.g. {str(path / 'trace.html')!r}.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"The folder {str(path.parent)!r} does not exist; create it first or write the trace "
                                "somewhere else.")
    return path


def export_trace(lm, prompt: str, path, generate_tokens: int = 0, top_k: int = 200) -> Path:
    """Write `prompt`'s trace on `lm` to `path` (an .html file) and return the path. generate_tokens adds a short
    greedy continuation with each step's top candidates; top_k is how many of the last position's logits are
    kept for the page's temperature slider (its softmax runs over those only, and the page says so)."""
    path = check_output_path(path)
    html = trace_html(trace_data(lm, prompt, generate_tokens=generate_tokens, top_k=top_k))
    path.write_text(html, encoding="utf-8")
    return path
