"""The peer figure: TransformerLens's run_with_cache on the same random GPT-2-small weights as benchmarks/capture.py.

TransformerLens is not an llmviz dependency; run this from a separate venv that can also import torch and llmviz:

    python3.11 -m venv /tmp/tlvenv
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/tlvenv/lib/python3.11/site-packages/llmviz-venv.pth
    /tmp/tlvenv/bin/pip install transformer-lens          # 4.x: TransformerBridge wraps the HF model
    OMP_NUM_THREADS=1 /tmp/tlvenv/bin/python benchmarks/capture_transformerlens.py

It first checks the names: llmviz captures a prompt, TransformerLens's bridge captures the same prompt on the same
model, and every name both have is compared for shape and value. Then it times a plain eager forward against the
bridge's run_with_cache (medians of CPU time, interleaved). The bridge rewires the model, so llmviz is measured by
benchmarks/capture.py, in its own process. It prints and returns nothing. `--smoke` runs the smallest sizes, for the
test suite. Without TransformerLens it says so and exits with status 77 ("skipped"), which `make bench` reports as a
skip and not as a failure.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from capture import MIB, gpt2_small, medians  # noqa: E402

from llmviz.capture import run_with_cache  # noqa: E402
from llmviz.tokenization.tokenizer_files import gpt2_tokenizer  # noqa: E402

SKIPPED = 77  # the exit status test harnesses (automake, meson) read as "skipped"
SMOKE = dict(lengths=[16], repeats=3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 128, 512])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help=f"the smallest sizes, for the test suite: {SMOKE}")
    args = parser.parse_args(argv)
    if args.smoke:
        vars(args).update(SMOKE)
    if importlib.util.find_spec("transformer_lens") is None:
        print(f"benchmarks/capture_transformerlens.py: skipped: TransformerLens is not installed in {sys.prefix} "
              "(it is an optional peer, not an llmviz dependency); this file's docstring says how to run it from its "
              "own venv", file=sys.stderr)
        return SKIPPED
    compare(args.lengths, args.repeats)
    return 0


def compare(lengths: list[int], repeats: int) -> None:
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import AutoTokenizer

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    lm = gpt2_small()
    lm.model.set_attn_implementation("eager")  # the bridge forces eager too
    prompt = torch.randint(0, lm.d_vocab, (1, 20), generator=torch.Generator().manual_seed(1))
    ours_logits, ours = run_with_cache(lm, prompt)
    with tempfile.TemporaryDirectory() as folder:  # the bridge wants a config folder; weights come from hf_model
        lm.model.save_pretrained(folder)
        gpt2_tokenizer().save_pretrained(folder)
        bridge = TransformerBridge.boot_transformers(folder, hf_model=lm.model, device="cpu",
                                                     tokenizer=AutoTokenizer.from_pretrained(folder))
    with torch.no_grad():
        theirs_logits, theirs = bridge.run_with_cache(prompt)
    shared = [n for n in ours if n in theirs]
    shapes = [n for n in shared if ours[n].shape != theirs[n].shape]
    finite = {n: torch.isfinite(ours[n]) & torch.isfinite(theirs[n]) for n in shared if n not in shapes}
    worst = max((ours[n][f] - theirs[n][f]).abs().max().item() for n, f in finite.items())
    print(f"names: {len(shared)} of llmviz's {len(ours)} are in TransformerLens's cache "
          f"(not: {[n for n in ours if n not in theirs]}); shape mismatches: {shapes}; largest value difference "
          f"{worst:.1e}; logits differ by {(ours_logits - theirs_logits).abs().max().item():.1e}")

    def plain(ids):
        with torch.no_grad():
            return lm.model(ids, use_cache=False).logits

    def bridge_capture(ids, kept):
        with torch.no_grad():
            cache = bridge.run_with_cache(ids)[1]
        storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in cache.values()}
        kept["bytes"], kept["names"] = sum(storages.values()), len(cache)

    print(f"{'tokens':>6} {'plain eager':>12} {'TL capture':>11} {'ratio':>7} {'kept MiB':>9} {'tensors':>8}")
    for n in lengths:
        ids = torch.randint(0, lm.d_vocab, (1, n), generator=torch.Generator().manual_seed(0))
        kept: dict = {}
        seconds = medians({"plain": lambda ids=ids: plain(ids),
                           "tl": lambda ids=ids, kept=kept: bridge_capture(ids, kept)}, repeats)
        print(f"{n:>6} {seconds['plain'] * 1e3:>10.1f}ms {seconds['tl'] * 1e3:>9.1f}ms "
              f"{seconds['tl'] / seconds['plain']:>6.2f}x {kept['bytes'] / MIB:>9.1f} {kept['names']:>8}")


if __name__ == "__main__":
    sys.exit(main())
