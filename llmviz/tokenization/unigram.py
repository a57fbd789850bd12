"""Unigram (SentencePiece-style) segmentation: the lattice of candidate pieces, Viterbi's best path, alternatives.

A Unigram model gives every piece a log-probability. To split a word ("▁unhappiness"), lay out every vocabulary
piece that matches somewhere in it (the lattice), then find the path from start to end whose scores sum highest
(Viterbi: one pass left to right keeping, for each position, the best path that ends there). A character no piece
covers becomes <unk> with score min_score - 10, and neighbouring <unk>s fuse into one, as in SentencePiece and the
`tokenizers` library. Ties go to the path whose last piece starts earliest, as the library breaks them. We also
return the n best whole paths, so a notebook can show how close the runners-up came. Normalization and the split
into words use the tokenizer's own components and are recorded. This module does not train (see
scripts/train_unigram_tokenizer.py) and draws nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from llmviz.tokenization.tokenizers import backend, cached_per_tokenizer, model_type, split_special

UNK_PENALTY = 10.0  # SentencePiece's kUnkPenalty: an unknown character scores min_score - 10


@dataclass
class LatticeNode:
    """A candidate piece covering characters [start, end) of the word."""

    start: int
    end: int
    piece: str
    id: int
    score: float  # log-probability; the unknown token gets min_score - UNK_PENALTY
    unknown: bool = False


@dataclass
class BestEnding:
    """The best path over characters [0, end): its total score and its last piece."""

    end: int
    score: float
    last: LatticeNode


@dataclass
class Path:
    pieces: list[str]
    score: float


@dataclass
class UnigramWord:
    word: str  # e.g. '▁unhappiness' after normalization and pre-tokenization
    span: tuple[int, int]
    lattice: list[LatticeNode] = field(default_factory=list)
    best_ending: list[BestEnding] = field(default_factory=list)  # one per end position 1..len(word)
    best_path: list[LatticeNode] = field(default_factory=list)
    best_score: float = 0.0
    alternatives: list[Path] = field(default_factory=list)  # the n best paths, best first (before <unk> fusing)
    tokens: list[str] = field(default_factory=list)  # after fusing neighbouring <unk>s
    ids: list[int] = field(default_factory=list)


@dataclass
class UnigramResult:
    """`ids` equals tokenizer(text, add_special_tokens=False)['input_ids']."""

    text: str
    normalized: str
    words: list[UnigramWord]
    tokens: list[str]
    ids: list[int]


@dataclass
class UnigramModel:
    vocab: dict[str, int]
    scores: list[float]
    unk_id: int
    unk_score: float
    max_len: int  # longest piece, in characters: bounds the lattice search


def unigram_model(tokenizer) -> UnigramModel:
    """The pieces, their scores and the unknown token of a Unigram tokenizer, read from its tokenizer.json."""
    return cached_per_tokenizer("unigram", tokenizer, lambda: _build_unigram_model(tokenizer))


def _build_unigram_model(tokenizer) -> UnigramModel:
    if model_type(tokenizer) != "Unigram":
        raise ValueError(f"viterbi needs a Unigram tokenizer such as load_tokenizer('unigram'); this one runs "
                         f"{model_type(tokenizer)}.")
    state = json.loads(backend(tokenizer).to_str())
    model = state["model"]
    if model.get("byte_fallback"):
        raise ValueError("byte-fallback Unigram models are not supported: they spell unknown characters as bytes.")
    pieces = [piece for piece, _ in model["vocab"]]
    scores = [float(score) for _, score in model["vocab"]]
    built = UnigramModel(vocab={p: i for i, p in enumerate(pieces)}, scores=scores, unk_id=model["unk_id"],
                         unk_score=min(scores) - UNK_PENALTY, max_len=max(map(len, pieces)))
    return built


def build_lattice(word: str, model: UnigramModel) -> list[LatticeNode]:
    """Every vocabulary piece matching inside `word`, by start then length; an <unk> node where no single
    character piece exists, so a path always exists."""
    nodes = []
    for start in range(len(word)):
        has_single = False
        for end in range(start + 1, min(len(word), start + model.max_len) + 1):
            piece = word[start:end]
            if piece in model.vocab:
                nodes.append(LatticeNode(start, end, piece, model.vocab[piece], model.scores[model.vocab[piece]]))
                has_single |= end == start + 1
        if not has_single:
            nodes.append(LatticeNode(start, start + 1, word[start], model.unk_id, model.unk_score, unknown=True))
    return nodes


def viterbi_word(word: str, model: UnigramModel, n_best: int = 5) -> UnigramWord:
    """Best segmentation of one word, the best path ending at each position, and the n best paths."""
    result = UnigramWord(word=word, span=(0, len(word)))
    result.lattice = build_lattice(word, model)
    n = len(word)
    best: list[tuple[float, LatticeNode] | None] = [None] * (n + 1)  # best[end] = (score, last node)
    best[0] = (0.0, None)
    for node in result.lattice:  # ordered by start, so best[node.start] is final when we reach it
        candidate = best[node.start][0] + node.score
        if best[node.end] is None or candidate > best[node.end][0]:  # strict: ties keep the earlier start
            best[node.end] = (candidate, node)
    result.best_ending = [BestEnding(end, *best[end]) for end in range(1, n + 1)]
    end, path = n, []
    while end > 0:
        node = best[end][1]
        path.append(node)
        end = node.start
    result.best_path = path[::-1]
    result.best_score = best[n][0] if n else 0.0
    result.alternatives = n_best_paths(result.lattice, n, n_best)
    result.tokens, result.ids = _fuse_unknown(result.best_path, word, model)
    return result


def n_best_paths(lattice: list[LatticeNode], length: int, n_best: int) -> list[Path]:
    """The `n_best` highest-scoring segmentations over characters [0, length), best first (k-best Viterbi)."""
    if not isinstance(n_best, int) or n_best < 1:
        raise ValueError(f"n_best must be a positive integer, not {n_best!r}.")
    partial: list[list[tuple[float, tuple[str, ...]]]] = [[] for _ in range(length + 1)]
    partial[0] = [(0.0, ())]
    for node in lattice:
        partial[node.end].extend((score + node.score, pieces + (node.piece,)) for score, pieces in partial[node.start])
        partial[node.end] = sorted(partial[node.end], key=lambda p: -p[0])[:n_best]
    return [Path(list(pieces), score) for score, pieces in partial[length]]


def _fuse_unknown(path: list[LatticeNode], word: str, model: UnigramModel) -> tuple[list[str], list[int]]:
    """Neighbouring unknown characters become one <unk> token, as the library does (fuse_unk)."""
    tokens, ids = [], []
    for node in path:
        if node.id == model.unk_id and ids and ids[-1] == model.unk_id:
            continue
        ids.append(node.id)
        tokens.append(node.piece if node.id != model.unk_id else word[node.start:node.end])
    unk = next(p for p, i in model.vocab.items() if i == model.unk_id)
    return [unk if i == model.unk_id else t for t, i in zip(tokens, ids, strict=True)], ids


def viterbi(tokenizer, text: str, n_best: int = 5) -> UnigramResult:
    """Segment `text` with a Unigram tokenizer step by step (no special tokens added)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}.")
    model = unigram_model(tokenizer)
    inner = backend(tokenizer)
    words, normalized_parts, offset = [], [], 0
    for part, special in split_special(tokenizer, text):
        if special:  # a special token in the text: matched whole, never segmented
            word = UnigramWord(word=part, span=(offset, offset + len(part)), tokens=[part], ids=[model.vocab[part]])
            words.append(word)
            normalized_parts.append(part)
            offset += len(part)
            continue
        normalized = inner.normalizer.normalize_str(part) if inner.normalizer and part else part
        normalized_parts.append(normalized)
        pieces = inner.pre_tokenizer.pre_tokenize_str(normalized) if inner.pre_tokenizer and normalized else \
            ([(normalized, (0, len(normalized)))] if normalized else [])
        for piece, (start, end) in pieces:
            word = viterbi_word(piece, model, n_best)
            word.span = (offset + start, offset + end)
            words.append(word)
        offset += len(normalized)
    return UnigramResult(text=text, normalized="".join(normalized_parts), words=words,
                         tokens=[t for w in words for t in w.tokens], ids=[i for w in words for i in w.ids])
