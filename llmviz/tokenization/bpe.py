"""Byte-level BPE merge replay: every step a real tokenizer takes to turn a text into ids, returned as data.

In the spirit of minGPT's `encode_and_show_work`: the text is split at special tokens, normalized and
pre-tokenized into chunks (" cat", "'s", ...) by the tokenizer's own components; each chunk becomes UTF-8 bytes,
each byte a printable character (GPT-2's table, so a space is "Ġ"); then the merge with the lowest rank (the
earliest learned) is applied to every occurrence, again and again, until no adjacent pair has a merge. The merge
loop is ours, in Python, and its ids are tested against the tokenizer's own. This works for any byte-level BPE
(GPT-2, the shipped tiny model, SmolLM2). `merge_timeline` orders the steps of every chunk into one sequence for the
whole text, the order the merge explorer's slider and the static merge figure show. It does not train (bpe_train.py
does) and draws nothing (llmviz.viz.merges does).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import pairwise

from llmviz.tokenization.bytelevel import readable_bytes, token_bytes
from llmviz.tokenization.tokenizers import backend, cached_per_tokenizer, is_byte_level, model_type, split_special


@dataclass
class MergeStep:
    """One merge rule applied to a chunk: every occurrence of `pair` becomes `merged`."""

    pair: tuple[str, str]  # e.g. ('Ġ', 't'), as stored in the merges table
    rank: int  # position in the merges table: 0 was learned first and is applied first
    merged: str  # 'Ġt'
    occurrences: int  # how many times the pair was merged in this step (non-overlapping, left to right)
    pieces: list[str]  # the chunk's pieces after the step, raw ('Ġt', 'he')
    readable: list[str]  # the same, readable ('␣t', 'he')


@dataclass
class ChunkReplay:
    """One pre-tokenized chunk of the text and how it was merged."""

    text: str  # the chunk as text, e.g. ' cat'
    span: tuple[int, int]  # character offsets in the normalized text
    byte_values: list[int]  # its UTF-8 bytes, e.g. [32, 99, 97, 116]
    byte_chars: list[str]  # each byte's printable stand-in, e.g. ['Ġ', 'c', 'a', 't']
    steps: list[MergeStep] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)  # final pieces, raw
    ids: list[int] = field(default_factory=list)
    special: bool = False  # a special token such as '<|endoftext|>', matched whole, never merged
    whole_word: bool = False  # the tokenizer's `ignore_merges` found the chunk in the vocabulary directly
    dropped: list[str] = field(default_factory=list)  # byte characters with no token, silently skipped (SmolLM2)


@dataclass
class BPEReplay:
    """The whole encoding of a text: chunks in order; `ids` equals tokenizer(text, add_special_tokens=False)."""

    text: str
    normalized: str
    chunks: list[ChunkReplay]
    tokens: list[str]
    ids: list[int]
    readable: list[str]


@dataclass
class BPETables:
    ranks: dict[tuple[str, str], int]  # merge pair -> rank
    vocab: dict[str, int]
    ignore_merges: bool


def bpe_tables(tokenizer) -> BPETables:
    """The merges (with ranks) and vocabulary of a byte-level BPE tokenizer, read from its tokenizer.json."""
    return cached_per_tokenizer("bpe", tokenizer, lambda: _build_bpe_tables(tokenizer))


def _build_bpe_tables(tokenizer) -> BPETables:
    if model_type(tokenizer) != "BPE" or not is_byte_level(tokenizer):
        raise ValueError(f"replay needs a byte-level BPE tokenizer (GPT-2, tiny, SmolLM2); this one runs "
                         f"{model_type(tokenizer)}. Use wordpiece.py or unigram.py for the others.")
    state = json.loads(backend(tokenizer).to_str())
    model = state["model"]
    if model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
        raise ValueError("replay supports plain byte-level BPE, without subword prefixes or word suffixes.")
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    tables = BPETables(ranks={pair: rank for rank, pair in enumerate(merges)}, vocab=model["vocab"],
                       ignore_merges=bool(model.get("ignore_merges")))
    return tables


def merge_word(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[MergeStep]:
    """Apply merges to `symbols` (changed in place) lowest rank first; return the steps.

    Merging every occurrence of the best pair in one step gives the same result as Hugging Face's priority queue:
    a pair created by a merge always has a higher rank than that merge, so it can never jump the queue.
    """
    steps = []
    while len(symbols) > 1:
        pairs = set(pairwise(symbols))
        ranked = [(ranks[p], p) for p in pairs if p in ranks]
        if not ranked:
            break
        rank, (a, b) = min(ranked)
        merged, out, i, count = a + b, [], 0, 0
        while i < len(symbols):  # left to right, non-overlapping: 'a a a' -> 'aa a'
            if i + 1 < len(symbols) and symbols[i] == a and symbols[i + 1] == b:
                out.append(merged)
                i, count = i + 2, count + 1
            else:
                out.append(symbols[i])
                i += 1
        symbols[:] = out
        steps.append(MergeStep(pair=(a, b), rank=rank, merged=merged, occurrences=count, pieces=list(out),
                               readable=[readable_bytes(token_bytes(s)) for s in out]))
    return steps


def replay(tokenizer, text: str) -> BPEReplay:
    """Encode `text` step by step with a byte-level BPE tokenizer's own merges. No special tokens are added."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}.")
    tables = bpe_tables(tokenizer)
    inner = backend(tokenizer)
    chunks: list[ChunkReplay] = []
    normalized_parts = []
    offset = 0
    for part, special in split_special(tokenizer, text):
        if special:  # e.g. '<|endoftext|>' typed in the text: one token, matched before anything else
            chunks.append(ChunkReplay(text=part, span=(offset, offset + len(part)), byte_values=[], byte_chars=[],
                                      tokens=[part], ids=[tokenizer.convert_tokens_to_ids(part)],
                                      special=True))
            normalized_parts.append(part)
            offset += len(part)
            continue
        normalized = inner.normalizer.normalize_str(part) if inner.normalizer else part
        normalized_parts.append(normalized)
        for piece, (start, end) in inner.pre_tokenizer.pre_tokenize_str(normalized) if normalized else []:
            data = token_bytes(piece)  # the pre-tokenizer already mapped bytes to GPT-2's printable characters
            chunk = ChunkReplay(text=data.decode("utf-8", errors="replace"), span=(offset + start, offset + end),
                                byte_values=list(data), byte_chars=list(piece))
            if tables.ignore_merges and piece in tables.vocab:
                chunk.tokens, chunk.whole_word = [piece], True
            else:
                # A byte with no token of its own is dropped, as the library does when there is no unknown token;
                # its neighbours become adjacent. GPT-2 has all 256 bytes; SmolLM2 lacks 21 (missing_bytes()).
                symbols = [c for c in piece if c in tables.vocab]
                chunk.dropped = [c for c in piece if c not in tables.vocab]
                chunk.steps = merge_word(symbols, tables.ranks)
                chunk.tokens = symbols
            chunk.ids = [tables.vocab[t] for t in chunk.tokens]
            chunks.append(chunk)
        offset += len(normalized)
    tokens = [t for c in chunks for t in c.tokens]
    return BPEReplay(text=text, normalized="".join(normalized_parts), chunks=chunks, tokens=tokens,
                     ids=[i for c in chunks for i in c.ids],
                     readable=[t if c.special else readable_bytes(token_bytes(t)) for c in chunks for t in c.tokens])


