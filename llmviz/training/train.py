"""Train the shipped tiny GPT-2 and its draft from scratch: `python -m llmviz.training.train --preset tiny` (or
tiny-draft).

The recipe: generate stories (stories/generator.py), fetch the classics (corpus.py) and read SmolLM2's own stories
(stories/distill.py, made beforehand); train a byte-level BPE tokenizer (vocab 4096, `<|endoftext|>` as BOS/EOS/pad; the
draft reuses the tiny model's tokenizer so the two share a vocabulary); then train a `GPT2LMHeadModel` on blocks drawn
40 % from SmolLM2's stories, 35 % from generated stories and 25 % from the classics, to a FIXED token budget with fixed
seeds (never to a wall-clock budget), with bf16 autocast on CPU, or on CUDA when one is present. It then measures the
validation loss per source and writes the model folder (fp16 safetensors, config, tokenizer, metrics.json, and a model
card through model_card.py). It does not load or explain models (models.py and the notebooks do); `--smoke` trains a toy
configuration in seconds for tests.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from llmviz.registry import DATA_DIR
from llmviz.training.stories.generator import stories

EOT = "<|endoftext|>"
HELDOUT_PLAIN = DATA_DIR / "heldout" / "plain_stories.txt"
HELDOUT_CLASSICS = DATA_DIR / "heldout" / "classics_excerpt.txt"


@dataclass(frozen=True)
class Preset:
    d_model: int
    n_layers: int
    n_heads: int
    n_ctx: int = 256
    vocab: int = 4096
    tokens: int = 10_000_000
    batch: int = 16
    lr: float = 2e-3
    warmup: int = 100
    story_share: float = 0.75  # share of blocks from the generator's stories; the rest is classics (and distilled)
    distilled_share: float = 0.0  # share of blocks from SmolLM2's own simple stories (stories/distill.py)
    classics: bool = True
    tokenizer_from: str | None = None  # reuse this folder's tokenizer instead of training one
    seed: int = 0
    n_val: int = 400  # generated validation stories


PRESETS = {
    # 55 % SmolLM2's stories, 25 % generated stories, 20 % classics. With 3.1 M tokens of SmolLM2's stories this mix
    # beat 40/35/25 on the hand-written plain stories (4.10 against 4.15 nats/token at d_model 192, 4 layers, 12 M
    # tokens). Size, at this mix and 18 M tokens: d_model 224 with 5 layers (4.0 M parameters, 8.0 MB as fp16, under
    # the 8 MiB cap) reached 3.94, d_model 192 with 6 layers 3.99. The tokenizer sample (the first 30,000 generated
    # stories + the classics) is the same for any budget and share of at least 25 %, so the BPE comes out the same.
    "tiny": Preset(d_model=224, n_layers=5, n_heads=7, tokens=18_000_000, story_share=0.25, distilled_share=0.55),
    # The draft keeps 40/35/25. With the tiny model above as target (seven prompts, 4 proposals a round), the shipped
    # draft, trained on 0.8 M tokens of SmolLM2's stories, is accepted at a median 0.46; rebuilt on the 3.1 M-token
    # cache it gets 0.43, and at 55/25/20 0.36. Acceptance is the number notebook 10 is about.
    "tiny-draft": Preset(d_model=128, n_layers=2, n_heads=4, tokens=5_000_000, story_share=0.35, distilled_share=0.4,
                         tokenizer_from=str(DATA_DIR / "models" / "tiny")),
    "smoke": Preset(d_model=32, n_layers=1, n_heads=2, n_ctx=64, vocab=400, tokens=40_000, batch=8, lr=3e-3,
                    warmup=5, classics=False, n_val=100),
}


def train_tokenizer(texts: list[str], vocab: int):
    """A byte-level BPE tokenizer (HF `PreTrainedTokenizerFast`) with `<|endoftext|>` as id 0."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=[EOT], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=EOT, eos_token=EOT, pad_token=EOT,
                                   unk_token=EOT, model_max_length=10**6)


