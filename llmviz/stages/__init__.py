"""The explainers of the stages between the tokens and the output (notebooks 02-06): each computes what a notebook
shows from a model's weights or capture and returns the numbers; none draws.

embeddings.py: the embedding matrix, cosine similarity, neighbours, PCA. positional.py: sinusoidal, learned, RoPE and
ALiBi side by side. word_order.py: "dog bites man" with and without positions. lens.py: the logit lens. Notebook 12:
interventions.py (ablate, patch, steer as fwd_hooks edits) and attribution.py (direct logit attribution).
"""

from llmviz.stages import attribution, embeddings, interventions, lens, positional, word_order
from llmviz.stages.lens import LogitLens, logit_lens, logit_lens_at

__all__ = ["LogitLens", "attribution", "embeddings", "interventions", "lens", "logit_lens", "logit_lens_at",
           "positional", "word_order"]
