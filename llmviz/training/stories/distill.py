"""Simple stories written by SmolLM2-135M-Instruct, to give the tiny model natural plain English to learn from.

The procedural generator (`llmviz.training.stories.generator`) writes fluent but template-like text, and a model trained
on it alone barely models the plain sentences learners type. Here SmolLM2 writes short children's stories in batches,
from prompts in the style of TinyStories (a verb, a noun and an adjective to use, plus one story feature), each drawn
with a seeded generator. Batches append to a JSON-lines file in ~/.cache/llmviz/corpus/ (outside git), so a run can stop
and resume: batch b always uses seed `seed + b`. This module writes text; it does not train or tokenize for training,
and it never downloads anything (SmolLM2 comes from the local cache `llmviz prepare-smollm2` builds).

    python -m llmviz.training.stories.distill --tokens 500000      # about 45 minutes on one CPU thread with bf16 units
    # in parallel
    python -m llmviz.training.stories.distill --out ~/.cache/llmviz/corpus/smollm2_stories_2.jsonl --seed 1000000
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import torch

STORIES_FILE = Path.home() / ".cache" / "llmviz" / "corpus" / "smollm2_stories.jsonl"

VERBS = ("run jump play share find lose help bake climb swim hide sing paint build dig fix wait laugh cry hug "
         "listen look smile throw catch fly ride plant clean read carry open close wish dream fall try").split()
NOUNS = ("ball dog cat tree box cake park bird fish car boat hat kite apple garden rain sun moon star door "
         "friend mom dad sister brother teacher school book toy bear bus shoe flower river hill snow house "
         "window cup bed farm frog duck egg sock").split()
ADJECTIVES = ("big small happy sad red blue kind brave shy funny soft loud quiet warm cold wet shiny new old "
              "sleepy hungry tall little pretty silly careful gentle busy bright dark").split()
FEATURES = ("the story should have some dialogue", "the story should have a happy ending",
            "the story should teach a lesson", "something surprising should happen",
            "the story should have a problem that the characters solve together",
            "the story should have a sad part", "the story should take place in one day",
            "the main character should make a mistake and say sorry")

PROMPT = ("Write a short story (3 to 5 short paragraphs) which only uses very simple words that a 3 year old child "
          "would understand. The story should use the verb \"{verb}\", the noun \"{noun}\" and the adjective "
          "\"{adjective}\". Also, {feature}. Remember to only use simple words!")


def story_prompts(n: int, seed: int) -> list[str]:
    """n prompts drawn with numpy's generator seeded by `seed`: the same (n, seed) always gives the same prompts."""
    if n < 1:
        raise ValueError(f"n={n} must be at least 1: it is the number of prompts to draw.")
    rng = np.random.default_rng(seed)
    return [PROMPT.format(verb=rng.choice(VERBS), noun=rng.choice(NOUNS), adjective=rng.choice(ADJECTIVES),
                          feature=rng.choice(FEATURES)) for _ in range(n)]


def comma_after_opening(text: str) -> str:
    """'Once upon a time in ...' -> 'Once upon a time, in ...': children's books set the opening phrase off with a
    comma, and SmolLM2 leaves it out in about 55 % of its stories; mixed in unedited, they pulled the tiny model's
    P(',' | 'Once upon a time') from 0.99 to 0.64. Idempotent."""
    return re.sub(r"\b(Once upon a time)(?=\s)", r"\1,", text)


