"""Train the small Unigram (SentencePiece-style) tokenizer shipped in data/tokenizers/unigram/tokenizer.json.

No real SentencePiece Unigram model is installable offline here (the `sentencepiece` wheel ships no .model files,
and the T5/ALBERT/XLNet models live on model hubs), so we train one the way SentencePiece does: the `tokenizers`
library's UnigramTrainer (EM over a seed vocabulary, pruning to `--vocab-size`), on Jane Austen's novels from
llmviz.training.corpus, with SentencePiece's NFKC normalization and "▁" (U+2581) for spaces. It is about 130 kB, small
enough to commit. Retraining gives the same 4000 pieces, with scores that differ in the fourth decimal (the trainer
sums in hash-map order), so tests never retrain: they check our Viterbi against the shipped file's own output.

    python scripts/train_unigram_tokenizer.py            # rewrites data/tokenizers/unigram/tokenizer.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from llmviz.training.corpus import austen_books

TARGET = Path(__file__).resolve().parent.parent / "data" / "tokenizers" / "unigram" / "tokenizer.json"
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]  # SentencePiece's usual ids 0..3


def train(vocab_size: int = 4000) -> Tokenizer:
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, unk_token="<unk>",
                                      show_progress=False, max_piece_length=16)
    paragraphs = [p for book in austen_books().values() for p in book.split("\n\n") if p.strip()]
    tokenizer.train_from_iterator(paragraphs, trainer=trainer)
    return tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab-size", type=int, default=4000)
    args = parser.parse_args()
    tokenizer = train(args.vocab_size)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(TARGET), pretty=False)
    print(f"{TARGET}: {tokenizer.get_vocab_size()} pieces, {TARGET.stat().st_size / 1000:.0f} kB")


if __name__ == "__main__":
    main()
