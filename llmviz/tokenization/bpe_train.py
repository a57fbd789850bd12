"""BPE training from scratch, as the seed describes it: count adjacent pairs, merge the most frequent, repeat.

`train_bpe` runs that loop in plain Python on a paragraph and records every step (the pair, its count, the runners
up, the new token and how each word is split afterwards). It reproduces the `tokenizers` library's BpeTrainer
exactly, merges and ids, so a notebook can show the from-scratch loop is the real algorithm. Matching it needs
three details the textbook leaves open: (1) ids: special tokens first, then the alphabet sorted by code point, then
each new token in the order it is made; (2) ties: among pairs with the same count, the one whose (left id, right id)
is smallest wins; (3) stopping: when the vocabulary reaches `vocab_size` (a merge that rebuilds an existing string
adds no token) or no pair occurs `min_frequency` times. Splitting the text into words uses the library's own
pre-tokenizer ('byte_level' like GPT-2, or 'whitespace'); the merge loop is ours. `train_with_library` runs the
library's trainer with the same settings. This module does not encode new text (bpe.py replays that).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

PRE_TOKENIZERS = ("byte_level", "whitespace")


@dataclass
class TrainStep:
    """One merge learned."""

    pair: tuple[str, str]
    count: int  # how often the pair occurs in the corpus (words weighted by their counts)
    new_token: str
    new_id: int
    candidates: list[tuple[tuple[str, str], int]]  # the most frequent pairs at this step, best first
    segmentation: list[list[str]]  # every distinct word's pieces after the merge, in `BPETraining.words` order


@dataclass
class BPETraining:
    """Everything the from-scratch trainer saw and made."""

    words: list[str]  # distinct pre-tokenized words, in first-seen order
    word_counts: list[int]
    alphabet: list[str]  # initial symbols, sorted by code point
    vocab: dict[str, int]
    merges: list[tuple[str, str]]
    steps: list[TrainStep] = field(default_factory=list)


def _pre_tokenizer(kind: str):
    from tokenizers import pre_tokenizers
    if kind == "byte_level":
        return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if kind == "whitespace":
        return pre_tokenizers.Whitespace()
    raise ValueError(f"pre_tokenizer must be one of {PRE_TOKENIZERS}, not {kind!r}.")


def _check(text: str, vocab_size: int, min_frequency: int) -> None:
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must be a non-empty string: type a paragraph to train on.")
    if not isinstance(vocab_size, int) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive integer, not {vocab_size!r}.")
    if not isinstance(min_frequency, int) or min_frequency < 0:
        raise ValueError(f"min_frequency must be an integer >= 0, not {min_frequency!r}.")


def train_bpe(text: str, vocab_size: int, pre_tokenizer: str = "byte_level", min_frequency: int = 0,
              special_tokens: tuple[str, ...] = (), n_candidates: int = 5) -> BPETraining:
    """Learn BPE merges from `text` until the vocabulary holds `vocab_size` tokens (alphabet and specials included).

    With pre_tokenizer='byte_level' the alphabet is all 256 byte characters (so vocab_size must exceed 256 plus the
    special tokens to learn anything); with 'whitespace' it is the characters the text uses.
    """
    _check(text, vocab_size, min_frequency)
    splitter = _pre_tokenizer(pre_tokenizer)
    counts = Counter(piece for piece, _ in splitter.pre_tokenize_str(text))
    words = list(counts)
    symbols = {c for w in words for c in w}
    if pre_tokenizer == "byte_level":
        from tokenizers import pre_tokenizers
        symbols |= set(pre_tokenizers.ByteLevel.alphabet())
    alphabet = sorted(symbols, key=ord)
    vocab: dict[str, int] = {}
    for token in [*special_tokens, *alphabet]:
        vocab.setdefault(token, len(vocab))
    pieces = [list(w) for w in words]  # [word][symbol]
    weights = [counts[w] for w in words]
    result = BPETraining(words=words, word_counts=weights, alphabet=alphabet, vocab=vocab, merges=[])
    while len(vocab) < vocab_size:
        pair_counts: Counter = Counter()
        for word, weight in zip(pieces, weights, strict=True):
            for pair in pairwise(word):  # overlapping: 'aaa' holds ('a', 'a') twice
                pair_counts[pair] += weight
        if not pair_counts:
            break
        # Most frequent first; ties go to the smallest (left id, right id), as in the library's heap.
        ranked = sorted(pair_counts.items(), key=lambda item: (-item[1], vocab[item[0][0]], vocab[item[0][1]]))
        (a, b), count = ranked[0]
        if count < max(min_frequency, 1):
            break
        new = a + b
        vocab.setdefault(new, len(vocab))
        result.merges.append((a, b))
        for word in pieces:
            _merge(word, a, b, new)
        result.steps.append(TrainStep(pair=(a, b), count=count, new_token=new, new_id=vocab[new],
                                      candidates=ranked[:n_candidates], segmentation=[list(w) for w in pieces]))
    return result


def _merge(word: list[str], a: str, b: str, new: str) -> None:
    """Replace every (a, b) in `word` by `new`, left to right and non-overlapping, in place."""
    i = 0
    while i < len(word) - 1:
        if word[i] == a and word[i + 1] == b:
            word[i:i + 2] = [new]
        i += 1


def train_with_library(text: str, vocab_size: int, pre_tokenizer: str = "byte_level", min_frequency: int = 0,
                       special_tokens: tuple[str, ...] = ()):
    """The `tokenizers` library's BpeTrainer on the same input and settings: (merges, vocab)."""
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    _check(text, vocab_size, min_frequency)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = _pre_tokenizer(pre_tokenizer)
    alphabet = pre_tokenizers.ByteLevel.alphabet() if pre_tokenizer == "byte_level" else []
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, show_progress=False,
                                  special_tokens=list(special_tokens), initial_alphabet=alphabet)
    tokenizer.train_from_iterator([text], trainer=trainer)
    model = json.loads(tokenizer.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return merges, model["vocab"]