@dataclass
class MergeState:
    """The whole text after global merge step `step` (0: bytes, nothing merged)."""
    step: int
    merge: MergeStep | None  # the rule applied at this step (pair, rank, merged), None at step 0
    occurrences: int  # how many places in the whole text the rule merged
    pieces: list[str]  # raw vocabulary strings, e.g. 'Ġt'
    spans: list[tuple[int, int]]  # each piece's byte offsets [start, end) in the text's bytes
    new: list[bool]  # True for the pieces this step's merge created


def merge_timeline(rep) -> list[MergeState]:
    """Every state of a `BPEReplay` under the global order of its merge rules: len = distinct ranks used + 1."""
    ranks = sorted({s.rank for c in rep.chunks for s in c.steps})
    states = []
    for k in range(len(ranks) + 1):
        limit = ranks[k - 1] if k else -1
        pieces, new, widths, merge, count = [], [], [], None, 0
        for chunk in rep.chunks:
            if chunk.special or chunk.whole_word:  # matched whole: one piece from the start
                pieces.append(chunk.tokens[0])
                new.append(False)
                widths.append(len(chunk.text.encode("utf-8")))
                continue
            done = [s for s in chunk.steps if s.rank <= limit]
            current = done[-1].pieces if done else [c for c in chunk.byte_chars if c not in chunk.dropped]
            hit = bool(done) and done[-1].rank == limit
            if hit:
                merge, count = done[-1], count + done[-1].occurrences
            pieces += current
            new += [hit and p == done[-1].merged for p in current]
            widths += [len(token_bytes(p)) for p in current]
        ends = [sum(widths[:i + 1]) for i in range(len(widths))]
        spans = [(end - w, end) for w, end in zip(widths, ends, strict=True)]
        states.append(MergeState(k, merge, count, pieces, spans, new))
    return states


def piece_ids(tokenizer, states) -> dict[str, int]:
    """Every piece any state of a `merge_timeline` shows, mapped to its id in `tokenizer` (a piece -> id table)."""
    return {p: tokenizer.convert_tokens_to_ids(p) for state in states for p in state.pieces}
