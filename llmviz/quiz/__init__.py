"""Self-checking quizzes: questions built live from a loaded model, graded on the learner's machine, and an export
of the learner's answers as a small JSON or CSV file for the teacher. Nothing is sent anywhere.

questions.py holds the question types and their grading, bank.py builds the course's questions from a model,
answers.py keeps a learner's answers and writes them out, and summary.py sums a class's exported files for the
teacher (`python -m llmviz.quiz.summary quiz-answers-*.csv`). The widget lives in llmviz.viz.widgets.quiz.
"""

from llmviz.quiz.answers import AnswerSheet
from llmviz.quiz.bank import course_quiz, expected_tokens_per_round, question_bank
from llmviz.quiz.model_stages import QUIZZES as MODEL_STAGE_QUIZZES  # noqa: F401  notebooks 00-06
from llmviz.quiz.questions import OBJECTIVES, Grade, MultipleChoice, Numeric, Question, parse_number

__all__ = ["OBJECTIVES", "AnswerSheet", "Grade", "MultipleChoice", "Numeric", "Question", "course_quiz",
           "expected_tokens_per_round", "parse_number", "question_bank"]
