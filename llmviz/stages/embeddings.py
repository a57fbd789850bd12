"""The embedding matrix as data (notebook 02): look up the row of a word, compare rows by cosine similarity, find a
row's nearest neighbours, pick the tokens a text uses most, and project rows to two dimensions with PCA.

The embedding layer is a table: token id i selects row i of W_E [d_vocab, d_model], which is exactly what the
model's `hook_embed` captures. Everything here works on that table (or on any matrix of row vectors) and returns
tensors or small dataclasses. It deliberately does not run the model forward, plot, or train anything: the map's
figure is `llmviz.viz.embedding_map`, and positions (added after the lookup) are `llmviz.stages.positional`'s subject.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from llmviz.stages.positional import cosine_similarity_matrix
from llmviz.tokenization.bytelevel import readable_bytes


def embedding_matrix(lm) -> torch.Tensor:
    """W_E [d_vocab, d_model] of an `LM`, detached, float32, on the CPU (row i is token i's vector)."""
    return lm.model.get_input_embeddings().weight.detach().float().cpu()


def word_token_id(lm, word: str, leading_space: bool = True) -> int:
    """The id of the single token that spells `word` (with a leading space by default, as inside a sentence).

    Raises ValueError, naming the pieces, when the word is empty or splits into several tokens: the embedding
    matrix has one row per token, so only a one-token word has a row of its own.
    """
    if not isinstance(word, str):
        raise TypeError(f"`word` must be a str, e.g. 'cat'; got {type(word).__name__}.")
    stripped = word.strip()
    if not stripped:
        raise ValueError("`word` is empty; type one word, e.g. cat.")
    text = " " + stripped if leading_space else stripped
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        pieces = " + ".join(token_strings(lm, ids))
        raise ValueError(f"{stripped!r} is not one token for the {lm.name} model: it splits into {len(ids)} "
                         f"tokens ({pieces}). Only a single token has a row of its own; try a common word.")
    return int(ids[0])


def token_strings(lm, ids) -> list[str]:
    """Readable tokens ('␣cat') for any number of ids [n]; unlike `lm.to_str_tokens` there is no context limit,
    because these are rows of a table, not a prompt."""
    return [readable_bytes(lm.token_bytes(int(i))) for i in torch.as_tensor(ids).flatten()]


def unit_rows(matrix: torch.Tensor) -> torch.Tensor:
    """[n, d] -> [n, d]: every row scaled to length 1, so a dot product of two rows is their cosine similarity."""
    if matrix.dim() != 2:
        raise ValueError(f"`matrix` must be [n, d]; got shape {tuple(matrix.shape)}.")
    return torch.nn.functional.normalize(matrix.float(), dim=-1)


def cosine_similarity(vectors: torch.Tensor) -> torch.Tensor:
    """[n, d] -> [n, n] float32: cos(a, b) = a·b / (|a| |b|) for every pair of rows; 1 on the diagonal (computed
    in float64 by positional.cosine_similarity_matrix, the same table notebook 03 draws for positions)."""
    return cosine_similarity_matrix(vectors.float())


@dataclass
class Neighbours:
    """The k rows most similar to one row (itself excluded), most similar first."""

    token_id: int
    ids: torch.Tensor  # [k] token ids
    similarities: torch.Tensor  # [k] cosine similarity to token_id, decreasing


def nearest_neighbours(unit: torch.Tensor, token_id: int, k: int) -> Neighbours:
    """The k tokens whose rows have the highest cosine similarity to row `token_id`. unit: `unit_rows(W_E)` [n, d].

    Ties are broken by the lower id, so the answer is deterministic.
    """
    n = unit.shape[0]
    if not 0 <= int(token_id) < n:
        raise ValueError(f"`token_id` must lie in [0, {n}); got {token_id}.")
    if not isinstance(k, int) or not 1 <= k < n:
        raise ValueError(f"`k` must be an int in [1, {n - 1}] (how many neighbours); got {k!r}.")
    sims = similarities_to(unit, token_id)  # [n]
    sims[int(token_id)] = -float("inf")  # a token is not its own neighbour
    order = torch.sort(sims, descending=True, stable=True).indices[:k]  # [k]
    return Neighbours(int(token_id), order, sims[order])


def similarities_to(unit: torch.Tensor, token_id: int) -> torch.Tensor:
    """[n]: the cosine similarity of every row of unit [n, d] to row `token_id`."""
    return unit @ unit[int(token_id)]


def rank_among_neighbours(unit: torch.Tensor, token_id: int, other_id: int) -> tuple[int, float]:
    """Where `other_id` ranks among `token_id`'s neighbours (1 = nearest, itself excluded), and its similarity."""
    if int(other_id) == int(token_id):
        raise ValueError("`other_id` is the token itself; a token is not its own neighbour.")
    sims = similarities_to(unit, token_id)
    sims[int(token_id)] = -float("inf")
    target = float(sims[int(other_id)])
    # Rows strictly more similar, plus equal ones with a lower id (the same tie rule as nearest_neighbours).
    ahead = int((sims > target).sum()) + int((sims[: int(other_id)] == target).sum())
    return ahead + 1, target


def common_token_ids(lm, texts: Iterable[str], n: int) -> torch.Tensor:
    """[<= n] the ids of the n tokens that occur most often in `texts`, most frequent first (ties: lower id first).

    Fewer than n come back when the texts use fewer distinct tokens.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"`n` must be a positive int (how many tokens to keep); got {n!r}.")
    counts: Counter[int] = Counter()
    for text in texts:
        counts.update(lm.tokenizer(text, add_special_tokens=False)["input_ids"])
    if not counts:
        raise ValueError("`texts` holds no tokens; give at least one non-empty text.")
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]
    return torch.tensor([token for token, _ in ranked], dtype=torch.long)


@dataclass
class Projection:
    """A principal-component projection fitted to some rows: points = (rows - mean) @ components.T."""

    mean: torch.Tensor  # [d]
    components: torch.Tensor  # [n_components, d], orthonormal, strongest direction first
    explained: torch.Tensor  # [n_components], fraction of the fitted rows' variance along each component
    points: torch.Tensor  # [n, n_components], the fitted rows projected

    def project(self, rows: torch.Tensor) -> torch.Tensor:
        """[m, d] -> [m, n_components]: any rows (e.g. the whole vocabulary) placed on the same map."""
        return (rows.float() - self.mean) @ self.components.T


def pca(rows: torch.Tensor, n_components: int = 2) -> Projection:
    """Principal components of rows [n, d] by an SVD of the centred rows; each component's sign is fixed so that
    its largest coefficient is positive (an SVD may flip it), which keeps the map the same from run to run."""
    if rows.dim() != 2 or rows.shape[0] < 2:
        raise ValueError(f"`rows` must be [n, d] with n >= 2; got shape {tuple(rows.shape)}.")
    if not isinstance(n_components, int) or not 1 <= n_components <= min(rows.shape):
        raise ValueError(f"`n_components` must be an int in [1, {min(rows.shape)}]; got {n_components!r}.")
    x = rows.double()
    mean = x.mean(0)  # [d]
    _, s, vt = torch.linalg.svd(x - mean, full_matrices=False)  # s [r], vt [r, d]
    components = vt[:n_components]
    signs = torch.sign(components.gather(1, components.abs().argmax(1, keepdim=True)))  # [n_components, 1]
    components = components * signs
    variance = s**2
    projection = Projection(mean.float(), components.float(), (variance[:n_components] / variance.sum()).float(),
                            torch.empty(0))
    projection.points = projection.project(rows)
    return projection
