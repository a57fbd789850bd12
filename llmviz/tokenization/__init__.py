"""Text to token ids and back: real tokenizers by name, byte-level views, and the algorithms replayed step by step.

`load_tokenizer` gives five real tokenizers offline (tokenizers.py); bpe.py replays BPE merges, bpe_train.py trains
a BPE live, wordpiece.py and unigram.py replay WordPiece and a Unigram lattice, bytelevel.py maps bytes to the
characters byte-level BPE shows, and detokenize.py turns ids back into text while streaming (notebooks 01 and 11).
Nothing here runs a model.
"""

from llmviz.tokenization.bpe import BPEReplay, BPETables, MergeStep, bpe_tables, replay
from llmviz.tokenization.bpe_train import BPETraining, train_bpe, train_with_library
from llmviz.tokenization.bytelevel import bytes_to_unicode, readable, readable_bytes, token_bytes, unicode_to_bytes
from llmviz.tokenization.detokenize import Utf8Stream, token_text_bytes
from llmviz.tokenization.tokenizers import (
    compare,
    encode_with_special_tokens,
    load_tokenizer,
    missing_bytes,
    piece_bytes,
    special_tokens,
    tokenize,
)
from llmviz.tokenization.unigram import viterbi
from llmviz.tokenization.wordpiece import wordpiece

__all__ = ["BPEReplay", "BPETables", "BPETraining", "MergeStep", "Utf8Stream", "bpe_tables", "bytes_to_unicode",
           "compare", "encode_with_special_tokens", "load_tokenizer", "missing_bytes", "piece_bytes", "readable",
           "readable_bytes", "replay", "special_tokens", "token_bytes", "token_text_bytes", "tokenize", "train_bpe",
           "train_with_library", "unicode_to_bytes", "viterbi", "wordpiece"]
