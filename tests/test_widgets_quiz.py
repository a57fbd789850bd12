"""The Quiz widget, driven as a learner and the notebook's test cells drive it: choose, press Check, read the grade;
the explanation appears only after answering; bad input is shown inside the question; the export writes a file."""

from __future__ import annotations

import csv
import json

import ipywidgets as widgets
import pytest

import llmviz
from llmviz.quiz import MultipleChoice, Numeric, course_quiz
from llmviz.viz.widgets.quiz import QuestionCard, Quiz

EXPLANATION = "Dividing by a temperature below 1 stretches the gaps."


def questions():
    return [MultipleChoice("temp", "softmax", "Higher or lower?", ("higher", "lower"), 0, EXPLANATION),
            Numeric("bytes", "loop", "How many bytes?", 89600, "2 × layers × ...", unit="bytes"),
            Numeric("ratio", "softmax", "How many times?", 1.27, "e^(gap)", tolerance=0.02)]


def shown_text(widget) -> str:
    """Every HTML value and printed output inside a widget tree: what a learner could read."""
    if isinstance(widget, widgets.Box):
        return "\n".join(shown_text(child) for child in widget.children)
    if isinstance(widget, widgets.HTML):
        return widget.value
    if isinstance(widget, widgets.Output):
        return "".join(o.get("text", "") for o in widget.outputs)
    return ""


def test_explanation_appears_only_after_checking_and_the_answer_locks():
    quiz = Quiz(questions(), title="Q", model="tiny")
    card = quiz.cards[0]
    assert EXPLANATION not in shown_text(quiz) and card.feedback.value == ""
    card.answer.value = "higher"
    card.check.click()
    assert card.grade.correct and "✔ Right." in card.feedback.value and EXPLANATION in card.feedback.value
    assert card.answer.disabled and card.check.disabled
    card.answer.value = "lower"  # a locked question keeps its first answer
    card.check.click()
    assert card.grade.correct and quiz.sheet.grades["temp"].response == "higher"
    assert "Score: 1 right of 1 answered" in quiz.score.value and "2 still open" in quiz.score.value


def test_a_wrong_answer_shows_the_right_one_and_counts_as_wrong():
    quiz = Quiz(questions())
    card = quiz.cards[1]
    card.answer.value = "90,000"
    card.check.click()
    assert not card.grade.correct and "Not quite" in card.feedback.value and "89,600 bytes" in card.feedback.value
    quiz.cards[2].answer.value = "1.28"
    quiz.cards[2].check.click()
    assert quiz.cards[2].grade.correct and "Score: 1 right of 2 answered" in quiz.score.value


@pytest.mark.parametrize("index, typed, message", [(0, None, "No answer chosen"), (1, "", "No answer typed"),
                                                   (1, "ninety", "not a number")])
def test_bad_input_is_shown_inside_the_question_not_raised(index, typed, message):
    quiz = Quiz(questions())
    card = quiz.cards[index]
    if typed is not None:
        card.answer.value = typed
    card.check.click()  # must not raise
    assert message in card.output.outputs[0]["text"] and card.grade is None and card.feedback.value == ""
    assert not card.check.disabled and quiz.sheet.score == (0, 0, 3)
    card.answer.value = "higher" if index == 0 else "89600"
    card.check.click()
    assert card.grade.correct and card.output.outputs == ()


def test_every_control_has_an_accessible_name():
    quiz = Quiz(questions())
    controls = [quiz.name, quiz.file_format, quiz.export_button]
    controls += [c for card in quiz.cards for c in (card.answer, card.check)]
    assert all(control.description.strip() for control in controls)
    assert len({card.check.description for card in quiz.cards}) == len(quiz.cards)  # "Check 1", "Check 2", ...


def test_export_writes_the_answers_next_to_the_notebook_and_says_where(tmp_path):
    quiz = Quiz(questions(), title="Course quiz", model="tiny", folder=tmp_path)
    quiz.cards[0].answer.value = "lower"
    quiz.cards[0].check.click()
    quiz.name.value = 'Bo "<b>x</b>'
    quiz.export_button.click()
    [path] = list(tmp_path.iterdir())
    assert quiz.output.outputs == () and str(path) in quiz.saved.value and "<b>x</b>" not in quiz.saved.value
    rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    assert [r["question"] for r in rows] == ["temp", "bytes", "ratio"] and rows[0]["learner"] == 'Bo "<b>x</b>'
    assert (rows[0]["response"], rows[0]["correct"]) == ("lower", "no") and rows[1]["response"] == ""
    quiz.file_format.value = "json"
    quiz.export_button.click()
    data = json.loads(max(tmp_path.glob("*.json")).read_text(encoding="utf-8"))
    assert data["score"] == {"right": 0, "answered": 1, "questions": 3} and data["model"] == "tiny"
    quiz.folder = tmp_path / "gone"
    quiz.export_button.click()  # an export that fails says why inside the widget
    assert "does not exist" in quiz.output.outputs[0]["text"]


def test_a_quiz_needs_distinct_questions():
    with pytest.raises(ValueError, match="different ids"):
        Quiz(questions() + questions()[:1])
    with pytest.raises(ValueError, match="at least one"):
        Quiz([])
    assert isinstance(QuestionCard(1, questions()[1]).answer, widgets.Text)


def test_the_course_quiz_on_the_shipped_model_scores_full_marks_when_answered_right():
    lm, draft = llmviz.load("tiny"), llmviz.load("tiny-draft")
    quiz = Quiz(course_quiz(lm, draft), title="Course quiz", model=lm.name)
    assert len(quiz.cards) == 16
    for card in quiz.cards:
        q = card.question
        card.answer.value = q.expected if isinstance(q, MultipleChoice) else f"{q.answer}"
        card.check.click()
    assert quiz.sheet.score == (16, 16, 16) and "Score: 16 right of 16 answered" in quiz.score.value
