"""The pipeline diagram: one box per stage of course.STAGES, exactly one highlighted (by fill, border and label), a
well-formed accessible SVG with nothing to fetch and every text escaped; the matplotlib figure and `llmviz figure
pipeline` draw the same boxes."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from llmviz import course
from llmviz.cli import main
from llmviz.viz.pipeline import HIGHLIGHT, pipeline_layout, pipeline_svg
from llmviz.viz.pipeline_figure import pipeline_figure, save_pipeline

SVG = "{http://www.w3.org/2000/svg}"


def stage_groups(svg: str) -> list[ET.Element]:
    return [g for g in ET.fromstring(svg).iter(f"{SVG}g") if "stage" in g.get("class", "").split()]


@pytest.mark.parametrize("stage", course.STAGES, ids=lambda s: s.notebook)
def test_exactly_the_current_stage_is_highlighted(stage):
    svg = pipeline_svg(stage.notebook)
    root = ET.fromstring(svg)  # well-formed XML
    assert root.get("role") == "img" and root.get("aria-labelledby")
    assert f"notebook {stage.number}, {stage.title}" in root.find(f"{SVG}title").text
    groups = stage_groups(svg)
    assert sorted(g.get("data-notebook") for g in groups) == sorted(s.notebook for s in course.STAGES)
    current = [g for g in groups if "current" in g.get("class").split()]
    assert [g.get("data-notebook") for g in current] == [stage.notebook]
    fills = [g.find(f"{SVG}rect").get("fill") for g in groups]
    assert fills.count(HIGHLIGHT) == 1  # colour is one cue; the label below is another
    assert any(t.text == "you are here ▼" for t in current[0].iter(f"{SVG}text"))


def test_no_stage_is_highlighted_without_a_current_one():
    groups = stage_groups(pipeline_svg())
    assert not [g for g in groups if "current" in g.get("class").split()]


def test_the_svg_fetches_nothing_and_runs_nothing():
    svg = pipeline_svg("04_attention")
    assert svg.count("http") == 1 and 'xmlns="http://www.w3.org/2000/svg"' in svg
    for tag in ("<script", "<image", "href=", "<foreignObject", "@import", "url(http"):
        assert tag not in svg


def test_every_text_is_escaped():
    evil = dataclasses.replace(course.stage("04_attention"), title='<b>"A" & B</b>', short="<i>x</i>")
    stages = tuple(evil if s.notebook == "04_attention" else s for s in course.STAGES)
    svg = pipeline_svg("04_attention", stages)
    root = ET.fromstring(svg)
    assert "<b>" not in svg and "<i>" not in svg
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "<i>x</i>" in texts and any('<b>"A" & B</b>' in t for t in texts)


def test_an_unknown_stage_is_a_clear_error():
    with pytest.raises(ValueError, match="not a notebook of the course"):
        pipeline_svg("13_nothing")


def test_the_layout_keeps_pipeline_order_and_places_every_stage_once():
    layout = pipeline_layout()
    placed = [b.stage.notebook for b in layout.boxes if b.stage is not None]
    assert sorted(placed) == sorted(s.notebook for s in course.STAGES)
    chain = [b for b in layout.boxes if b.stage is not None and b.stage.role == "pipeline"]
    assert [b.stage.notebook for b in chain] == [s.notebook for s in course.STAGES if s.role == "pipeline"]
    for box in layout.boxes:  # inside the drawing
        assert 0 <= box.x and box.x + box.w <= layout.width and 0 <= box.y and box.y + box.h <= layout.height


def test_the_static_figure_draws_the_same_boxes_and_highlights_one():
    fig = pipeline_figure("05_feed_forward")
    texts = [t.get_text() for t in fig.axes[0].texts]
    for stage in course.STAGES:
        assert stage.short in texts or f"{stage.number} · {stage.title}" in texts, stage.notebook
    faces = [p.get_facecolor() for p in fig.axes[0].patches]
    from matplotlib.colors import to_rgba
    assert faces.count(to_rgba(HIGHLIGHT)) == 1
    assert "you are here ▼" in texts


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_save_pipeline_writes_each_format(tmp_path, suffix, magic):
    path = save_pipeline(tmp_path / f"pipeline{suffix}", current="09_autoregressive_loop")
    assert path.read_bytes().startswith(magic)


def test_save_pipeline_refuses_an_unknown_format(tmp_path):
    with pytest.raises(ValueError, match=".png, .svg, .pdf"):
        save_pipeline(tmp_path / "pipeline.gif")


def test_llmviz_figure_pipeline_needs_no_model_or_prompt(tmp_path, capsys):
    out = tmp_path / "pipeline.svg"
    assert main(["figure", "pipeline", "-o", str(out), "--stage", "04_attention"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out and out.read_bytes().startswith(b"<?xml")
    assert main(["figure", "pipeline", "-o", str(out), "--stage", "99_nope"]) == 2
    assert "not a notebook of the course" in capsys.readouterr().err
    assert main(["figure", "attention", "-o", str(tmp_path / "a.png")]) == 2  # the other kinds still need a prompt
    assert "needs a prompt" in capsys.readouterr().err
