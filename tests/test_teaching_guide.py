"""docs/teaching.md: every notebook section and every "Predict, then reveal" checkpoint the teachers' guide cites
exists in today's notebooks, and every checkpoint of notebooks 00-12 is cited.

The guide cites in one format, so that this test can read it without guessing:

- a notebook by its file name in backticks, `04_attention`;
- a section as `section 6 "Predict, then reveal"`: the number when the heading has one, then the heading's text, or
  its text before ": " ("Top-p (nucleus)"); several as `sections 2 "A", 4 "B" and 7 "C"`;
- a checkpoint as `checkpoint "a phrase from its question"`; several as `checkpoints "…", "…" and "…"`;
- a title or phrase that holds a straight quote goes in curly quotes: “"dog bites man" and …”.

A citation belongs to the last notebook named before it in the same table row, paragraph or list item. A phrase
matches a checkpoint when it occurs, after dropping markdown's `*` and backticks, in exactly one "Predict, then
reveal" section of that notebook: its heading, markdown and code up to the next heading, which is where the
PredictReveal (or the helper that builds it) and the question shown to the learner live. No model runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from llmviz import course

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "teaching.md"
NOTEBOOKS = ROOT / "notebooks"
CHECKPOINT_HEADING = "Predict, then reveal"

NOTEBOOK = re.compile(r"`(\d\d_[a-z_]+)`")
TITLE = r'(?:"[^"]+"|“[^”]+”)'
ITEM = rf"(?:\d+\s+)?{TITLE}"
SEPARATOR = r"(?:\s*\([^)]*\))?(?:,\s+and\s+|,\s+|\s+and\s+)"      # an aside in brackets may follow an item
CITATION = re.compile(rf"\b(sections?|checkpoints?)\s+({ITEM}(?:{SEPARATOR}{ITEM})*)")
ONE_ITEM = re.compile(rf"(?:(\d+)\s+)?({TITLE})")
# What a citation looks like when it lost part of its format: "section 4" with no title, a numbered title with no
# "section" before it. Each must lie inside a parsed citation.
HALF_CITATIONS = re.compile(r'\bsections?\s+(?:\d|"|“)|\b\d+\s+(?:"|“)|\bcheckpoints?\s+(?:"|“)')
NUMBERED = re.compile(r"^(\d+) · (.*)$")
CODE_SPAN = re.compile(r"`[^`]+`")


@dataclass
class Citation:
    notebook: str
    kind: str                    # "section" or "checkpoint"
    number: str | None
    text: str
    where: str                   # the start of the guide's row or paragraph, for the failure message


@dataclass
class Section:
    heading: str                 # without the #s, e.g. "6 · Predict, then reveal"
    body: list[str] = field(default_factory=list)   # markdown after the heading, and the code cells under it

    @property
    def number_and_title(self) -> tuple[str | None, str]:
        match = NUMBERED.match(self.heading)
        return (match[1], match[2]) if match else (None, self.heading)


def normalized(text: str) -> str:
    """Case, whitespace, markdown emphasis and typographic apostrophes do not change what a phrase says."""
    text = text.replace("*", "").replace("`", "").replace("’", "'")
    return " ".join(text.split()).casefold()


def sections(notebook: str) -> list[Section]:
    """The notebook as a run of sections: every markdown heading (outside fenced code) starts one."""
    found = [Section("")]
    for cell in json.loads((NOTEBOOKS / f"{notebook}.ipynb").read_text())["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] != "markdown":
            found[-1].body.append(text)
            continue
        fenced = False
        for line in text.splitlines():
            fenced ^= line.startswith("```")
            heading = re.match(r"#{1,6}\s+(.*)", line)
            if heading and not fenced:
                found.append(Section(heading[1].strip()))
            else:
                found[-1].body.append(line)
    return found[1:]


def checkpoints(notebook: str) -> list[Section]:
    return [s for s in sections(notebook) if CHECKPOINT_HEADING in s.heading]


def units(guide: str) -> list[str]:
    """Table rows, list items and paragraphs: the span a notebook name carries over to later citations. Inline code
    other than a notebook's name is code, not a citation (the note on this format quotes it)."""
    found, current = [], []
    for line in guide.splitlines() + [""]:
        starts_new = not line.strip() or line.startswith("|") or re.match(r"\s*[-*] ", line)
        if starts_new and current:
            found.append(CODE_SPAN.sub(lambda m: m[0] if NOTEBOOK.fullmatch(m[0]) else "`code`", " ".join(current)))
            current = []
        if line.strip():
            current.append(line.strip())
    return found


