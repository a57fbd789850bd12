"""The cells that test a notebook stay out of the learner's way: collapsed, tagged, and still run by nbval.

A test cell drives a second copy of a notebook's widget (sets a slider's value, clicks a button) and asserts what the
figure then shows. Learners need not read it, so its source is collapsed (`jupyter.source_hidden`, which JupyterLab
honours) and it is tagged "test" (and "hide-input", which rendering tools read). nbval runs every code cell whatever
its metadata. The browser tier checks that JupyterLab shows these cells collapsed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DRIVES_A_WIDGET = re.compile(r"\.value\s*=|\.click\(|\.choose\(")


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def is_test_cell(cell: dict) -> bool:
    source = "".join(cell["source"])
    return bool(DRIVES_A_WIDGET.search(source)) and "assert" in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_that_drives_a_widget_copy_is_collapsed_and_tagged(path):
    for cell in code_cells(path):
        tags = cell["metadata"].get("tags", [])
        hidden = cell["metadata"].get("jupyter", {}).get("source_hidden", False)
        source = "".join(cell["source"]).splitlines()[0]
        if is_test_cell(cell):
            assert "test" in tags and hidden, f"{path.name}: a test cell is shown to learners: {source!r}"
        if "test" in tags:
            assert hidden, f"{path.name}: a cell tagged 'test' is not collapsed: {source!r}"
            assert "assert" in "".join(cell["source"]), f"{path.name}: a cell tagged 'test' checks nothing: {source!r}"


def test_the_notebooks_hold_test_cells_and_strip_keeps_their_metadata():
    assert sum(is_test_cell(c) for p in NOTEBOOKS for c in code_cells(p)) >= 13
    strip = re.search(r"^strip:.*?(?=^\S|\Z)", (ROOT / "Makefile").read_text(), re.S | re.M).group(0)
    for key in ("tags", "jupyter"):
        assert f"preserve_cell_metadata_mask={key}" in strip, f"`make strip` would erase the cells' {key!r} metadata"
