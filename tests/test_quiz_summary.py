"""llmviz.quiz.summary: a class's exports summed per learner, objective and question, counted here by hand."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from llmviz.quiz import AnswerSheet, MultipleChoice, Numeric
from llmviz.quiz.summary import format_summary, main, read_answers, summarise

QUESTIONS = [MultipleChoice("top", "softmax", "Which?", ("a", "b"), 0, "a is first"),
             Numeric("bytes", "loop", "How many?", 10, "2 × 5"),
             Numeric("heads", "attention", "How many?", 7, "read it")]


def export(folder, learner, answers, fmt, minute):
    sheet = AnswerSheet("Course quiz", "tiny", tuple(q.id for q in QUESTIONS), {q.id: q.objective for q in QUESTIONS},
                        learner=learner)
    for question, answer in zip(QUESTIONS, answers, strict=True):
        if answer is not None:
            sheet.record(question.grade(answer))
    return sheet.write(folder, fmt, now=datetime(2026, 11, 30, 9, minute, tzinfo=timezone.utc))


def test_summary_counts_each_learner_objective_and_question(tmp_path, capsys):
    files = [export(tmp_path, "Ann", ["a", "10", "7"], "csv", 0),      # 3 right
             export(tmp_path, "Bo", ["b", "11", None], "json", 1),     # 0 right of 2
             export(tmp_path, "Cy", ["a", None, "8"], "csv", 2)]       # 1 right of 2
    # a hand-edited file: an escape sequence that would clear the teacher's terminal
    files[2].write_text(files[2].read_text().replace('"Cy"', '"Cy\x1b[2J"'))
    summary = summarise(files)
    assert sorted(row[:1] + row[2:] for row in summary.learners) == [("Ann", 3, 3, 3), ("Bo", 0, 2, 3),
                                                                     ("Cy [2J", 1, 2, 3)]
    assert dict(summary.objectives) == {"softmax": [2, 3], "loop": [1, 2], "attention": [1, 2]}
    assert dict(summary.questions) == {"top": [2, 3], "bytes": [1, 2], "heads": [1, 2]}
    text = format_summary(summary)
    assert "Softmax and temperature" in text and "2 of   3 right ( 67%)" in text and "\x1b" not in text
    assert main([str(f) for f in files]) == 0 and "Ann" in capsys.readouterr().out


def test_files_that_are_not_exports_are_named(tmp_path, capsys):
    other = tmp_path / "notes.csv"
    other.write_text("name,score\nAnn,3\n")
    with pytest.raises(ValueError, match="notes.csv is not a quiz export"):
        read_answers(other)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match="broken.json is not a quiz export"):
        read_answers(broken)
    assert main([str(other)]) == 1 and "not a quiz export" in capsys.readouterr().err
    assert main([]) == 2
