"""Benchmark generation: our traced loop against HF generate, and speculative decoding against the target alone.

OMP_NUM_THREADS=1 python benchmarks/generation.py [--model tiny] [--draft tiny-draft] [--repeats 5] [--smoke]

Part 1 times greedy generation of at most n tokens by HF `model.generate(do_sample=False)` (the baseline) and by
`llmviz.decoding.generation.generate` with no capture, with the default capture (every layer's attention pattern per
step: the trace a notebook uses), and with `use_cache=False`. Both stop at end-of-sequence, and every run must produce
exactly HF's tokens, so all four do the same work. It prints tokens/s and the ratio to HF, each the median of several
repeats, the runs interleaved in an order that rotates every repeat. Goal: the traced loop >= 0.8x HF. Part 2 runs
speculative decoding (greedy and temperature 0.8) on story prompts for several draft lengths k and prints target
passes per generated token (goal <= 0.6), the acceptance rate and the speed-up: the target alone's median time over
speculative decoding's median time, the two alternating (ABAB, then BABA) so that neither is always timed first.
Checks that greedy speculative output equals the target alone's. `--smoke` runs the smallest sizes, for the test
suite. Nothing is written to disk.
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

SMOKE = dict(new_tokens=8, prompts=2, repeats=3, ks=[2])


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
    names = list(runs)
    rates = {name: [] for name in runs}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:  # interleaved, and no run always first
            seconds, tokens = 0.0, 0
            for x in ids:
                s, t = runs[name](x)
                seconds, tokens = seconds + s, tokens + len(t)
            rates[name].append(tokens / seconds)
    base = statistics.median(rates["HF generate (baseline)"])
    print(f"\nPart 1: greedy, at most {n_new} new tokens x {len(prompts)} prompts ({sum(map(len, expected))} "
          f"tokens, the same for every run), median of {repeats} repeats")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:26s} {median:8.1f} tokens/s   {median / base:5.2f}x HF")


def part2(lm, draft, prompts, n_new: int, repeats: int, ks=(2, 3, 4, 5)) -> None:
    print(f"\nPart 2: speculative decoding, draft {draft.name!r}, {n_new} new tokens x {len(prompts)} story prompts, "
          f"{repeats} repeats")
    print("  mode        k  passes/token  acceptance  speed-up vs target alone (median wall time, alternating)")
    generate(lm, prompts[0], max_new_tokens=n_new, draft=draft, draft_tokens=ks[0], capture=None)  # warm the draft
    for temperature in (0.0, 0.8):
        for k in ks:
            passes, accept = [], []
            seconds = {"alone": [], "speculative": []}
            runs = {"alone": {}, "speculative": {"draft": draft, "draft_tokens": k}}
            for r in range(repeats):
                total = {"alone": 0.0, "speculative": 0.0}
                for i, p in enumerate(prompts):
                    kwargs = dict(max_new_tokens=n_new, temperature=temperature, seed=i, capture=None)
                    order = ["alone", "speculative"] if (r + i) % 2 == 0 else ["speculative", "alone"]
                    traces = {}
                    for name in order:  # ABAB then BABA: neither is always the first, on a warm or cold cache
                        start = time.perf_counter()
                        traces[name] = generate(lm, p, **kwargs, **runs[name])
                        total[name] += time.perf_counter() - start
                    trace = traces["speculative"]
                    if temperature == 0 and trace.tokens != traces["alone"].tokens:
                        raise AssertionError(f"greedy speculative output differs from the target alone on {p!r}")
                    passes.append(trace.target_passes_per_token)
                    accept.append(trace.acceptance_rate)
                for name, value in total.items():
                    seconds[name].append(value)
            speedup = statistics.median(seconds["alone"]) / statistics.median(seconds["speculative"])
            mode = "greedy" if temperature == 0 else f"T={temperature}"
            print(f"  {mode:9s} {k:3d}  {statistics.median(passes):12.3f}  {statistics.median(accept):10.3f}  "
                  f"{speedup:5.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--draft", default="tiny-draft")
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--prompts", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ks", type=int, nargs="+", default=[2, 3, 4, 5], help="draft lengths for part 2")
    parser.add_argument("--smoke", action="store_true", help=f"the smallest sizes, for the test suite: {SMOKE}")
    args = parser.parse_args(argv)
    if args.smoke:
        vars(args).update(SMOKE)
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    lm = llmviz.load(args.model)
    print(lm)
    prompts = story_prompts(args.prompts)
    part1(lm, prompts, args.new_tokens, args.repeats)
    if args.draft:
        draft = llmviz.load(args.draft)
        print(draft)
        part2(lm, draft, prompts, args.new_tokens, args.repeats, args.ks)


if __name__ == "__main__":
    main()
