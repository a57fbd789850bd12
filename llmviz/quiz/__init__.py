"""Self-checking quizzes: questions built live from a loaded model, graded on the learner's machine, and an export
of the learner's answers as a small JSON or CSV file for the teacher. Nothing is sent anywhere.

questions.py holds the question types and their grading, bank.py builds the course's questions from a model (the
course quiz, notebook 13), model_stages.py and output_stages.py build each stage notebook's own short quiz (00-06 and
07-12), answers.py keeps a learner's answers and writes them out, and summary.py sums a class's exported files for the
teacher (`python -m llmviz.quiz.summary quiz-answers-*.csv`). The widget lives in llmviz.viz.widgets.quiz.
"""

from llmviz.quiz.answers import AnswerSheet
from llmviz.quiz.bank import course_quiz, expected_tokens_per_round, question_bank
from llmviz.quiz.model_stages import QUIZZES as MODEL_STAGE_QUIZZES  # notebooks 00-06
from llmviz.quiz.output_stages import QUIZZES as OUTPUT_STAGE_QUIZZES  # notebooks 07-12
from llmviz.quiz.questions import OBJECTIVES, Grade, MultipleChoice, Numeric, Question, parse_number

# notebook name -> fn(lm, ...) -> [Question], in course order
NOTEBOOK_QUIZZES = {**MODEL_STAGE_QUIZZES, **OUTPUT_STAGE_QUIZZES}


def notebook_quiz(lm, notebook: str, *args, **kwargs) -> list[Question]:
    """The short quiz at the end of a stage notebook (e.g. '04_attention'), every answer computed from `lm` now;
    other arguments go to that notebook's builder (10's takes the draft model)."""
    name = notebook.removesuffix(".ipynb")
    if name not in NOTEBOOK_QUIZZES:
        raise ValueError(f"No quiz for {notebook!r}; the notebooks with one are {', '.join(NOTEBOOK_QUIZZES)}.")
    return NOTEBOOK_QUIZZES[name](lm, *args, **kwargs)


__all__ = ["MODEL_STAGE_QUIZZES", "NOTEBOOK_QUIZZES", "OBJECTIVES", "OUTPUT_STAGE_QUIZZES", "AnswerSheet", "Grade",
           "MultipleChoice", "Numeric", "Question", "course_quiz", "expected_tokens_per_round", "notebook_quiz",
           "parse_number", "question_bank"]
