"""WordPiece, as BERT runs it: greedy longest-match-first with '##' continuation pieces and [UNK], every attempt kept.

For each word, start at its first character and try the longest remaining substring; if it is not in the
vocabulary, drop one character from the end and try again. The first hit is a piece; the next search starts right
after it, and every piece but the first is looked up with the '##' prefix ("running" -> "run", "##ning"). If some
position matches nothing, the whole word becomes [UNK]; so does a word longer than `max_input_chars_per_word`.
Normalization (BERT lower-cases, strips accents and spaces out CJK characters) and the split into words use the
tokenizer's own components and are recorded; the greedy search is ours and is tested against the tokenizer's ids.
This module does not train a WordPiece vocabulary and draws nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from llmviz.tokenization.tokenizers import backend, cached_per_tokenizer, model_type, split_special


@dataclass
class Attempt:
    """One vocabulary look-up: characters [start, end) of the word, with '##' when start > 0."""

    start: int
    end: int
    candidate: str
    found: bool


@dataclass
class WordSegmentation:
    word: str  # after normalization and pre-tokenization
    span: tuple[int, int]  # character offsets in the normalized text
    attempts: list[Attempt] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    unknown: bool = False  # some position matched nothing, so the word is [UNK]
    too_long: bool = False  # longer than max_input_chars_per_word: [UNK] without searching


@dataclass
class WordPieceResult:
    """`ids` equals tokenizer(text, add_special_tokens=False)['input_ids']."""

    text: str
    normalized: str
    words: list[WordSegmentation]
    tokens: list[str]
    ids: list[int]


def wordpiece_settings(tokenizer) -> dict:
    """The WordPiece model's vocabulary, unknown token, continuation prefix and word-length limit (cached)."""
    return cached_per_tokenizer("wordpiece", tokenizer, lambda: _build_wordpiece_settings(tokenizer))


def _build_wordpiece_settings(tokenizer) -> dict:
    if model_type(tokenizer) != "WordPiece":
        raise ValueError(f"wordpiece needs a WordPiece tokenizer such as load_tokenizer('bert'); this one runs "
                         f"{model_type(tokenizer)}.")
    settings = json.loads(backend(tokenizer).to_str())["model"]
    return settings


def segment_word(word: str, vocab: dict[str, int], unk_token: str = "[UNK]", prefix: str = "##",
                 max_chars: int = 100) -> WordSegmentation:
    """Greedy longest-match-first segmentation of one word, recording every look-up."""
    result = WordSegmentation(word=word, span=(0, len(word)))
    if len(word) > max_chars:
        result.tokens, result.ids, result.too_long = [unk_token], [vocab[unk_token]], True
        return result
    start, pieces = 0, []
    while start < len(word):
        end, found = len(word), None
        while start < end:  # longest first: shrink from the right one character at a time
            candidate = (prefix if start > 0 else "") + word[start:end]
            hit = candidate in vocab
            result.attempts.append(Attempt(start=start, end=end, candidate=candidate, found=hit))
            if hit:
                found = candidate
                break
            end -= 1
        if found is None:  # nothing matches at `start`: the whole word is unknown, not just this part
            result.tokens, result.ids, result.unknown = [unk_token], [vocab[unk_token]], True
            return result
        pieces.append(found)
        start = end
    result.tokens, result.ids = pieces, [vocab[p] for p in pieces]
    return result


def wordpiece(tokenizer, text: str) -> WordPieceResult:
    """Tokenize `text` with a WordPiece tokenizer step by step (no [CLS]/[SEP]; see tokenizers.special_tokens)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}.")
    settings = wordpiece_settings(tokenizer)
    inner = backend(tokenizer)
    vocab = settings["vocab"]
    out, normalized_parts, offset = [], [], 0
    for part, special in split_special(tokenizer, text):
        if special:  # e.g. '[SEP]' typed in the text: matched whole, never split
            out.append(WordSegmentation(word=part, span=(offset, offset + len(part)), tokens=[part],
                                        ids=[vocab[part]]))
            normalized = part
        else:
            normalized = inner.normalizer.normalize_str(part) if inner.normalizer else part
            for word, (start, end) in inner.pre_tokenizer.pre_tokenize_str(normalized):
                segmentation = segment_word(word, vocab, settings["unk_token"], settings["continuing_subword_prefix"],
                                            settings["max_input_chars_per_word"])
                segmentation.span = (offset + start, offset + end)
                out.append(segmentation)
        normalized_parts.append(normalized)
        offset += len(normalized)
    return WordPieceResult(text=text, normalized="".join(normalized_parts), words=out,
                           tokens=[t for w in out for t in w.tokens], ids=[i for w in out for i in w.ids])
