"""A class's quiz exports in one summary, on the teacher's machine: each learner's score, and the share of right
answers per objective and per question. Run it on the files learners handed in:

    python -m llmviz.quiz.summary quiz-answers-*.csv quiz-answers-*.json

It reads the CSV and JSON files that answers.AnswerSheet.write produces (a file is one learner at one time, so a
pre-test and a post-test are two rows). It sends nothing anywhere and changes no file.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from llmviz.quiz.answers import COLUMNS, clean_name
from llmviz.quiz.questions import OBJECTIVES


def read_answers(path: str | Path) -> list[dict[str, str]]:
    """The rows (dicts with answers.COLUMNS) of one exported file; a file that is not an export raises ValueError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        rows = json.loads(text)["answers"] if path.suffix == ".json" else list(csv.DictReader(text.splitlines()))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a quiz export ({type(err).__name__}: {err}); pass the quiz-answers-*.csv "
                         "or .json files that 'Export my answers' wrote.") from None
    missing = [c for c in COLUMNS if not rows or not isinstance(rows[0], dict) or c not in rows[0]]
    if missing:
        raise ValueError(f"{path} is not a quiz export: it has no rows with the columns {missing}.")
    return rows


@dataclass
class ClassSummary:
    """learners: (learner, exported_at, right, answered, questions) per file; objectives and questions:
    {key: [right, answered]} over every file."""

    learners: list[tuple[str, str, int, int, int]] = field(default_factory=list)
    objectives: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    questions: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))


def summarise(paths) -> ClassSummary:
    summary = ClassSummary()
    for path in paths:
        rows = read_answers(path)
        answered = [r for r in rows if r["correct"] in ("yes", "no")]
        right = sum(r["correct"] == "yes" for r in answered)
        # cleaned again: a hand-edited file must not put control characters on the teacher's terminal
        summary.learners.append((clean_name(rows[0]["learner"]) or "(no name)", clean_name(rows[0]["exported_at"]),
                                 right, len(answered), len(rows)))
        for r in answered:
            for table, key in ((summary.objectives, r["objective"]), (summary.questions, r["question"])):
                table[key][0] += r["correct"] == "yes"
                table[key][1] += 1
    return summary


def _share(right: int, answered: int) -> str:
    return f"{right:>3} of {answered:>3} right ({right / answered:>4.0%})" if answered else "not answered"


def format_summary(summary: ClassSummary) -> str:
    lines = ["learner                          exported at                score"]
    for learner, when, right, answered, total in sorted(summary.learners):
        lines.append(f"{learner[:32]:<32} {when:<26} {right} right of {answered} answered ({total} questions)")
    lines += ["", "by objective"]
    order = [o for o in OBJECTIVES if o in summary.objectives] + sorted(set(summary.objectives) - set(OBJECTIVES))
    lines += [f"  {OBJECTIVES.get(o, (o,))[0]:<30} {_share(*summary.objectives[o])}" for o in order]
    lines += ["", "by question"]
    lines += [f"  {q:<30} {_share(*counts)}" for q, counts in summary.questions.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m llmviz.quiz.summary quiz-answers-*.csv [more files ...]", file=sys.stderr)
        return 2
    try:
        print(format_summary(summarise(paths)))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
