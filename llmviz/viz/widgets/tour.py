"""The widgets of notebook 00 (the tour): which model to show, a guess-the-next-token checkpoint, and the linked
view of a whole forward pass with a "next token" button.

`default_model()` picks SmolLM2 when its converted cache is set up and memory allows, else the tiny model.
`next_token_guess` lets a learner type a guess and reveal the model's top tokens. `Tour` wires a prompt box, a token
strip, a position slider, a layer slider and a "next token" button to the one figure of `tour_figure`:
moving a control only indexes data computed beforehand; a new prompt or the button re-runs the model (counted in
`model_runs`). Errors inside a callback appear in the widget's own `output` area. Nothing here computes what the
model does; capture, generation and the figure builder live elsewhere.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import torch

from llmviz.course import RUNNING_PROMPT
from llmviz.decoding.forward import next_token_logits
from llmviz.model_choice import prompt_model
from llmviz.viz.style import readable_token
from llmviz.viz.widgets.common import PredictReveal, run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget
from llmviz.viz.widgets.tour_figure import tour_data, tour_figure, update_tour_figure


def default_model():
    """The model the tour shows: SmolLM2 when it is set up and memory allows, else the tiny model with a one-line
    notice (llmviz.model_choice.prompt_model)."""
    return prompt_model()


def default_prompt(lm) -> str:
    """The tour's prompt: the course's running example (llmviz.course.RUNNING_PROMPT) on every model, the one
    sentence the course follows from notebook to notebook. Both the tiny model and SmolLM2 continue it; `lm` stays a
    parameter so a model-specific prompt can come back without changing callers."""
    return RUNNING_PROMPT


def tour_view(data, position: int | None = None, layer: int = 0) -> FigureWidget:
    """The tour's figure for one choice (default: the last token, layer 0), without controls. A FigureWidget, not a
    static figure: it renders in JupyterLab and in Voila alike (Voila's static plotly renderer fails)."""
    return FigureWidget(tour_figure(data, len(data.ids) - 1 if position is None else position, layer))


def guess_rank(lm, probs: torch.Tensor, guess: str) -> tuple[str, float, int]:
    """(token, probability, rank from 1) of a guess's first token under probs [d_vocab]; with and without a leading
    space, the likelier reading wins (learners rarely type the space that starts most words)."""
    if not guess.strip():
        raise ValueError("The guess is empty: type the word or token you expect next, then press Reveal.")
    candidates = {guess, " " + guess.lstrip()}
    ids = [lm.to_tokens(c)[0, 0].item() for c in sorted(candidates)]
    best = max(ids, key=lambda i: probs[i].item())
    rank = int((probs > probs[best]).sum().item()) + 1
    return readable_token(lm.to_str_tokens([best])[0]), probs[best].item(), rank


def next_token_guess(lm, prompt: str, top_k: int = 10) -> PredictReveal:
    """Predict, then reveal: type the next token you expect after `prompt`; Reveal shows the model's `top_k` next
    tokens with their probabilities and where the guess ranks. The model runs once, here."""
    probs = torch.softmax(next_token_logits(lm, prompt).float(), dim=-1)  # [d_vocab] the next-token distribution

    def answer(guess: str) -> str:
        top = probs.topk(top_k)
        rows = "".join(f"<tr><td>{i + 1}</td><td><code>{html.escape(lm.to_str_tokens([t])[0])}</code></td>"
                       f"<td>{p:.4f}</td><td><div style='background:#0072B2;height:12px;width:{300 * p:.0f}px'>"
                       f"</div></td></tr>" for i, (t, p) in enumerate(zip(top.indices.tolist(), top.values.tolist(),
                                                                          strict=True)))
        lines = [f"the top {top_k} next tokens:",
                 f"<table><tr><th>rank</th><th>token</th><th>probability</th><th></th></tr>{rows}</table>"]
        if guess.strip():
            token, p, rank = guess_rank(lm, probs, guess)
            lines.insert(0, f"your guess <code>{html.escape(token)}</code> has probability {p:.4f}, rank {rank} of "
                            f"{lm.d_vocab};")
        return "<br>".join(lines)

    return PredictReveal(f"{prompt} … what comes next? Type a guess, then Reveal.", answer,
                         placeholder="your guess, e.g. ' the'", answer_html=True)


class Tour(widgets.VBox):
    """The whole forward pass in one linked view. Attributes: prompt (Text), next_token (Button), strip
    (ToggleButtons over tokens), position and layer (IntSliders), figure (FigureWidget), status (HTML: what the
    last step did), output (errors),
    data (TourData), model_runs (forwards run so far), last_step (the generation Step of the last button press)."""

    def __init__(self, lm, prompt: str):
        self.lm, self.model_runs, self.last_step = lm, 0, None
        self.data = self._run(prompt)
        last = len(self.data.ids) - 1
        self.prompt = widgets.Text(value=prompt, description="Prompt:", continuous_update=False,
                                   layout=widgets.Layout(width="560px"))
        self.next_token = widgets.Button(description="Next token ▶", button_style="primary",
                                         tooltip="Run one step of the loop: predict, append, run again")
        self.strip = widgets.ToggleButtons(description="Token:", style=dict(button_width="auto"))
        self.position = widgets.IntSlider(value=last, min=0, max=last, description="Position:")
        self.layer = widgets.IntSlider(value=0, min=0, max=lm.n_layers - 1, description="Layer:")
        self.figure = FigureWidget(tour_figure(self.data, last, 0))
        self.status = widgets.HTML("Press <b>Next token ▶</b> to run one step of the loop.")
        self.output = widgets.Output()
        self._set_choices()
        self.prompt.observe(lambda change: run_safely(self.output, lambda: self._show(self._run(change["new"]))),
                            names="value")
        self.next_token.on_click(lambda _: run_safely(self.output, self._next_token))
        self.strip.observe(self._on_strip, names="value")
        for slider in (self.position, self.layer):
            slider.observe(lambda _: self._syncing or run_safely(self.output, self._redraw), names="value")
        super().__init__([widgets.HBox([self.prompt, self.next_token]), self.status, self.strip,
                          widgets.HBox([self.position, self.layer]), self.output, self.figure])

    def _run(self, text_or_ids):
        data = tour_data(self.lm, text_or_ids)
        self.model_runs += 1
        return data

    def _set_choices(self, last: int | None = None) -> None:
        """Token strip options from the data; with `last`, also move the position slider to the last token."""
        self._syncing = True  # the slider and strip move together here; redraw once, afterwards
        try:
            self.strip.options = [(readable_token(t), i) for i, t in enumerate(self.data.tokens)]
            if last is not None:
                self.position.max = last
                self.position.value = last
            self.strip.value = self.position.value
        finally:
            self._syncing = False

    def _on_strip(self, change) -> None:
        if not self._syncing and change["new"] is not None:
            self.position.value = change["new"]

    def _redraw(self) -> None:
        """The figure for the chosen position and layer; the token strip follows the position slider."""
        self._syncing = True
        try:
            self.strip.value = self.position.value
        finally:
            self._syncing = False
        update_tour_figure(self.figure, self.data, self.position.value, self.layer.value)

    def _show(self, data) -> None:
        """New data (a new prompt or one more token): choose its last token, then redraw once."""
        self.data = data
        self._set_choices(last=len(data.ids) - 1)
        self._redraw()

    def _next_token(self) -> None:
        """One step of the autoregressive loop, greedy: generate one token, append it, run the tour again."""
        trace = self.lm.generate(self.data.ids, max_new_tokens=1, temperature=0, capture=None)
        self.model_runs += 1
        self.last_step = step = trace.steps[-1]
        p = torch.softmax(step.sample.logits, dim=-1)[step.token_id].item()  # [vocab] -> the chosen one
        self._show(self._run(trace.ids))
        self.status.value = (f"One step of the loop: the model's most likely next token was "
                             f"<code>{html.escape(readable_token(self.data.tokens[-1]))}</code> (probability "
                             f"{p:.3f}); it was appended, and the model ran again on {len(self.data.ids)} "
                             "tokens.")
