"""The widgets: one module per notebook, each wiring controls to `llmviz` calls and the figure builders of
`llmviz.viz`, plus common.py (the error display, the prompt check and `PredictReveal`, the one checkpoint widget)
and quiz.py (the self-checking `Quiz`).

Widgets build their figure once and update traces in place; only a new prompt or sample re-runs the model. Every
callback reports errors inside the widget (common.run_safely). Notebooks import what they use from here.
"""

from llmviz.model_choice import prompt_model
from llmviz.viz.widgets.attention import AttentionExplorer, attention_guess, capture_patterns
from llmviz.viz.widgets.common import PredictReveal, run_safely, show_error
from llmviz.viz.widgets.described import DescribedFigure, described
from llmviz.viz.widgets.detokenization import stream_explorer
from llmviz.viz.widgets.embeddings import closest_token_checkpoint, neighbour_explorer
from llmviz.viz.widgets.feed_forward import NeuronExplorer, firing_checkpoint
from llmviz.viz.widgets.frame import you_are_here
from llmviz.viz.widgets.interventions import AblationExplorer, one_token
from llmviz.viz.widgets.logits import temperature_explorer
from llmviz.viz.widgets.loop import loop_explorer
from llmviz.viz.widgets.patching import (
           PatchingExplorer,
           attribution_by_layer,
           patching_flips,
           sweep_with_progress,
           top_heads,
)
from llmviz.viz.widgets.positional import PositionExplorer, word_order_checkpoint, word_order_keys
from llmviz.viz.widgets.quiz import QuestionCard, Quiz
from llmviz.viz.widgets.residuals import LensExplorer, layer_norm_before_after, lens_checkpoint
from llmviz.viz.widgets.sampling import filter_explorer
from llmviz.viz.widgets.speculative import speculative_explorer
from llmviz.viz.widgets.steering import SteeringExplorer
from llmviz.viz.widgets.tokenization import bpe_trainer, merge_explorer
from llmviz.viz.widgets.tour import Tour, default_model, default_prompt, next_token_guess, tour_view
from llmviz.viz.widgets.tour_figure import tour_data

__all__ = ["AblationExplorer", "AttentionExplorer", "DescribedFigure", "LensExplorer", "NeuronExplorer",
           "PatchingExplorer", "PositionExplorer", "PredictReveal", "QuestionCard", "Quiz", "SteeringExplorer",
           "Tour", "attention_guess", "attribution_by_layer", "bpe_trainer", "capture_patterns",
           "closest_token_checkpoint", "default_model", "default_prompt", "described", "filter_explorer",
           "firing_checkpoint", "layer_norm_before_after", "lens_checkpoint", "loop_explorer", "merge_explorer",
           "neighbour_explorer", "next_token_guess", "one_token", "patching_flips", "prompt_model", "run_safely",
           "show_error", "speculative_explorer", "stream_explorer", "sweep_with_progress", "temperature_explorer",
           "top_heads", "tour_data", "tour_view", "word_order_checkpoint", "word_order_keys", "you_are_here"]
