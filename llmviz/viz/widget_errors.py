"""How every llmviz widget reports an error: in its own output area, in one line, never swallowed.

A callback that fails (a bad prompt, an out-of-range setting) must not vanish into the browser console, where a
learner never looks; it must not take the widget down either. Widgets catch, and call `show_error`. The one
check every prompt-taking widget makes, `prompt_ids`, lives here too, so they all word it the same way.
"""

from __future__ import annotations

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
