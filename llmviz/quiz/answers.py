"""A learner's answers to one quiz, kept on their machine and written to a small JSON or CSV file for the teacher.

`AnswerSheet` records each `Grade` as the learner checks a question and counts the score. `to_json()` and `to_csv()`
give one row per question (unanswered ones included, blank), with the learner's name, the quiz, the model and the
time. The name is the only free text a learner types: it is cleaned (control characters and line breaks removed,
at most 80 characters), written as data by `json` and `csv` (quoted, never markup), and a name starting with = + - @
is prefixed with ' so a spreadsheet shows it instead of running it as a formula. `write()` saves the file in a folder
the caller names and returns its path. Nothing is uploaded, sent or read back from anywhere.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from llmviz.quiz.questions import Grade

MAX_NAME = 80
FORMATS = ("csv", "json")
COLUMNS = ("learner", "quiz", "model", "exported_at", "question", "objective", "response", "correct", "expected")


def clean_name(name: str) -> str:
    """The learner's name as safe text: no control characters or line breaks, spaces collapsed, at most 80 chars."""
    kept = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in str(name))
    return re.sub(r" +", " ", kept).strip()[:MAX_NAME]


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula: a leading = + - @ gets a ' in front (OWASP's CSV advice)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def file_stem(name: str) -> str:
    """A file-name-safe piece from the learner's name: letters, digits and dashes only, or 'anonymous'."""
    return re.sub(r"[\W_]+", "-", clean_name(name)).strip("-")[:40] or "anonymous"


@dataclass
class AnswerSheet:
    """One learner's answers. question_ids: every question of the quiz in order, and each one's objective."""

    quiz: str
    model: str
    question_ids: tuple[str, ...]
    objectives: dict[str, str]
    learner: str = ""
    grades: dict[str, Grade] = field(default_factory=dict)

    def record(self, grade: Grade) -> None:
        """Keep a graded answer; a question already answered keeps its first answer (the explanation came after it)."""
        if grade.question_id not in self.question_ids:
            raise ValueError(f"{grade.question_id!r} is not a question of the quiz {self.quiz!r}.")
        self.grades.setdefault(grade.question_id, grade)

    @property
    def score(self) -> tuple[int, int, int]:
        """(right, answered, questions)."""
        return sum(g.correct for g in self.grades.values()), len(self.grades), len(self.question_ids)

    def rows(self, exported_at: str) -> list[dict[str, str]]:
        """One dict per question, keys COLUMNS; an unanswered question has empty response, correct and expected."""
        learner = clean_name(self.learner)
        rows = []
        for qid in self.question_ids:
            grade = self.grades.get(qid)
            rows.append({"learner": learner, "quiz": self.quiz, "model": self.model, "exported_at": exported_at,
                         "question": qid, "objective": self.objectives[qid],
                         "response": grade.response if grade else "",
                         "correct": ("yes" if grade.correct else "no") if grade else "",
                         "expected": grade.expected if grade else ""})
        return rows

    def to_json(self, exported_at: str) -> str:
        right, answered, total = self.score
        return json.dumps({"quiz": self.quiz, "model": self.model, "learner": clean_name(self.learner),
                           "exported_at": exported_at,
                           "score": {"right": right, "answered": answered, "questions": total},
                           "answers": self.rows(exported_at)}, ensure_ascii=False, indent=1) + "\n"

    def to_csv(self, exported_at: str) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writeheader()
        for row in self.rows(exported_at):
            writer.writerow(row | {"learner": spreadsheet_safe(row["learner"])})
        return buffer.getvalue()

    def write(self, folder: str | Path = ".", fmt: str = "csv", now: datetime | None = None) -> Path:
        """Save the answers as quiz-answers-<name>-<time>.<fmt> in `folder` (never overwriting); returns the path."""
        if fmt not in FORMATS:
            raise ValueError(f"fmt={fmt!r} is not a format the export writes; use one of {FORMATS}.")
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise ValueError(f"The folder {str(folder)!r} does not exist; create it or choose another.")
        now = now or datetime.now().astimezone()
        stamp = now.isoformat(timespec="seconds")
        base = f"quiz-answers-{file_stem(self.learner)}-{now:%Y%m%d-%H%M%S}"
        path, n = folder / f"{base}.{fmt}", 1
        while path.exists():
            n += 1
            path = folder / f"{base}-{n}.{fmt}"
        text = self.to_csv(stamp) if fmt == "csv" else self.to_json(stamp)
        path.write_text(text, encoding="utf-8", newline="")
        return path
