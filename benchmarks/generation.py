"""Benchmark generation: our traced loop against HF generate, and speculative decoding against the target alone.

OMP_NUM_THREADS=1 python benchmarks/generation.py [--model tiny] [--draft tiny-draft] [--repeats 5]

Part 1 times greedy generation of at most n tokens by HF `model.generate(do_sample=False)` (the baseline) and by
`llmviz.decoding.generation.generate` with no capture, with the default capture (every layer's attention pattern per
step: the trace a notebook uses), and with `use_cache=False`. Both stop at end-of-sequence, and every run must produce
exactly HF's tokens, so all four do the same work. It prints tokens/s and the ratio to HF, each the median of several
interleaved repeats. Goal: the traced loop >= 0.8x HF. Part 2 runs speculative decoding (greedy and temperature
0.8) on story prompts for several draft lengths k and prints target passes per generated token (goal <= 0.6), the
acceptance rate and wall time against the target alone in the same run. Checks that greedy speculative output equals the
target alone's. Nothing is written to disk.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

import llmviz  # noqa: E402
from llmviz.decoding.generation import generate  # noqa: E402
from llmviz.training.stories.generator import story  # noqa: E402


def story_prompts(n: int) -> list[str]:
    """Openings of stories from seeds far from the training range: the text the shipped models were made for."""
    return [" ".join(story(10_000_000 + i).split()[:8]) for i in range(n)]


def time_hf(lm, ids: torch.Tensor, n_new: int) -> tuple[float, list[int]]:
    # no min_new_tokens: HF stops at end-of-sequence as llmviz does, so both generate the same tokens
    eos = lm.tokenizer.eos_token_id
    start = time.perf_counter()
    with torch.no_grad():
        out = lm.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n_new, do_sample=False,
                                pad_token_id=eos)
    return time.perf_counter() - start, out[0, ids.shape[1]:].tolist()


def time_ours(lm, ids: torch.Tensor, n_new: int, **kwargs) -> tuple[float, list[int]]:
    start = time.perf_counter()
    trace = generate(lm, ids, max_new_tokens=n_new, temperature=0, **kwargs)
    return time.perf_counter() - start, trace.tokens


def part1(lm, prompts, n_new: int, repeats: int) -> None:
    runs = {
        "HF generate (baseline)": lambda ids: time_hf(lm, ids, n_new),
        "llmviz, no capture": lambda ids: time_ours(lm, ids, n_new, capture=None),
        "llmviz, default trace": lambda ids: time_ours(lm, ids, n_new),
        "llmviz, use_cache=False": lambda ids: time_ours(lm, ids, n_new, capture=None, use_cache=False),
    }
    ids = [lm.to_tokens(p) for p in prompts]  # tokenised once, outside the timing, for all four alike
    expected = [runs["HF generate (baseline)"](x)[1] for x in ids]  # also the warm-up
    for name, run in runs.items():
        for x, want in zip(ids, expected, strict=True):
            if run(x)[1] != want:
                raise AssertionError(f"{name} generated other tokens than HF on {lm.to_string(x[0])!r}")
    rates = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():  # interleaved so drift on a shared machine hits all alike
            seconds, tokens = 0.0, 0
            for x in ids:
                s, t = run(x)
                seconds, tokens = seconds + s, tokens + len(t)
            rates[name].append(tokens / seconds)
    base = statistics.median(rates["HF generate (baseline)"])
    print(f"\nPart 1: greedy, at most {n_new} new tokens x {len(prompts)} prompts ({sum(map(len, expected))} "
          f"tokens, the same for every run), median of {repeats} repeats")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:26s} {median:8.1f} tokens/s   {median / base:5.2f}x HF")


def part2(lm, draft, prompts, n_new: int, repeats: int, ks=(2, 3, 4, 5)) -> None:
    print(f"\nPart 2: speculative decoding, draft {draft.name!r}, {n_new} new tokens x {len(prompts)} story prompts")
    print("  mode        k  passes/token  acceptance  speed-up vs target alone (wall time, median)")
    for temperature in (0.0, 0.8):
        for k in ks:
            passes, accept, speedups = [], [], []
            for _ in range(repeats):
                spec_s = alone_s = 0.0
                for i, p in enumerate(prompts):
                    kwargs = dict(max_new_tokens=n_new, temperature=temperature, seed=i, capture=None)
                    start = time.perf_counter()
                    alone = generate(lm, p, **kwargs)
                    alone_s += time.perf_counter() - start
                    start = time.perf_counter()
                    trace = generate(lm, p, draft=draft, draft_tokens=k, **kwargs)
                    spec_s += time.perf_counter() - start
                    if temperature == 0 and trace.tokens != alone.tokens:
                        raise AssertionError(f"greedy speculative output differs from the target alone on {p!r}")
                    passes.append(trace.target_passes_per_token)
                    accept.append(trace.acceptance_rate)
                speedups.append(alone_s / spec_s)
            mode = "greedy" if temperature == 0 else f"T={temperature}"
            print(f"  {mode:9s} {k:3d}  {statistics.median(passes):12.3f}  {statistics.median(accept):10.3f}  "
                  f"{statistics.median(speedups):5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--draft", default="tiny-draft")
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--prompts", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    lm = llmviz.load(args.model)
    print(lm)
    prompts = story_prompts(args.prompts)
    part1(lm, prompts, args.new_tokens, args.repeats)
    if args.draft:
        draft = llmviz.load(args.draft)
        print(draft)
        part2(lm, draft, prompts, args.new_tokens, max(1, args.repeats // 2))


if __name__ == "__main__":
    main()
