"""Capture speed and memory against a plain forward pass, measured in the same run (ratios of medians).

    OMP_NUM_THREADS=1 python benchmarks/capture.py [--repeats 7] [--lengths 16 128 512] [--models gpt2-small tiny ...]
    OMP_NUM_THREADS=1 python benchmarks/capture.py --smoke       # the smallest sizes, for the test suite

Models: the shipped `tiny` (when data/models/tiny exists), a randomly initialised GPT-2-small-sized config (12
layers, d_model 768, 12 heads, vocab 50257) and SmolLM2-135M (when set up). For each prompt length it times a plain
HF forward with the model's default attention (sdpa) and with eager attention, then `run_with_cache` keeping every
name, as medians of CPU time; the goal is capture / plain <= 1.15. At 512 tokens it reports the bytes kept with and
without `names=` and `dtype=`. It prints a table and returns nothing. The test suite runs `--smoke` and checks only
that the ratios are sane, never a speed goal.

Where the time goes: the capture work itself is cheap (views, no copies, one score buffer); most of what remains is
page faults on fresh memory, and how many there are depends on glibc's adaptive mmap threshold, i.e. on what the
process allocated before (the same plain forward measured 0.99 s or 1.25 s, with 0 or 160k minor faults). With
`--keep-freed-memory` glibc is told (mallopt) to keep freed memory in its heap, so every variant runs in the same
steady state; llmviz itself never changes the allocator.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from llmviz.capture import run_with_cache  # noqa: E402
from llmviz.lm import LM  # noqa: E402

MIB = 2 ** 20
SMOKE = dict(repeats=3, lengths=[16], models=["tiny"])


def gpt2_small() -> LM:
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(0)
    config = GPT2Config(n_layer=12, n_embd=768, n_head=12, n_positions=1024, vocab_size=50257)
    return LM(GPT2LMHeadModel(config).eval(), None, name="gpt2-small (random)")


def load(name: str) -> LM | None:
    if name == "gpt2-small":
        return gpt2_small()
    import llmviz
    try:
        return llmviz.load(name)
    except llmviz.ModelLoadError as err:
        print(f"# {name}: skipped ({str(err).splitlines()[0]})")
        return None


def medians(fns: dict, repeats: int) -> dict[str, float]:
    """Median CPU seconds of each function (process time: on a shared, loaded machine wall time mostly measures the
    neighbours), calls interleaved round-robin so that what load remains hits all alike."""
    times: dict[str, list[float]] = {label: [] for label in fns}
    for fn in fns.values():
        fn()  # warm-up: first calls allocate and pick kernels
    for _ in range(repeats):
        for label, fn in fns.items():
            start = time.process_time()
            fn()
            times[label].append(time.process_time() - start)
    return {label: statistics.median(values) for label, values in times.items()}


def plain(lm: LM, ids: torch.Tensor, implementation: str):
    previous = lm.model.config._attn_implementation
    if previous == implementation:  # no switch: set_attn_implementation walks every module even then (0.2 ms on
        with torch.no_grad():       # tiny, which capture no longer pays), and the baseline should not pay it either
            return lm.model(ids, use_cache=False).logits
    lm.model.set_attn_implementation(implementation)
    try:
        with torch.no_grad():
            return lm.model(ids, use_cache=False).logits
    finally:
        lm.model.set_attn_implementation(previous)


def bench(lm: LM, lengths: list[int], repeats: int) -> None:
    default = lm.model.config._attn_implementation
    print(f"\n## {lm.name}: {lm.n_layers} layers, d_model {lm.d_model}, {lm.n_heads} heads ({lm.n_kv_heads} kv), "
          f"default attention {default}, {torch.get_num_threads()} thread(s), {repeats} repeats (median CPU time)")
    print(f"{'tokens':>6} {'plain ' + default:>12} {'plain eager':>12} {'capture':>10} "
          f"{'/' + default:>8} {'/eager':>8} {'kept MiB':>9}")
    generator = torch.Generator().manual_seed(0)
    for n in lengths:
        n = min(n, lm.n_ctx)
        ids = torch.randint(0, lm.d_vocab, (1, n), generator=generator)
        kept = {}

        def capture_all(ids=ids, kept=kept):  # frees the cache inside the timed call, like a re-run cell
            kept["bytes"] = run_with_cache(lm, ids, budget_bytes=1 << 32)[1].nbytes
        seconds = medians({"base": lambda ids=ids: plain(lm, ids, default),
                           "eager": lambda ids=ids: plain(lm, ids, "eager"), "capture": capture_all}, repeats)
        base, eager, captured = seconds["base"], seconds["eager"], seconds["capture"]
        print(f"{n:>6} {base * 1e3:>10.1f}ms {eager * 1e3:>10.1f}ms {captured * 1e3:>8.1f}ms "
              f"{captured / base:>7.2f}x {captured / eager:>7.2f}x {kept['bytes'] / MIB:>9.1f}")
    n = min(512, lm.n_ctx)
    ids = torch.randint(0, lm.d_vocab, (1, n), generator=generator)
    print(f"memory kept at {n} tokens (MiB):")
    options = {
        "everything": {},
        "dtype=float16": {"dtype": torch.float16},
        "names=patterns only": {"names": lambda name: name.endswith("hook_pattern")},
        "names=residual stream only": {"names": lambda name: "resid" in name},
        "names=no attention maps": {"names": lambda name: not name.endswith(("hook_pattern", "hook_attn_scores"))},
        "names=patterns, dtype=float16": {"names": lambda name: name.endswith("hook_pattern"),
                                          "dtype": torch.float16},
    }
    for label, kwargs in options.items():
        _, cache = run_with_cache(lm, ids, budget_bytes=1 << 32, **kwargs)
        print(f"  {label:<32} {cache.nbytes / MIB:>8.1f}")
        del cache


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 128, 512])
    parser.add_argument("--models", nargs="+", default=["tiny", "gpt2-small", "smollm2-135m"])
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="glibc only: fix the mmap threshold at 32 MiB and never trim, so no variant pays for "
                             "page faults that another variant's history avoided")
    parser.add_argument("--smoke", action="store_true", help=f"the smallest sizes, for the test suite: {SMOKE}")
    args = parser.parse_args(argv)
    if args.smoke:
        vars(args).update(SMOKE)
    if args.keep_freed_memory:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        libc.mallopt(m_mmap_threshold, 32 * MIB)
        libc.mallopt(m_trim_threshold, 2**31 - 1)  # an int: the largest mallopt accepts
        print("# allocator: glibc keeps freed memory (mmap threshold 32 MiB, no trim)")
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    print(f"# torch {torch.__version__}, capture vs plain forward (ratios of medians, same run)")
    for name in args.models:
        lm = load(name)
        if lm is not None:
            bench(lm, args.lengths, args.repeats)
            del lm


if __name__ == "__main__":
    main()
