"""The widgets of notebook 02 (embeddings): a "which token is closest?" checkpoint and a nearest-neighbour explorer.

`closest_token_checkpoint` asks, with `PredictReveal`, which token's embedding row is closest to a word's, and
answers with the measured ranking (and where the learner's guess ranks). `NeighbourExplorer` wires a word box and
a k slider to one FigureWidget built once by `embedding_map`: the vocabulary's PCA map on the left (the word and
its k nearest neighbours highlighted) and their cosine similarities as bars on the right. The unit-length rows,
the map of the whole vocabulary and the word's `max_k` neighbours are computed up front with `llmviz.stages.embeddings`;
the slider only slices them, and only a new word searches again (counted in `model_runs`). A word that is not one
token shows a message in the widget's own output area. Nothing here runs the model forward or computes a PCA.
"""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go
import torch

from llmviz.stages import embeddings
from llmviz.viz.style import BLACK, EXACT, OKABE_ITO, token_labels, unique_labels
from llmviz.viz.vectors import embedding_map
from llmviz.viz.widgets.common import PredictReveal, run_safely
from llmviz.viz.widgets.figure_widget import FigureWidget

MAP_WIDTH = 0.56  # fraction of the figure's width given to the map; the bars take the right-hand part


def closest_token_checkpoint(lm, unit: torch.Tensor, word: str = "cat", shown: int = 3) -> PredictReveal:
    """Predict, then reveal: which token's row is closest to `word`'s? unit: `embeddings.unit_rows(W_E)` [vocab, d].

    The answer lists the `shown` nearest tokens with their cosine similarity, and where the guess ranks.
    """
    target = embeddings.word_token_id(lm, word)
    nearest = embeddings.nearest_neighbours(unit, target, shown)
    labels = embeddings.token_strings(lm, nearest.ids)
    listing = ", then ".join(f"{label} ({float(s):.2f})" for label, s in zip(labels, nearest.similarities, strict=True))

    def answer(guess: str) -> str:
        text = f"The closest rows to {embeddings.token_strings(lm, [target])[0]} are {listing}."
        if not guess.strip():
            return text
        try:
            other = embeddings.word_token_id(lm, guess)
        except ValueError as err:
            return f"{text} (Your guess has no single row: {err})"
        if other == target:
            return f"{text} (Your guess is the word itself, and every row is closest to itself: cosine 1.)"
        rank, sim = embeddings.rank_among_neighbours(unit, target, other)
        verdict = "Right. " if rank == 1 else ""
        said = embeddings.token_strings(lm, [other])[0]
        return f"{verdict}{text} Your guess {said} ranks {rank} of {unit.shape[0] - 1} (cosine {sim:.2f})."

    return PredictReveal(f"Of all {lm.d_vocab} tokens, which one has the embedding row closest to {word!r}'s "
                         f"(highest cosine similarity)? Type one word.", answer, placeholder="a word")


