"""How every llmviz widget reports an error: in its own output area, in one line, never swallowed.

A callback that fails (a bad prompt, an out-of-range setting) must not vanish into the browser console, where a
learner never looks; it must not take the widget down either. Widgets catch, and call `show_error`.
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
