"""What every llmviz widget shares: the error display, the prompt check, and the one "predict, then reveal" widget.

A callback that fails (a bad prompt, an out-of-range setting) must not vanish into the browser console, where a
learner never looks; it must not take the widget down either. Every callback runs through `run_safely`, which shows
the error in the widget's own output area (`show_error`). The one check every prompt-taking widget makes,
`prompt_ids`, lives here too, so they all word it the same way. `PredictReveal` is the checkpoint every notebook
uses: a question, the learner's guess (typed, or picked from choices), and the model's answer on Reveal.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets


def show_error(output: widgets.Output, err: Exception) -> None:
    """Replace the output area's content with one readable line: '⚠ ValueError: The prompt is empty; ...'."""
    output.outputs = ()  # clear_output() needs a running kernel; this works in tests too
    output.append_stdout(f"⚠ {type(err).__name__}: {err}\n")


def run_safely(output: widgets.Output, callback) -> None:
    """Run a widget callback; on success clear any old error, on failure show it in `output`."""
    try:
        callback()
        output.outputs = ()
    except Exception as err:  # shown in the widget's output area, never swallowed
        show_error(output, err)


def prompt_ids(lm, text_or_ids, max_tokens: int, view: str = "this view"):
    """ids [1, pos] of a prompt for a widget that draws one cell or bar per token: `lm.to_tokens` (which refuses an
    empty or over-long prompt), then a ValueError when pos > max_tokens, naming the length and `view`'s limit."""
    ids = lm.to_tokens(text_or_ids)
    if ids.shape[1] > max_tokens:
        raise ValueError(f"The prompt has {ids.shape[1]} tokens; {view} shows at most {max_tokens}. "
                         "Use a shorter prompt.")
    return ids


class PredictReveal(widgets.VBox):
    """A checkpoint: the learner guesses, presses Reveal, and sees the model's answer beside the guess.

    question: plain text (escaped), or markup when `question_html`. answer: the text to reveal, or a function
    (guess) -> text called on Reveal, so it can compare with the guess; its text is escaped unless `answer_html`.
    choices: [(label, value)] to pick from (ToggleButtons, the guess is the value); without it the guess is typed.
    Attributes: `question` (HTML), `guess` (Text or ToggleButtons), `button` (Button), `result` (HTML: the guess
    and the answer), `output` (Output: errors), `revealed` (the last revealed text, or None).
    """

    def __init__(self, question: str, answer: str | Callable[[object], str], placeholder: str = "your guess",
                 choices: list[tuple[str, object]] | None = None, question_html: bool = False,
                 answer_html: bool = False):
        self.answer, self.answer_html = answer, answer_html
        self.revealed: str | None = None
        self.question = widgets.HTML("<b>Predict:</b> " + (question if question_html else html.escape(question)))
        if choices is None:
            self.guess = widgets.Text(placeholder=placeholder, description="Guess:")
        else:
            self.guess = widgets.ToggleButtons(options=choices, value=None, description="Guess:",
                                               style={"button_width": "auto"})
        self.button = widgets.Button(description="Reveal", button_style="info",
                                     tooltip="show the model's answer beside your guess")
        self.result = widgets.HTML()
        self.output = widgets.Output()
        self.button.on_click(lambda _: run_safely(self.output, self.reveal))
        super().__init__([self.question, widgets.HBox([self.guess, self.button]), self.result, self.output])

    def _said(self) -> str:
        if isinstance(self.guess, widgets.ToggleButtons):
            return self.guess.label if self.guess.value is not None else "(no guess)"
        return self.guess.value.strip() or "(no guess)"

    def reveal(self) -> str:
        """Show the guess and the answer in `result`; errors propagate (the button shows them in `output`)."""
        text = self.answer(self.guess.value) if callable(self.answer) else str(self.answer)
        shown = text if self.answer_html else html.escape(text).replace("\n", "<br>")
        self.result.value = f"You said: <code>{html.escape(self._said())}</code><br>The model: {shown}"
        self.revealed = text
        return text