def _drop_local_flags(path: Path) -> None:
    """A reloaded tokenizer saves "is_local"/"local_files_only"; they describe this machine, not the model."""
    config = json.loads(path.read_text())
    cleaned = {k: v for k, v in config.items() if k not in ("is_local", "local_files_only")}
    if cleaned != config:
        path.write_text(json.dumps(cleaned, indent=2) + "\n")


def encode_docs(tokenizer, docs: list[str]) -> list[list[int]]:
    """Token ids per document, no special tokens: the shape prompts have when a learner types them."""
    return tokenizer(docs, add_special_tokens=False)["input_ids"]


class Stream:
    """Documents joined by EOT into one int32 array, with the start offset of every document."""

    def __init__(self, docs: list[list[int]], eot: int):
        lengths = np.array([len(d) + 1 for d in docs])
        self.starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        self.ids = np.fromiter((t for d in docs for t in (*d, eot)), dtype=np.int32, count=int(lengths.sum()))

    def block(self, rng: np.random.Generator, n: int, at_doc_start: bool) -> np.ndarray:
        """n consecutive ids; starting at a document start teaches what a typed prompt's first token is."""
        hi = len(self.ids) - n
        start = int(rng.choice(self.starts[self.starts <= hi])) if at_doc_start else int(rng.integers(0, hi + 1))
        return self.ids[start:start + n]


@torch.no_grad()
def doc_loss(model, docs: list[list[int]], n_ctx: int) -> float:
    """Mean next-token loss in nats/token over docs (each cut into n_ctx windows, no BOS), in float32."""
    model.eval()
    total, count = 0.0, 0
    for doc in docs:
        for i in range(0, len(doc), n_ctx):
            window = torch.tensor(doc[i:i + n_ctx])[None]  # [1, pos]
            if window.shape[1] < 2:
                continue
            loss = model(window, labels=window).loss  # mean over pos-1 predictions
            total += float(loss) * (window.shape[1] - 1)
            count += window.shape[1] - 1
    return total / max(count, 1)


def chunk_text(text: str, tokenizer, size: int) -> list[list[int]]:
    ids = encode_docs(tokenizer, [text])[0]
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def read_plain_stories(path: Path = HELDOUT_PLAIN) -> list[str]:
    """The hand-written held-out stories: blocks separated by a line holding only '---'."""
    return [s.strip() for s in path.read_text(encoding="utf-8").split("\n---\n") if s.strip()]