class NeighbourExplorer(widgets.VBox):
    """A word's k nearest neighbours in the embedding matrix, on the vocabulary's PCA map and as bars.

    Trace order: [0] the map's tokens (`map_ids`), [1] the k neighbours on the map, [2] the word itself on the map,
    [3] the neighbours' cosine similarities (horizontal bars, nearest at the top). Neighbours are searched over the
    whole vocabulary in all d_model dimensions, and placed on the map with the same projection, so a neighbour
    may lie far away on the 2-D map. Attributes: `word` (Text; Enter searches), `k` (IntSlider), `figure`
    (FigureWidget), `output` (Output), `unit` [vocab, d_model], `xy` [vocab, 2], `neighbours` (the word's max_k
    nearest, an `embeddings.Neighbours`), `model_runs` (similarity searches over the model's embedding matrix:
    one per word; moving k adds none).
    """

    def __init__(self, lm, map_ids: torch.Tensor, projection: embeddings.Projection | None = None,
                 word: str = "cat", k: int = 8, max_k: int = 30):
        if not isinstance(max_k, int) or not 1 <= max_k < lm.d_vocab:
            raise ValueError(f"`max_k` must be an int in [1, {lm.d_vocab - 1}]; got {max_k!r}.")
        if not isinstance(k, int) or not 1 <= k <= max_k:
            raise ValueError(f"`k` must be an int in [1, max_k={max_k}] (how many neighbours); got {k!r}.")
        self.lm, self.max_k, self.model_runs = lm, max_k, 0
        matrix = embeddings.embedding_matrix(lm)  # [vocab, d_model]
        self.unit = embeddings.unit_rows(matrix)
        self.projection = projection if projection is not None else embeddings.pca(matrix[map_ids])
        self.xy = self.projection.project(matrix)  # [vocab, 2]: every token on the same map
        self.word = widgets.Text(value=word, description="Word:", continuous_update=False,
                                 layout=widgets.Layout(width="300px"))
        self.k = widgets.IntSlider(value=k, min=1, max=max_k, description="neighbours k",
                                   style={"description_width": "initial"}, continuous_update=True,
                                   layout=widgets.Layout(width="420px"))
        self.output = widgets.Output()
        self._search(word)
        fig = embedding_map(self.xy[map_ids], embeddings.token_strings(lm, map_ids), title="")
        self.figure = FigureWidget(fig)
        self._add_traces()
        self._draw()
        self.word.observe(lambda _: run_safely(self.output, self._new_word), names="value")
        self.k.observe(lambda _: run_safely(self.output, self._draw), names="value")
        hint = widgets.HTML("Type a word and press Enter; move the slider to show more or fewer neighbours.")
        super().__init__([widgets.HBox([self.word, self.k]), hint, self.output, self.figure])

    def _add_traces(self) -> None:
        hover = f"%{{customdata}}<br>x: %{{x:{EXACT}}}<br>y: %{{y:{EXACT}}}<extra></extra>"
        # Neighbours crowd together on the map, so they are named by hover and in the bars, not by overlapping text.
        self.figure.data[1].update(name="nearest neighbours", mode="markers")
        self.figure.add_trace(go.Scattergl(
            x=[], y=[], mode="markers+text", name="the word", textposition="bottom center",
            marker=dict(size=18, symbol="star", color=BLACK, line=dict(width=1, color="white")),
            textfont=dict(size=15, color=BLACK), hovertemplate=hover))
        self.figure.add_trace(go.Bar(
            x=[], y=[], orientation="h", xaxis="x2", yaxis="y2", name="cosine similarity", marker_color=OKABE_ITO[0],
            hovertemplate=f"%{{y}}<br>cosine similarity: %{{x:{EXACT}}}<extra></extra>"))
        self.figure.update_layout(
            width=940, height=600, showlegend=True, margin=dict(l=70, r=20, t=80, b=60),
            legend=dict(orientation="h", x=0, y=-0.1, yanchor="top"),
            xaxis=dict(domain=[0, MAP_WIDTH]),
            xaxis2=dict(domain=[MAP_WIDTH + 0.14, 1.0], anchor="y2", range=[0, 1],
                        title=dict(text="cosine similarity")),
            yaxis2=dict(anchor="x2", autorange="reversed", type="category", tickfont=dict(size=13)))

    def _search(self, word: str) -> None:
        token_id = embeddings.word_token_id(self.lm, word)  # raises a clear ValueError for several tokens
        self.neighbours = embeddings.nearest_neighbours(self.unit, token_id, self.max_k)
        self.model_runs += 1
        # Escaped for plotly (a token such as '<b>' must show literally), once, at search time.
        self.word_label = token_labels(embeddings.token_strings(self.lm, [token_id]))[0]
        self.labels = token_labels(embeddings.token_strings(self.lm, self.neighbours.ids))  # [max_k]

    def _new_word(self) -> None:
        self._search(self.word.value)
        self._draw()

    def _draw(self) -> None:
        k, ids = self.k.value, self.neighbours.ids[: self.k.value]
        labels, (vocab, dims) = self.labels[:k], self.unit.shape
        near, word = self.xy[ids], self.xy[self.neighbours.token_id]
        with self.figure.batch_update():
            self.figure.data[1].update(x=near[:, 0].tolist(), y=near[:, 1].tolist(), text=labels, customdata=labels)
            self.figure.data[2].update(x=[float(word[0])], y=[float(word[1])], text=[self.word_label],
                                       customdata=[self.word_label])
            self.figure.data[3].update(x=self.neighbours.similarities[:k].tolist(), y=unique_labels(labels))
            self.figure.layout.title.text = (
                f"{self.word_label}: its {k} nearest of {vocab - 1} tokens (all {dims} dims)<br>"
                f"<sup>map: PCA, keeping {float(self.projection.explained.sum()):.0%} of the variance; "
                f"hover a dot for its token</sup>")


def neighbour_explorer(lm, map_ids: torch.Tensor, projection: embeddings.Projection | None = None,
                       word: str = "cat", k: int = 8, max_k: int = 30) -> NeighbourExplorer:
    """A NeighbourExplorer (see the class): word box + k slider over the PCA map of `map_ids` and similarity bars."""
    return NeighbourExplorer(lm, map_ids, projection=projection, word=word, k=k, max_k=max_k)
