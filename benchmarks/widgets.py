"""Server-side latency of every notebook widget's callbacks, against a plain forward pass measured in the same run.

    OMP_NUM_THREADS=1 python benchmarks/widgets.py [--model tiny] [--repeats 30] [--smoke]

Two kinds of action (issue 7's targets): moving a control that only indexes precomputed data (goal: p95 <= 50 ms),
and re-running the model on a new 64-token prompt (goal: p95 <= 150 ms on the default model). Each action is timed
from setting the control's value (or clicking its button) until the callback returns, which is what the kernel
spends before the browser can redraw. The baseline is one plain `model(ids)` forward pass on 64 tokens; ratios say
how many forward passes an action costs. After every action the widget's own error area must be empty, so a
failing callback can never pass as a fast one. It exits with status 1 when a goal is missed. `--smoke` (3 repeats,
for the test suite) checks that every widget's actions run and report; a missed goal there is printed, not a failure,
because speed goals are never timed tests.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

import llmviz  # noqa: E402

STORY = ("{name} had a small red kite. One windy morning {name} ran to the park with {friend}. The kite went up and "
         "up, over the trees and the pond. {friend} laughed and clapped. Then the string broke, and the kite flew "
         "away. {name} was sad, but {friend} said, \"We can make a new one together.\" They went home, found some "
         "paper and sticks, and built a bigger kite with a long blue tail.")
NAMES = ["Lily", "Tom", "Sara", "Ben", "Mia", "Sam", "Anna", "Max", "Lucy", "Jack", "Zoe", "Leo"]


def prompts_of_64_tokens(lm, count: int, tokens: int = 64) -> list[str]:
    """`count` different prompts of `tokens` tokens each (cut at that many tokens of this model's tokenizer)."""
    pairs = itertools.islice(((a, b) for a in NAMES for b in NAMES if a != b), count)
    return [lm.to_string(lm.to_tokens(STORY.format(name=a, friend=b))[0, :tokens]) for a, b in pairs]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def check_no_error(widget) -> None:
    output = getattr(widget, "output", None)
    if output is not None and output.outputs:
        raise RuntimeError(f"{type(widget).__name__} showed an error: {output.outputs[0]}")


def time_moves(widget, control, values, repeats: int) -> list[float]:
    """Set `control` to each of `values` in turn, `repeats` times in all; ms per move."""
    times = []
    for value in itertools.islice(itertools.cycle(values), repeats):
        if control.value == value:
            continue
        start = time.perf_counter()
        control.value = value
        times.append((time.perf_counter() - start) * 1e3)
        check_no_error(widget)
    return times


def time_reruns(widget, text_control, prompts, button=None) -> list[float]:
    """Type each new prompt into `text_control` (and press `button`, if the widget has one); ms per re-run."""
    times = []
    for prompt in prompts:
        start = time.perf_counter()
        text_control.value = prompt
        if button is not None:
            button.click()
        times.append((time.perf_counter() - start) * 1e3)
        check_no_error(widget)
    return times


def slider_values(slider, most: int = 8) -> list:
    """Up to `most` values spread over a slider's range (ints or floats), or a dropdown's options."""
    if hasattr(slider, "options"):
        return [value for _, value in slider.options] if isinstance(slider.options[0], tuple) else list(slider.options)
    lo, hi = slider.min, slider.max
    if isinstance(lo, int) and isinstance(hi, int):
        return sorted({lo + round(i * (hi - lo) / (most - 1)) for i in range(most)})
    return [round(lo + i * (hi - lo) / (most - 1), 2) for i in range(most)]


def cases(lm, draft, prompt: str):
    """(widget name, widget, [(control name, control)], text control or None, run button or None, new texts or
    None for the 64-token prompts) per widget."""
    from llmviz.viz.widgets.attention import AttentionExplorer
    from llmviz.viz.widgets.detokenization import StreamExplorer
    from llmviz.viz.widgets.embeddings import NeighbourExplorer
    from llmviz.viz.widgets.feed_forward import NeuronExplorer
    from llmviz.viz.widgets.logits import TemperatureExplorer
    from llmviz.viz.widgets.loop import LoopExplorer
    from llmviz.viz.widgets.positional import PositionExplorer
    from llmviz.viz.widgets.residuals import LensExplorer
    from llmviz.viz.widgets.sampling import FilterExplorer
    from llmviz.viz.widgets.speculative import SpeculativeExplorer
    from llmviz.viz.widgets.tokenization import MergeExplorer
    from llmviz.viz.widgets.tour import Tour

    words = [p[:38] for p in prompts_of_64_tokens(lm, 31, tokens=16)]  # the merge explorer takes <= 40 bytes
    merges = MergeExplorer(words[0])
    yield "01 MergeExplorer", merges, [("step", merges.step)], merges.text, merges.run, words[1:]
    if lm.name == "tiny":  # the neighbour explorer's words are single tokens of the tiny model
        from llmviz.stages.embeddings import common_token_ids
        from llmviz.training.stories.generator import stories

        near = NeighbourExplorer(lm, common_token_ids(lm, stories(300), n=1500), word="cat")
        words = ["dog", "happy", "ran", "mom", "red", "tree", "cat"] * 5
        yield "02 NeighbourExplorer", near, [("k", near.k)], near.word, None, words[:30]
    if lm.architecture == "gpt2":  # the position explorer draws the model's learned position table
        pos = PositionExplorer(lm)
        yield ("03 PositionExplorer", pos, [("position", pos.position), ("scheme", pos.scheme)], None, None, None)
    tour = Tour(lm, prompt)
    yield "00 Tour", tour, [("position", tour.position), ("layer", tour.layer)], tour.prompt, None, None
    att = AttentionExplorer(lm, prompt)
    yield "04 AttentionExplorer", att, [("layer", att.layer), ("head", att.head)], att.prompt, None, None
    neurons = NeuronExplorer(lm, prompt)
    yield ("05 NeuronExplorer", neurons, [(n, getattr(neurons, n)) for n in ("layer", "position", "neuron")],
           neurons.prompt, None, None)
    lens = LensExplorer(lm, prompt)
    yield "06 LensExplorer", lens, [("position", lens.position), ("layer", lens.layer)], lens.prompt, None, None
    temp = TemperatureExplorer(lm, prompt)
    yield "07 TemperatureExplorer", temp, [("temperature", temp.temperature)], temp.prompt, temp.run, None
    filt = FilterExplorer(lm, prompt)
    yield ("08 FilterExplorer", filt, [(n, getattr(filt, n)) for n in ("temperature", "top_k", "top_p", "min_p")],
           filt.prompt, filt.run, None)
    loop = LoopExplorer(lm, prompt, max_new_tokens=20)
    yield "09 LoopExplorer", loop, [("step", loop.step)], None, None, None
    short = prompts_of_64_tokens(lm, 31, tokens=24)  # the stream explorer shows at most 24 tokens
    stream = StreamExplorer(lm, short[0])
    yield "11 StreamExplorer", stream, [("step", stream.step)], stream.text, stream.run, short[1:]
    spec = SpeculativeExplorer(lm, draft, prompt) if draft is not None else None
    if spec is not None:
        yield "10 SpeculativeExplorer", spec, [("draft_tokens", spec.draft_tokens)], None, None, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="3 repeats, and a missed goal is not a failure: for the "
                        "test suite")
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeats = 3
    torch.manual_seed(0)
    lm = llmviz.load(args.model)
    draft = llmviz.load("tiny-draft") if args.model == "tiny" else None
    new_prompts = prompts_of_64_tokens(lm, args.repeats + 1)
    ids = lm.to_tokens(new_prompts[0])
    with torch.inference_mode():
        for _ in range(3):
            lm.model(ids)
        forward = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            lm.model(ids)
            forward.append((time.perf_counter() - start) * 1e3)
    base = statistics.median(forward)
    print(f"model {args.model}; baseline: plain forward on 64 tokens, median {base:.1f} ms "
          f"(p95 {percentile(forward, 0.95):.1f} ms), {args.repeats} repeats\n")
    print(f"{'widget':<26} {'action':<22} {'p50 ms':>8} {'p95 ms':>8} {'p95/fwd':>8}  goal")
    failures = 0
    for name, widget, controls, text, button, texts in cases(lm, draft, new_prompts[0]):
        rows = [(control_name, time_moves(widget, control, slider_values(control), args.repeats), 50.0)
                for control_name, control in controls]
        if text is not None:
            label = "new 64-token prompt" if texts is None else "new word or short text"
            rows.append((label, time_reruns(widget, text, texts or new_prompts[1:], button), 150.0))
        for action, times, goal in rows:
            p95 = percentile(times, 0.95)
            ok = p95 <= goal
            failures += not ok
            print(f"{name:<26} {action:<22} {statistics.median(times):8.1f} {p95:8.1f} {p95 / base:8.2f}  "
                  f"<= {goal:.0f} ms {'ok' if ok else 'MISSED'}")
    return 1 if failures and not args.smoke else 0


if __name__ == "__main__":
    sys.exit(main())
