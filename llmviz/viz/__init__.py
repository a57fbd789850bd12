"""Pure figure builders for the llmviz notebooks: data in (tensors, arrays, readable tokens), plotly figure out.

Builders never display, never run a model and never read files. Each documents its trace order, so a widget can
wrap the result once in `plotly.graph_objects.FigureWidget(fig)` and later change `fig.data[i].z` (or `.y`) inside
`fig.batch_update()`. Colours, fonts and token labels come from `llmviz.viz.style`; `llmviz.viz.adapters` turns the
library's records (beam trees, sampling records, traces, the logit lens) into builder arguments.
`llmviz.viz.printable` redraws a builder's figure as a print-ready image with matplotlib; it is not imported here,
so a notebook never loads matplotlib. `llmviz.viz.pipeline` draws every notebook's "you are here" diagram as SVG
(`llmviz.viz.pipeline_figure`, with matplotlib, for slides), from the stage list in `llmviz.course`.

    01 token_table, token_comparison, segmentation_lattice,    06 layer_norm_stats, line_by_layer, logit_lens_grid
       bpe_merge_steps
    02 vector_heatmap, embedding_map, similarity_matrix         07 probability_bars, probability_comparison
    03 positional_heatmap, position_similarity, vector_panels   08 probability_bars (+ candidates), beam_tree
    04 attention_steps, attention_heatmap, attention_heads      09 kv_cache_growth, cost_with_without_cache
    05 activation_curves, neuron_activations, vector_heatmap    10 speculative_steps   11 byte_view
    12 cone_grid, layer_grid, attribution_bars, probability_comparison
"""

from llmviz.viz.activation_functions import activation_curves
from llmviz.viz.adapters import (
    beam_nodes,
    cache_cost_series,
    candidates,
    kv_cache_series,
    lens_grid,
    speculative_rows,
)
from llmviz.viz.attention import attention_heads, attention_heatmap, attention_steps, causal_mask, masked_values
from llmviz.viz.decoding import (
    bar_colors,
    bar_marker,
    cost_with_without_cache,
    kv_cache_growth,
    probability_bars,
    probability_comparison,
    speculative_steps,
)
from llmviz.viz.depth import layer_norm_stats, line_by_layer, logit_lens_grid
from llmviz.viz.interventions import attribution_bars, cone_cells, cone_grid, layer_grid
from llmviz.viz.merges import bpe_merge_steps
from llmviz.viz.segmentation import segmentation_lattice, token_comparison
from llmviz.viz.style import base_layout, readable_token, readable_tokens, token_labels, unique_labels
from llmviz.viz.tokens import byte_view, token_table, utf8_characters
from llmviz.viz.tree import BeamNode, beam_tree
from llmviz.viz.vectors import (
    embedding_map,
    neuron_activations,
    position_similarity,
    positional_heatmap,
    similarity_matrix,
    vector_heatmap,
    vector_panels,
)

__all__ = [
    "activation_curves", "attention_heads", "attribution_bars", "attention_heatmap", "attention_steps",
    "bar_colors", "bar_marker", "base_layout", "beam_nodes", "beam_tree", "BeamNode", "bpe_merge_steps",
    "byte_view", "cache_cost_series", "candidates", "causal_mask", "cone_cells", "cone_grid",
    "cost_with_without_cache", "embedding_map", "kv_cache_growth", "kv_cache_series", "layer_grid",
    "layer_norm_stats", "lens_grid", "line_by_layer", "logit_lens_grid", "masked_values", "neuron_activations",
    "position_similarity", "positional_heatmap", "probability_bars", "probability_comparison", "readable_token",
    "readable_tokens", "segmentation_lattice", "similarity_matrix", "speculative_rows", "speculative_steps",
    "token_comparison", "token_labels", "token_table", "unique_labels", "utf8_characters", "vector_heatmap",
    "vector_panels"
]
