"""Quiz questions as data, and their grading: multiple choice, or a number within a tolerance.

A question holds its text, its right answer and the explanation a learner sees *after* answering. `grade()` turns
the learner's response into a `Grade`; a missing or unreadable response raises ValueError saying what to do, so a
widget can show it instead of a traceback. The questions themselves are built from a loaded model in bank.py, so no
right answer here is typed in by hand. This module runs no model and draws nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# The course's learning objectives, in the order the notebooks teach them: key -> (title, notebooks that teach it).
OBJECTIVES = {
    "tokenization": ("Tokenization", ("01", "11")),
    "embeddings": ("Embeddings and positions", ("02", "03")),
    "attention": ("Multi-head attention", ("04",)),
    "mlp": ("The MLP", ("05", "06")),
    "softmax": ("Softmax and temperature", ("07",)),
    "sampling": ("The sampling parameters", ("08",)),
    "loop": ("The loop and the KV cache", ("09",)),
    "speculative": ("Speculative decoding", ("10",)),
}

# "2,048" and "2 048" are two thousand and forty-eight; "3,5" is refused rather than read as 35 or as 3.5.
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}([, _]\d{3})+(\.\d*)?$")


@dataclass(frozen=True)
class Grade:
    """One graded answer. `expected` is the right answer as text; `response` is what the learner gave, as text."""

    question_id: str
    objective: str
    response: str
    correct: bool
    expected: str
    explanation: str


def _check_common(id: str, objective: str, text: str, explanation: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r} is not one of the course's objectives: {', '.join(OBJECTIVES)}.")
    if not id or not text.strip() or not explanation.strip():
        raise ValueError(f"Question {id!r} needs an id, a question text and an explanation.")


@dataclass(frozen=True)
class MultipleChoice:
    """Pick one of `choices`; `answer` is the index of the right one."""

    id: str
    objective: str
    text: str
    choices: tuple[str, ...]
    answer: int
    explanation: str

    def __post_init__(self):
        _check_common(self.id, self.objective, self.text, self.explanation)
        if len(self.choices) < 2 or len(set(self.choices)) != len(self.choices):
            raise ValueError(f"Question {self.id!r} needs at least two different choices, not {self.choices!r}.")
        if not 0 <= self.answer < len(self.choices):
            raise ValueError(f"Question {self.id!r}: answer={self.answer} is not an index into its "
                             f"{len(self.choices)} choices.")

    @property
    def expected(self) -> str:
        return self.choices[self.answer]

    def grade(self, response: int | str | None) -> Grade:
        """response: the chosen index, or the chosen choice's text. None (nothing chosen) raises ValueError."""
        if response is None or (isinstance(response, str) and not response.strip()):
            raise ValueError(f"No answer chosen for {self.id!r}: pick one of the {len(self.choices)} answers, "
                             "then press Check.")
        if isinstance(response, str):
            if response not in self.choices:
                raise ValueError(f"{response!r} is not one of the choices for {self.id!r}: {list(self.choices)}.")
            index = self.choices.index(response)
        elif isinstance(response, int) and not isinstance(response, bool) and 0 <= response < len(self.choices):
            index = response
        else:
            raise ValueError(f"{response!r} is not a choice index for {self.id!r} (0 to {len(self.choices) - 1}).")
        return Grade(self.id, self.objective, self.choices[index], index == self.answer, self.expected,
                     self.explanation)


def parse_number(text: str | float | int) -> float:
    """A learner's typed number as a float: '12', '-0.5', '2,048', '3.4e2'. Raises ValueError saying what to type."""
    if isinstance(text, bool):
        raise ValueError("Type a number, not True or False.")
    if isinstance(text, int | float):
        value = float(text)
    else:
        typed = str(text).strip()
        if not typed:
            raise ValueError("No answer typed: type a number, then press Check.")
        if _THOUSANDS.match(typed):
            typed = re.sub(r"[, _]", "", typed)
        try:
            value = float(typed)
        except ValueError:
            raise ValueError(f"{typed[:40]!r} is not a number; type digits such as 12 or 0.25 "
                             "(a decimal point, not a comma).") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number; type digits such as 12 or 0.25.")
    return value


@dataclass(frozen=True)
class Numeric:
    """Type a number; it is right when |response - answer| <= tolerance. `unit` is shown beside the input."""

    id: str
    objective: str
    text: str
    answer: float
    explanation: str
    tolerance: float = 0.0
    unit: str = ""

    def __post_init__(self):
        _check_common(self.id, self.objective, self.text, self.explanation)
        if not math.isfinite(self.answer) or not (math.isfinite(self.tolerance) and self.tolerance >= 0):
            raise ValueError(f"Question {self.id!r}: answer={self.answer!r} must be finite and "
                             f"tolerance={self.tolerance!r} finite and >= 0.")

    @property
    def expected(self) -> str:
        shown = f"{self.answer:,.0f}" if float(self.answer).is_integer() else f"{self.answer:,.3g}"
        near = f" (± {self.tolerance:g})" if self.tolerance else ""
        return f"{shown}{' ' + self.unit if self.unit else ''}{near}"

    def grade(self, response: str | float | int | None) -> Grade:
        """response: the typed text or a number. Empty or unreadable text raises ValueError."""
        if response is None:
            raise ValueError(f"No answer typed for {self.id!r}: type a number, then press Check.")
        value = parse_number(response)
        # a tiny relative slack so 3.3616 typed for 3.36160000001 is right when the tolerance is 0
        correct = abs(value - self.answer) <= self.tolerance + 1e-9 * max(1.0, abs(self.answer))
        return Grade(self.id, self.objective, f"{value:.12g}", correct, self.expected, self.explanation)


Question = MultipleChoice | Numeric
