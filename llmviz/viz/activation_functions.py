"""Curves of the functions inside a block: GELU, ReLU, SiLU/SwiGLU gates, drawn over an input range, with the
model's real (input, output) pairs scattered on top so a learner sees where its neurons actually sit.

The caller computes the curves (e.g. torch.nn.functional.gelu on a linspace) and takes the pairs from a capture
(`mlp.hook_pre`, `mlp.hook_post`); this module only draws them.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from llmviz.viz.inputs import as_array
from llmviz.viz.style import EXACT, GREY, OKABE_ITO, base_layout, plot_text
from llmviz.viz.text_alternative import quoted, value_range, with_alt


def activation_curves(x, curves, samples=None, title: str = "Activation functions",
                      xaxis_title: str = "input (pre-activation)", yaxis_title: str = "output",
                      max_samples: int = 4000) -> go.Figure:
    """Lines y = f(x) for each {name: y [n]} over x [n], plus optional real samples (inputs [m], outputs [m]).

    Samples beyond max_samples are thinned evenly (a 64-token prompt through a 3072-wide MLP is 196k points).
    Traces: [0] the samples (empty when none are given; drawn first so the curves stay visible on top), then
    [1 + i] the i-th curve in the order given.
    """
    grid = as_array(x, "x", 1, "[n]")
    if not curves:
        raise ValueError("`curves` is empty; give {name: y [n]} for at least one function.")
    inputs = outputs = []
    if samples is not None:
        inputs = as_array(samples[0], "samples[0]", (1, 2, 3), "inputs [m] (any shape)").reshape(-1)
        outputs = as_array(samples[1], "samples[1]", (1, 2, 3), "outputs [m] (any shape)").reshape(-1)
        if len(inputs) != len(outputs):
            raise ValueError(f"`samples` has {len(inputs)} inputs but {len(outputs)} outputs; give pairs.")
        step = max(1, -(-len(inputs) // max_samples))  # ceil: keep at most max_samples points
        total, inputs, outputs = len(inputs), inputs[::step], outputs[::step]
    # SVG, not WebGL: a WebGL layer would be drawn over the curves whatever the trace order.
    fig = go.Figure(go.Scatter(x=inputs, y=outputs, mode="markers", name="the model's neurons",
                               marker=dict(size=5, color=GREY, opacity=0.5), showlegend=samples is not None,
                               hovertemplate=f"input: %{{x:{EXACT}}}<br>output: %{{y:{EXACT}}}<extra></extra>"))
    for i, (name, values) in enumerate(curves.items()):
        y = as_array(values, f"curves[{name!r}]", 1, "[n]")
        if len(y) != len(grid):
            raise ValueError(f"`curves[{name!r}]` has {len(y)} values but `x` has {len(grid)}; give one per x.")
        label = plot_text(str(name))
        fig.add_trace(go.Scatter(x=grid, y=y, mode="lines", name=label,
                                 line=dict(color=OKABE_ITO[i % len(OKABE_ITO)], width=3),
                                 hovertemplate=f"{label}<br>input: %{{x:{EXACT}}}<br>output: %{{y:{EXACT}}}"
                                               "<extra></extra>"))
    fig.update_layout(**base_layout(title, xaxis_title, yaxis_title, height=450, width=750))
    model = "" if samples is None else \
        f"; {len(inputs)} of the model's {total} (input, output) pairs shown, inputs {value_range(np.asarray(inputs))}"
    return with_alt(fig, f"{', '.join(quoted(str(name)) for name in curves)} over inputs {value_range(grid)}{model}")