def train(preset: Preset, out: Path, progress: bool = True, log=print) -> dict:
    """Train one model to preset.tokens tokens and write it to `out`; returns the metrics dict."""
    from tqdm.auto import tqdm
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(preset.seed)
    rng = np.random.default_rng(preset.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    n_train = max(200, int(preset.tokens * preset.story_share / 100))
    train_stories = stories(n_train, seed=preset.seed)
    val_stories = stories(preset.n_val, seed=preset.seed + 7919)
    books = {}
    if preset.classics:
        from llmviz.training.corpus import classics
        books = classics()
    distilled, val_distilled, distilled_files = [], [], []
    if preset.distilled_share > 0:
        from llmviz.training.stories.distill import STORIES_FILE, read_stories, stories_files
        distilled, distilled_files = read_stories(), stories_files()
        if len(distilled) < 100:
            raise ValueError(f"distilled_share={preset.distilled_share} needs SmolLM2's stories in {STORIES_FILE}, "
                             f"which holds {len(distilled)}; run `python -m llmviz.training.stories.distill` first.")
        cut = len(distilled) - max(20, len(distilled) // 20)  # the last 5 % are held out for validation
        distilled, val_distilled = distilled[:cut], distilled[cut:]
    log(f"data: {len(train_stories):,} stories, {len(distilled):,} distilled, {len(books)} classics "
        f"({time.time() - t0:.1f} s)")

    if preset.tokenizer_from:
        tokenizer = AutoTokenizer.from_pretrained(preset.tokenizer_from)
    else:
        sample = train_stories[:30_000] + [b["train"] for b in books.values()]
        tokenizer = train_tokenizer(sample, preset.vocab)
    tokenizer.save_pretrained(out)
    _drop_local_flags(out / "tokenizer_config.json")
    eot = tokenizer.convert_tokens_to_ids(EOT)
    log(f"tokenizer: vocab {len(tokenizer)} ({time.time() - t0:.1f} s)")
    story_stream = Stream(encode_docs(tokenizer, train_stories), eot)
    classic_stream = (Stream(encode_docs(tokenizer, [b["train"] for b in books.values()]), eot)
                      if books else None)
    distilled_stream = Stream(encode_docs(tokenizer, distilled), eot) if distilled else None
    log(f"tokens: stories {len(story_stream.ids):,}, classics "
        f"{len(classic_stream.ids) if classic_stream else 0:,} ({time.time() - t0:.1f} s)")

    config = GPT2Config(vocab_size=len(tokenizer), n_positions=preset.n_ctx, n_embd=preset.d_model,
                        n_layer=preset.n_layers, n_head=preset.n_heads, resid_pdrop=0.0, embd_pdrop=0.0,
                        attn_pdrop=0.0, bos_token_id=eot, eos_token_id=eot, pad_token_id=eot,
                        tie_word_embeddings=True)
    model = GPT2LMHeadModel(config).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=preset.lr, betas=(0.9, 0.95), weight_decay=0.1)
    steps = max(1, preset.tokens // (preset.batch * preset.n_ctx))

    def lr_at(step: int) -> float:  # linear warm-up, then cosine decay to 10 %
        if step < preset.warmup:
            return preset.lr * (step + 1) / preset.warmup
        frac = (step - preset.warmup) / max(1, steps - preset.warmup)
        return preset.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))

    autocast_dtype = torch.bfloat16
    losses, t_train = [], time.time()
    bar = tqdm(range(steps), desc=f"train {out.name}", disable=not progress, mininterval=5)
    for step in bar:
        rows = []
        for _ in range(preset.batch):
            r = rng.random()  # one draw per row picks the source: distilled, generated stories, or classics
            if distilled_stream is not None and r < preset.distilled_share:
                rows.append(distilled_stream.block(rng, preset.n_ctx, at_doc_start=rng.random() < 0.5))
            elif classic_stream is None or r < preset.distilled_share + preset.story_share:
                rows.append(story_stream.block(rng, preset.n_ctx, at_doc_start=rng.random() < 0.5))
            else:
                rows.append(classic_stream.block(rng, preset.n_ctx, at_doc_start=False))
        batch = torch.from_numpy(np.stack(rows).astype(np.int64)).to(device)  # [batch, n_ctx]
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        model.train()
        with torch.autocast(device.type, dtype=autocast_dtype):
            loss = model(batch, labels=batch).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
            log(f"step {step}/{steps} loss {np.mean(losses[-50:]):.3f} "
                f"{(step + 1) * preset.batch * preset.n_ctx / (time.time() - t_train):,.0f} tok/s")
    train_seconds = time.time() - t_train
    model = model.float().cpu().eval()

    val = {"stories": doc_loss(model, encode_docs(tokenizer, val_stories), preset.n_ctx)}
    if val_distilled:
        val["distilled"] = doc_loss(model, encode_docs(tokenizer, val_distilled), preset.n_ctx)
    if books:
        heldout = "\n\n".join(b["heldout"] for b in books.values())
        val["classics"] = doc_loss(model, chunk_text(heldout, tokenizer, preset.n_ctx)[:200], preset.n_ctx)
    for name, path in (("plain_stories", HELDOUT_PLAIN), ("classics_excerpt", HELDOUT_CLASSICS)):
        if path.exists():
            docs = read_plain_stories(path) if name == "plain_stories" else [path.read_text(encoding="utf-8")]
            val[name] = doc_loss(model, [d for t in docs for d in chunk_text(t, tokenizer, preset.n_ctx)],
                                 preset.n_ctx)
    metrics = {"preset": asdict(preset), "parameters": n_params, "tokens_trained": steps * preset.batch * preset.n_ctx,
               "steps": steps, "train_seconds": round(train_seconds, 1),
               "tokens_per_second": round(steps * preset.batch * preset.n_ctx / train_seconds),
               "device": device.type, "threads": torch.get_num_threads(), "first_train_loss": losses[0],
               "final_train_loss": float(np.mean(losses[-50:])),
               "val_loss": {k: round(v, 4) for k, v in val.items()},
               "train_data_tokens": {"stories": int(len(story_stream.ids)),
                                     "classics": int(len(classic_stream.ids)) if classic_stream else 0,
                                     "distilled": int(len(distilled_stream.ids)) if distilled_stream else 0},
               "distilled_files": distilled_files}
    model.half().save_pretrained(out, safe_serialization=True)
    model.float()
    from llmviz.training.model_card import samples, write_card
    metrics["samples"] = samples(model, tokenizer)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_card(out, metrics)
    log(f"done: {json.dumps(metrics['val_loss'])} in {time.time() - t0:.0f} s")
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    parser.add_argument("--tokens", type=int, help="token budget (default: the preset's)")
    parser.add_argument("--out", type=Path, help="output folder (default: data/models/<preset>)")
    parser.add_argument("--smoke", action="store_true", help="train the toy 'smoke' configuration")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tokenizer-from", help="reuse the tokenizer in this model folder")
    parser.add_argument("--no-classics", action="store_true", help="train on generated stories only")
    parser.add_argument("--distilled-share", type=float, help="share of blocks from SmolLM2's stories (default 0)")
    parser.add_argument("--story-share", type=float, help="share of blocks drawn from stories (default 0.75)")
    parser.add_argument("--d-model", type=int, help="width of the residual stream (default: the preset's)")
    parser.add_argument("--n-layers", type=int, help="number of transformer blocks (default: the preset's)")
    parser.add_argument("--n-heads", type=int, help="attention heads per block (default: the preset's)")
    args = parser.parse_args(argv)
    name = "smoke" if args.smoke else args.preset
    preset = replace(PRESETS[name], seed=args.seed)
    if args.tokens is not None:
        if args.tokens < preset.batch * preset.n_ctx:
            parser.error(f"--tokens must be at least one batch ({preset.batch * preset.n_ctx}).")
        preset = replace(preset, tokens=args.tokens)
    if args.tokenizer_from:
        preset = replace(preset, tokenizer_from=args.tokenizer_from)
    if args.story_share is not None:
        if not 0.0 < args.story_share <= 1.0:
            parser.error(f"--story-share={args.story_share} must lie in (0, 1].")
        preset = replace(preset, story_share=args.story_share)
    if args.distilled_share is not None:
        if not 0.0 <= args.distilled_share < 1.0:
            parser.error(f"--distilled-share={args.distilled_share} must lie in [0, 1).")
        preset = replace(preset, distilled_share=args.distilled_share)
    if args.no_classics:
        preset = replace(preset, classics=False)
    sizes = {k: v for k, v in (("d_model", args.d_model), ("n_layers", args.n_layers), ("n_heads", args.n_heads))
             if v is not None}
    if any(v < 1 for v in sizes.values()):
        parser.error(f"--d-model, --n-layers and --n-heads must be positive (got {sizes}).")
    preset = replace(preset, **sizes)
    if preset.d_model % preset.n_heads:
        parser.error(f"--d-model {preset.d_model} must be a multiple of --n-heads {preset.n_heads}.")
    train(preset, args.out or DATA_DIR / "models" / name, log=lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()
