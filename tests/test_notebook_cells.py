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


# Every stage notebook (00-12): two or three exercises, each followed by its worked solution (a collapsed code cell
# tagged "solution" that asserts its answer), and a quiz of its own questions (llmviz.quiz.notebook_quiz) with a
# collapsed test cell that drives a second copy.
STAGE_NOTEBOOKS = ["00_tour", "01_tokenization", "02_embeddings", "03_positional_encoding", "04_attention",
                   "05_feed_forward", "06_layer_norm_and_residuals", "07_logits_and_softmax", "08_sampling",
                   "09_autoregressive_loop", "10_speculative_decoding", "11_detokenization", "12_interventions"]


@pytest.mark.parametrize("name", STAGE_NOTEBOOKS)
def test_stage_notebooks_have_exercises_with_hidden_asserted_solutions_and_a_quiz(name):
    cells = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    exercises = [i for i, c in enumerate(cells)
                 if c["cell_type"] == "markdown" and "".join(c["source"]).startswith("### Exercise")]
    assert 2 <= len(exercises) <= 3, f"{name}: {len(exercises)} exercises; give each notebook two or three"
    for i in exercises:
        title = "".join(cells[i]["source"]).splitlines()[0]
        solution = cells[i + 1] if i + 1 < len(cells) else {"cell_type": "none", "metadata": {}, "source": []}
        assert solution["cell_type"] == "code", f"{name}: {title!r} is not followed by its solution cell"
        assert "solution" in solution["metadata"].get("tags", []), f"{name}: {title!r}'s solution is not tagged"
        assert solution["metadata"].get("jupyter", {}).get("source_hidden"), f"{name}: {title!r}'s solution shows"
        assert "assert" in "".join(solution["source"]), f"{name}: {title!r}'s solution checks nothing"
    quiz_cells = [c for c in cells if c["cell_type"] == "code"
                  and re.search(rf'notebook_quiz\(\w+, "{name}"', "".join(c["source"]))]
    shown = [c for c in quiz_cells if "Quiz(" in "".join(c["source"]) and not is_test_cell(c)]
    driven = [c for c in cells if c["cell_type"] == "code" and "Quiz(" in "".join(c["source"]) and is_test_cell(c)
              and "test" in c["metadata"].get("tags", [])]
    assert shown and driven, f"{name}: the quiz is not shown, or no hidden test cell drives a second copy of it"