def clean_story(text: str) -> str:
    """Keep whole sentences only: cut an unfinished last sentence (generation stops at a token budget), drop a
    leading title line ("Title: ..." or "**...**"), put a comma after "Once upon a time" and normalize blank lines.
    Returns '' if nothing is left."""
    text = comma_after_opening(text.strip())
    lines = text.split("\n")
    if lines and (lines[0].lower().startswith("title") or lines[0].startswith("**") or lines[0].startswith("#")):
        text = "\n".join(lines[1:]).strip()
    ends = [m.end() for m in re.finditer(r"[.!?][\"'”’]?(?=\s|$)", text)]
    text = text[:ends[-1]] if ends else ""
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def read_stories(path: Path | None = None) -> list[str]:
    """Every non-empty story in the stories file `path`, in the order written; by default every
    smollm2_stories*.jsonl beside STORIES_FILE (parallel runs write one file each). Absent files give []."""
    paths = [path] if path is not None else sorted(STORIES_FILE.parent.glob(STORIES_FILE.stem + "*.jsonl"))
    stories = []
    for p in paths:
        if p.exists():
            records = [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
            stories += [comma_after_opening(r["text"]) for r in records if r["text"]]  # files written before the rule
    return stories


def stories_files() -> list[dict]:
    """One summary per stories file read_stories() joins, in the same order: file name, the seed of its batch 0, and
    how many batches, stories and SmolLM2 tokens it holds. The model card prints the commands that rebuild each."""
    summaries = []
    for p in sorted(STORIES_FILE.parent.glob(STORIES_FILE.stem + "*.jsonl")):
        records = [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        if records:
            summaries.append({"file": p.name, "seed": records[0]["seed"] - records[0]["batch"],
                              "batches": 1 + max(r["batch"] for r in records),
                              "stories": sum(1 for r in records if r["text"]),
                              "tokens": sum(r["tokens"] for r in records)})
    return summaries


def generate_batch(lm, prompts: list[str], seed: int, max_new_tokens: int = 256) -> list[str]:
    """One batch of stories from a chat model, cleaned: left-padded, sampled at T=0.8 from the top 50 with a
    repetition penalty of 1.1 (top-k rather than top-p: sorting 49,152 logits per row per step is slow)."""
    tok = lm.tokenizer
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    texts = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
             for p in prompts]
    side, tok.padding_side = tok.padding_side, "left"  # a decoder continues from the right edge
    try:
        enc = tok(texts, return_tensors="pt", padding=True).to(lm.device)
    finally:
        tok.padding_side = side
    torch.manual_seed(seed)
    with torch.inference_mode():
        out = lm.model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=True, temperature=0.8, top_k=50,
                                top_p=1.0, repetition_penalty=1.1, pad_token_id=pad)
    new = out[:, enc["input_ids"].shape[1]:]  # [batch, new]
    return [clean_story(s) for s in tok.batch_decode(new, skip_special_tokens=True)]


def distill(lm, tokens: int, path: Path = STORIES_FILE, batch: int = 96, seed: int = 0, progress: bool = True) -> int:
    """Append batches to `path` until it holds about `tokens` tokens of SmolLM2's own tokenizer; resumes where an
    earlier run stopped. Returns the token count now in the file."""
    from tqdm.auto import tqdm

    if tokens < 1 or batch < 1:
        raise ValueError(f"tokens={tokens} and batch={batch} must both be at least 1.")
    path.parent.mkdir(parents=True, exist_ok=True)
    done = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    have = sum(r["tokens"] for r in done)
    b = 1 + max((r["batch"] for r in done), default=-1)
    bar = tqdm(total=tokens, initial=min(have, tokens), unit="tok", disable=not progress, mininterval=10)
    while have < tokens:
        stories = generate_batch(lm, story_prompts(batch, seed + b), seed + b)
        with path.open("a", encoding="utf-8") as f:
            for text in stories:
                n = len(lm.tokenizer(text)["input_ids"]) if text else 0
                f.write(json.dumps({"batch": b, "seed": seed + b, "tokens": n, "text": text}) + "\n")
                have += n
                bar.update(n)
        b += 1
    bar.close()
    return have


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=500_000, help="stop once the stories file holds this many tokens")
    parser.add_argument("--batch", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=STORIES_FILE)
    args = parser.parse_args(argv)
    import llmviz

    # bf16 uses the CPU's bf16 units (AMX / AVX512-BF16 here). With batch 96 and top-k: 189 tok/s against 61 tok/s
    # for fp32, batch 48 and top-p, on one thread of this machine.
    lm = llmviz.load("smollm2-135m", dtype=torch.bfloat16)
    print(f"{distill(lm, args.tokens, args.out, args.batch, args.seed):,} tokens in {args.out}")


if __name__ == "__main__":
    main()
