"""The self-checking quiz widget: questions listed one under another, a Check button each, a score line, and an
"Export my answers" button that writes a small file next to the notebook.

A learner picks a choice (RadioButtons) or types a number (Text) and presses Check. Only then does the question show
whether the answer was right, the right answer and its explanation; the question locks, so the first answer is the
one graded and exported. Nothing selected, or text that is not a number, is reported inside the question (in its
own output area, common.run_safely), never as a traceback. The questions, their grading and the export live in
llmviz.quiz; this module only wires controls to them. Every control has a description, so a screen reader names it.

    Quiz(course_quiz(lm, draft), title="Course quiz", model=lm.name)
    Quiz(question_bank(lm, objectives="sampling")["sampling"], title="Quiz: sampling", model=lm.name)
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as widgets

from llmviz.quiz.answers import FORMATS, AnswerSheet
from llmviz.quiz.questions import OBJECTIVES, Grade, MultipleChoice
from llmviz.viz.widgets.common import run_safely

INTRO = ("Answer each question, then press its <b>Check</b> button: whether you were right, the answer and an "
         "explanation appear only after you check, and your first answer is the one that counts. "
         "Tokens are shown as the model sees them: ␣ marks a space.")


class QuestionCard(widgets.VBox):
    """One question: `prompt` (HTML), `answer` (RadioButtons or Text), `check` (Button), `feedback` (HTML, empty until
    checked), `output` (Output: what was wrong with the input). `grade` is None until the learner checks."""

    def __init__(self, number: int, question, on_graded=None):
        self.question, self.number, self.on_graded = question, number, on_graded
        self.grade: Grade | None = None
        self.prompt = widgets.HTML(f"<b>{number}.</b> {html.escape(question.text)}")
        if isinstance(question, MultipleChoice):
            self.answer = widgets.RadioButtons(options=list(question.choices), value=None,
                                               description=f"Answer {number}:", layout={"width": "max-content"},
                                               style={"description_width": "initial"})
        else:
            unit = f" ({question.unit})" if question.unit else ""
            self.answer = widgets.Text(placeholder="type a number", description=f"Answer {number}{unit}:",
                                       style={"description_width": "initial"})
        self.check = widgets.Button(description=f"Check {number}", button_style="info",
                                    tooltip=f"grade your answer to question {number} and show the explanation")
        self.feedback = widgets.HTML()
        self.output = widgets.Output()
        self.check.on_click(lambda _: run_safely(self.output, self.submit))
        super().__init__([self.prompt, widgets.HBox([self.answer, self.check]), self.feedback, self.output],
                         layout={"margin": "0 0 12px 0"})

    def response(self):
        """What the learner gave: the chosen index (None if nothing is chosen), or the typed text."""
        return self.answer.index if isinstance(self.answer, widgets.RadioButtons) else self.answer.value

    def submit(self) -> Grade:
        """Grade the answer, lock the question and show the explanation. Bad input raises (shown in `output`)."""
        if self.grade is not None:
            return self.grade
        grade = self.question.grade(self.response())
        self.grade = grade
        self.answer.disabled = self.check.disabled = True
        # words and a symbol, not colour alone, say right or wrong
        verdict = ("<b>✔ Right.</b>" if grade.correct else
                   f"<b>✘ Not quite.</b> You said {html.escape(grade.response)}; the answer is "
                   f"<b>{html.escape(grade.expected)}</b>.")
        self.feedback.value = (f"<div style='border-left: 4px solid #888; padding-left: 8px'>{verdict} "
                               f"{html.escape(grade.explanation)}</div>")
        if self.on_graded is not None:
            self.on_graded(grade)
        return grade


class Quiz(widgets.VBox):
    """A quiz over `questions` (llmviz.quiz questions). Attributes: `cards` (one QuestionCard each), `sheet` (the
    AnswerSheet being filled), `score` (HTML), `name` (Text), `file_format` (ToggleButtons), `export_button`,
    `saved` (HTML: where the file went), `output` (export errors). `folder` is where exports go (the notebook's
    folder when the kernel runs there, as Jupyter's do)."""

    def __init__(self, questions, title: str = "Quiz", model: str = "", folder: str | Path = "."):
        questions = list(questions)
        ids = [q.id for q in questions]
        if not questions or len(set(ids)) != len(ids):
            raise ValueError(f"A quiz needs at least one question and different ids for each; got {ids}.")
        self.folder = Path(folder)
        self.sheet = AnswerSheet(title, model, tuple(ids), {q.id: q.objective for q in questions})
        self.cards = [QuestionCard(i + 1, q, self._graded) for i, q in enumerate(questions)]
        children, shown = [widgets.HTML(f"<h3>{html.escape(title)}</h3><p>{INTRO}</p>")], None
        for card in self.cards:
            if card.question.objective != shown:  # a heading where the course's objective changes
                shown = card.question.objective
                name, notebooks = OBJECTIVES[shown]
                where = f"notebook{'s' if len(notebooks) > 1 else ''} {', '.join(notebooks)}"
                children.append(widgets.HTML(f"<h4>{html.escape(name)} <small>({where})</small></h4>"))
            children.append(card)
        self.score = widgets.HTML()
        self.name = widgets.Text(description="Your name:", placeholder="optional; it goes in the file",
                                 style={"description_width": "initial"})
        self.file_format = widgets.ToggleButtons(options=list(FORMATS), value="csv", description="File type:",
                                                 tooltips=["a table, opens in a spreadsheet", "structured text"],
                                                 style={"button_width": "auto", "description_width": "initial"})
        self.export_button = widgets.Button(description="Export my answers", icon="download",
                                            layout={"width": "max-content"},
                                            tooltip="write your answers to a file next to this notebook; "
                                                    "nothing is sent anywhere")
        self.saved = widgets.HTML()
        self.output = widgets.Output()
        self.export_button.on_click(lambda _: run_safely(self.output, self.export))
        self._show_score()
        super().__init__(children + [self.score, widgets.HBox([self.name, self.file_format]), self.export_button,
                                     self.saved, self.output])

    def _graded(self, grade: Grade) -> None:
        self.sheet.record(grade)
        self._show_score()

    def _show_score(self) -> None:
        right, answered, total = self.sheet.score
        self.score.value = (f"<b>Score: {right} right of {answered} answered</b> ({total} questions; "
                            f"{total - answered} still open)")

    def export(self) -> Path:
        """Write the answers so far to `folder` in the chosen format; says where in `saved` and returns the path."""
        self.sheet.learner = self.name.value
        path = self.sheet.write(self.folder, self.file_format.value)
        right, answered, total = self.sheet.score
        self.saved.value = (f"Saved {answered} of {total} answers ({right} right) to "
                            f"<code>{html.escape(str(path.resolve()))}</code>. Nothing was sent anywhere: give this "
                            "file to your teacher.")
        return path