def parse(guide: str) -> tuple[list[Citation], list[str]]:
    """Every citation in the guide, and every problem with the format itself (a citation with no notebook before
    it, a half citation)."""
    citations, problems = [], []
    for unit in units(guide):
        covered = [False] * len(unit)
        for match in CITATION.finditer(unit):
            covered[match.start():match.end()] = [True] * (match.end() - match.start())
            before = NOTEBOOK.findall(unit[:match.start()])
            if not before:
                problems.append(f"{match[0]!r} names no notebook before it: {unit[:120]!r}")
                continue
            kind = match[1].rstrip("s")
            for number, title in ONE_ITEM.findall(match[2]):
                citations.append(Citation(before[-1], kind, number or None, title[1:-1], unit[:120]))
        problems += [f"{m[0]!r} is not in the citation format: {unit[:120]!r}"
                     for m in HALF_CITATIONS.finditer(unit) if not covered[m.start()]]
    return citations, problems


def find_section(citation: Citation) -> str | None:
    """None when the notebook has the cited heading, else what went wrong."""
    headings = [s.number_and_title for s in sections(citation.notebook)]
    numbers = [number for number, title in headings if citation.text in (title, title.split(": ")[0])]
    if citation.number in numbers:
        return None
    if numbers:
        return f"heading {citation.text!r} is numbered {numbers}, the guide says {citation.number}"
    return f"no heading {citation.text!r}; its headings are {[t for _, t in headings]}"


def matching_checkpoints(notebook: str, phrase: str) -> list[int]:
    """Which of the notebook's checkpoint sections (by index: 12 has four headed alike) hold the phrase."""
    return [i for i, s in enumerate(checkpoints(notebook))
            if normalized(phrase) in normalized(" ".join([s.heading, *s.body]))]


GUIDE_CITATIONS, FORMAT_PROBLEMS = parse(GUIDE.read_text())


def test_the_guide_cites_in_the_format_this_test_reads():
    assert FORMAT_PROBLEMS == []
    assert {c.kind for c in GUIDE_CITATIONS} == {"section", "checkpoint"}    # the parser found both kinds


def test_every_notebook_the_guide_names_exists():
    named = set(NOTEBOOK.findall(GUIDE.read_text()))
    assert named and {n for n in named if not (NOTEBOOKS / f"{n}.ipynb").exists()} == set()


@pytest.mark.parametrize("citation", [c for c in GUIDE_CITATIONS if c.kind == "section"],
                         ids=lambda c: f"{c.notebook}:{c.text}")
def test_every_cited_section_exists(citation):
    assert find_section(citation) is None, f"{citation.notebook}: {find_section(citation)} (in {citation.where!r})"


@pytest.mark.parametrize("citation", [c for c in GUIDE_CITATIONS if c.kind == "checkpoint"],
                         ids=lambda c: f"{c.notebook}:{c.text[:30]}")
def test_every_cited_checkpoint_is_one_predict_then_reveal(citation):
    found = matching_checkpoints(citation.notebook, citation.text)
    assert len(found) == 1, (f"{citation.notebook}: the phrase {citation.text!r} is in {len(found)} of its "
                             f"{CHECKPOINT_HEADING!r} sections, not 1 (in {citation.where!r})")


@pytest.mark.parametrize("notebook", [stage.notebook for stage in course.STAGES])
def test_every_checkpoint_of_every_stage_notebook_is_cited(notebook):
    """The guide says notebooks 00-12 each have checkpoints, and its plans pause on them: a checkpoint added to a
    notebook, or one whose question changed, must reach the guide too."""
    cited = [c.text for c in GUIDE_CITATIONS if c.kind == "checkpoint" and c.notebook == notebook]
    sections_cited = {index for phrase in cited for index in matching_checkpoints(notebook, phrase)}
    found = checkpoints(notebook)
    assert found, f"{notebook} has no {CHECKPOINT_HEADING!r} section"
    assert len(sections_cited) == len(found), (f"{notebook} has {len(found)} checkpoints; the guide cites "
                                               f"{len(cited)}: {cited}")


def test_the_parser_reads_each_form_and_refuses_a_half_citation():
    """The rules above, on made-up text: a wrong parser would make every other test pass vacuously."""
    text = ('| 1 | `04_attention` | sections 3 "Recompute" (the mask), 7 "Explore" and “"it"” | checkpoint "row 0" |\n'
            "\nSee `08_sampling`, section \"Top-p (nucleus)\",\nand its checkpoints \"a\", \"b\" and \"c\".\n"
            "\n- `01_tokenization` section 4 about nothing, and `section 9 \"in code\"` is not a citation\n")
    citations, problems = parse(text)
    assert [(c.notebook, c.kind, c.number, c.text) for c in citations] == [
        ("04_attention", "section", "3", "Recompute"), ("04_attention", "section", "7", "Explore"),
        ("04_attention", "section", None, '"it"'), ("04_attention", "checkpoint", None, "row 0"),
        ("08_sampling", "section", None, "Top-p (nucleus)"), ("08_sampling", "checkpoint", None, "a"),
        ("08_sampling", "checkpoint", None, "b"), ("08_sampling", "checkpoint", None, "c")]
    assert len(problems) == 1 and "section 4" in problems[0]
    assert parse('A checkpoint "x" with no notebook.')[1] != []
