"""course.py: the list of stages matches the notebooks on disk, every notebook opens with its frame (the header text
from the list, and a `you_are_here` call with its own name), the model the list names is the one the notebook
loads, and the glossary covers every capture name and both meanings of "cache"."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from llmviz import course, names

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if p.stem not in course.REVIEW_NOTEBOOKS)
GLOSSARY = (ROOT / "notebooks" / course.GLOSSARY).resolve()
FIRST_CELLS = 6  # "the top": the frame's call sits among a notebook's first cells


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def loaded_model(path: Path) -> str:
    """What the notebook itself loads first, read from its code (not from course.py): llmviz.load("tiny") is 'tiny';
    prompt_model() and default_model() (SmolLM2 when set up) are 'smollm2'."""
    for cell in cells(path):
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse(source(cell))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if func in ("prompt_model", "default_model"):
                return "smollm2"
            if func == "load" and node.args and isinstance(node.args[0], ast.Constant):
                return {"tiny": "tiny", "smollm2-135m": "smollm2"}[node.args[0].value]
    raise AssertionError(f"{path.name} loads no model")


def test_every_stage_has_its_notebook_and_every_notebook_its_stage():
    assert [s.notebook for s in course.STAGES] == [p.stem for p in NOTEBOOKS]
    assert all((ROOT / "notebooks" / f"{name}.ipynb").exists() for name in course.REVIEW_NOTEBOOKS)
    assert len({s.short for s in course.STAGES}) == len(course.STAGES)
    for stage in course.STAGES:
        assert stage.role in course.ROLES and stage.minutes > 0 and len(stage.objectives) == 3
        for entry in stage.shapes:
            assert entry in course.SPECIAL_SHAPES or entry in names.BY_TEMPLATE, (stage.notebook, entry)


def test_the_course_list_imports_nothing_from_llmviz():
    """The pipeline builders in llmviz.viz import it, and they may import no model code."""
    tree = ast.parse((ROOT / "llmviz" / "course.py").read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)] + \
               [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m and m.split(".")[0] == "llmviz"]


def test_bad_names_say_which_notebooks_exist():
    with pytest.raises(ValueError, match="04_attention"):
        course.stage("04_attention_typo")
    assert course.stage("04_attention.ipynb").number == "04"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_opens_with_its_frame(path):
    first = cells(path)[0]
    assert first["cell_type"] == "markdown" and source(first) == course.frame_markdown(path.stem), \
        f"{path.name}'s first cell is not course.frame_markdown({path.stem!r}); paste that text in"
    calls = [i for i, cell in enumerate(cells(path)[:FIRST_CELLS]) if cell["cell_type"] == "code"
             and re.search(rf'\byou_are_here\("{path.stem}", \w+\)', source(cell))]
    assert calls, f"{path.name} does not call you_are_here({path.stem!r}, lm) in its first {FIRST_CELLS} cells"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_model_line_names_the_model_the_notebook_loads(path):
    assert course.stage(path.stem).model == loaded_model(path)


def test_the_model_change_line_appears_exactly_where_the_loaded_model_changes():
    loaded = [loaded_model(p) for p in NOTEBOOKS]
    for i, path in enumerate(NOTEBOOKS):
        changed = i > 0 and loaded[i] != loaded[i - 1]
        assert ("**Model change:**" in source(cells(path)[0])) == changed, path.name
    assert sum(1 for i in range(1, len(loaded)) if loaded[i] != loaded[i - 1]) >= 2  # 00 -> 01, 06 -> 07, ...


def test_the_glossary_exists_and_every_notebook_links_it():
    assert GLOSSARY.is_file(), GLOSSARY
    for path in NOTEBOOKS:
        assert f"]({course.GLOSSARY})" in source(cells(path)[0]), path.name


def test_the_glossary_names_every_capture_and_both_caches():
    text = GLOSSARY.read_text()
    missing = [spec.template for spec in names.NAMES if f"`{spec.template}`" not in text]
    assert not missing, f"captures missing from docs/glossary.md: {missing}"
    missing = [label for label in course.SPECIAL_SHAPES if f"`{label}`" not in text]
    assert not missing, f"shape-line labels missing from docs/glossary.md: {missing}"
    assert "**Activation cache**" in text and "**KV cache**" in text


def test_every_stage_follows_the_running_example_unless_it_says_why_not():
    """Wherever the stage allows, a notebook runs course.RUNNING_PROMPT by name (so the sentence cannot drift apart
    between notebooks) and its text names it as the running example; OWN_PROMPTS lists the others with a reason."""
    assert set(course.OWN_PROMPTS) <= set(course.BY_NOTEBOOK) and all(course.OWN_PROMPTS.values())
    for path in NOTEBOOKS:
        code = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "code")
        text = "\n".join(source(c) for c in cells(path)[1:] if c["cell_type"] == "markdown")
        uncommented = "\n".join(line.split("#")[0] for line in code.splitlines())
        assert course.RUNNING_PROMPT not in uncommented, f"{path.name} spells out the running example in code"
        if path.stem in course.OWN_PROMPTS:
            continue
        assert re.search(r"\bRUNNING_PROMPT\b", code), f"{path.name} does not run course.RUNNING_PROMPT"
        assert "running example" in text and course.RUNNING_PROMPT in text, \
            f"{path.name} does not introduce the running example, *{course.RUNNING_PROMPT}*, in its text"
