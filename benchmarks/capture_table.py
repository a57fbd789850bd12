"""One table: llmviz's capture and TransformerLens's, each as a ratio to a plain eager forward measured in the same run.

    OMP_NUM_THREADS=1 python benchmarks/capture_table.py [--repeats 5] [--lengths 16 128 512] [--tl-python PATH]

llmviz rows: `run_with_cache` keeping every name against the same model's plain eager forward (medians of CPU time,
interleaved, as benchmarks/capture.py), on the random GPT-2-small config, SmolLM2-135M (when set up) and the shipped
tiny model at 44 tokens. The TransformerLens row runs benchmarks/capture_transformerlens.py in its own venv as a
subprocess (TransformerLens is not an llmviz dependency; that file's docstring says how to make the venv, by default
/tmp/tlvenv), on the same random GPT-2-small weights, and reads its ratios. The goals: at most TransformerLens's
ratio at every size, at most 1.10x at 128 and 512 tokens, and at most 1.20x on tiny at 44 tokens. Without the venv
the TransformerLens row says it was skipped. Exit status 1 when a goal is missed. `--smoke` runs the smallest
sizes on tiny only, for the test suite, and only prints a miss. llmviz's rows run with its steady allocator, as a
learner's kernel does (llmviz/allocator.py; LLMVIZ_STEADY_MALLOC=0 measures without it); TransformerLens runs with
glibc's defaults, as it does for its users.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from capture import load, medians, plain  # noqa: E402

from llmviz.capture import run_with_cache  # noqa: E402

HERE = Path(__file__).resolve().parent
GOAL_LONG, GOAL_TINY, TINY_TOKENS = 1.10, 1.20, 44
SMOKE = dict(repeats=3, lengths=[16], models=["tiny"])


def llmviz_ratios(name: str, lengths: list[int], repeats: int) -> dict[int, float] | None:
    """{tokens: capture / plain eager} for one model, or None when it is not available."""
    lm = load(name)
    if lm is None:
        return None
    lm.model.set_attn_implementation("eager")  # the baseline, as TransformerLens's bridge forces eager too
    ratios, generator = {}, torch.Generator().manual_seed(0)
    for n in lengths:
        ids = torch.randint(0, lm.d_vocab, (1, min(n, lm.n_ctx)), generator=generator)
        seconds = medians({"eager": lambda ids=ids: plain(lm, ids, "eager"),
                           "capture": lambda ids=ids: run_with_cache(lm, ids, budget_bytes=1 << 32)}, repeats)
        ratios[n] = seconds["capture"] / seconds["eager"]
    return ratios


def transformerlens_ratios(python: str, lengths: list[int], repeats: int) -> dict[int, float] | str:
    """{tokens: TL capture / plain eager} from the peer benchmark run by `python`, or why it was skipped."""
    if not Path(python).exists():
        return f"skipped: no TransformerLens venv at {python} (see benchmarks/capture_transformerlens.py)"
    command = [python, str(HERE / "capture_transformerlens.py"), "--repeats", str(repeats),
               "--lengths", *map(str, lengths)]
    done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ))
    if done.returncode != 0:
        return f"skipped: the peer benchmark exited {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"
    rows = re.findall(r"^\s*(\d+)\s+[\d.]+ms\s+[\d.]+ms\s+([\d.]+)x", done.stdout, flags=re.MULTILINE)
    return {int(n): float(ratio) for n, ratio in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 128, 512])
    parser.add_argument("--models", nargs="+", default=["gpt2-small", "smollm2-135m"])
    parser.add_argument("--tl-python", default=os.environ.get("LLMVIZ_TL_PYTHON", "/tmp/tlvenv/bin/python"))
    parser.add_argument("--smoke", action="store_true", help=f"the smallest sizes, for the test suite: {SMOKE}")
    args = parser.parse_args(argv)
    if args.smoke:
        vars(args).update(SMOKE)
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    rows: dict[str, dict[int, float] | str] = {}
    for name in args.models:
        rows[f"llmviz, {name}"] = llmviz_ratios(name, args.lengths, args.repeats) or "skipped: not set up"
    if not args.smoke:
        rows["TransformerLens, gpt2-small"] = transformerlens_ratios(args.tl_python, args.lengths, args.repeats)
    tiny = llmviz_ratios("tiny", [TINY_TOKENS], args.repeats) or {}
    print(f"# capture / plain eager forward, medians of {args.repeats} (CPU time, same run), "
          f"{torch.get_num_threads()} thread(s), torch {torch.__version__}")
    print(f"{'':<34}" + "".join(f"{f'{n} tokens':>12}" for n in args.lengths))
    peer = rows.get("TransformerLens, gpt2-small")
    missed = []
    for label, ratios in rows.items():
        if isinstance(ratios, str):
            print(f"{label:<34}  {ratios}")
            continue
        print(f"{label:<34}" + "".join(f"{ratios[n]:>11.2f}x" for n in args.lengths))
        if label.startswith("llmviz"):
            missed += [f"{label} at {n}: {ratios[n]:.2f}x" for n in args.lengths
                       if (n >= 128 and ratios[n] > GOAL_LONG) or (isinstance(peer, dict) and ratios[n] > peer[n])]
    if tiny:
        ratio = tiny[TINY_TOKENS]
        print(f"{'llmviz, tiny':<34}{ratio:>11.2f}x at {TINY_TOKENS} tokens (goal <= {GOAL_TINY:.2f}x)")
        missed += [f"tiny at {TINY_TOKENS}: {ratio:.2f}x"] if ratio > GOAL_TINY else []
    print("goals (<= TransformerLens, <= 1.10x at 128 and 512): " + ("met" if not missed else
                                                                      "missed: " + "; ".join(missed)))
    return 1 if missed and not args.smoke else 0  # make bench reports a miss; --smoke only prints it


if __name__ == "__main__":
    sys.exit(main())
