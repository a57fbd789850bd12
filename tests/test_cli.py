"""`llmviz explain`: every number it prints is recomputed here from a plain forward pass of the same model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from llmviz.cli import explain, main

PROMPT = "The cat sat on the"


def test_explain_matches_a_plain_forward_pass(tiny_lm):
    result = explain(tiny_lm, PROMPT, top=10, max_new_tokens=8)
    ids = tiny_lm.tokenizer(PROMPT)["input_ids"]
    assert result.token_ids == ids
    assert "".join(result.tokens) == PROMPT.replace(" ", "␣")
    with torch.no_grad():
        probs = torch.softmax(tiny_lm.model(torch.tensor([ids])).logits[0, -1], dim=-1)
    expected_probs, expected_ids = probs.topk(10)
    assert result.top_ids == expected_ids.tolist()
    assert torch.allclose(torch.tensor(result.top_probs), expected_probs, atol=1e-6)
    # Greedy continuation recomputed by hand: append the argmax, eight times.
    seq = list(ids)
    for _ in range(8):
        with torch.no_grad():
            seq.append(int(tiny_lm.model(torch.tensor([seq])).logits[0, -1].argmax()))
    assert result.continuation == tiny_lm.tokenizer.decode(seq[len(ids):])


def test_console_script_runs_offline_and_prints_the_tables():
    script = Path(sys.executable).parent / "llmviz"
    out = subprocess.run([str(script), "explain", PROMPT, "--max-new-tokens", "5"], capture_output=True,
                         text=True, check=True, env={"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}).stdout
    assert "5 tokens:" in out and "top 10 next tokens:" in out and "greedy continuation:" in out
    assert "␣cat" in out and "Ġ" not in out
    assert out.count("%") >= 10


def test_bad_input_is_one_clear_line_and_exit_2(capsys):
    assert main(["explain", ""]) == 2
    assert "prompt is empty" in capsys.readouterr().err
    assert main(["explain", PROMPT, "--model", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "Unknown model 'no-such-model'" in err and "Traceback" not in err
    assert main(["explain", PROMPT, "--top", "0"]) == 2
    assert "--top must be at least 1" in capsys.readouterr().err


def test_models_lists_every_named_model(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("tiny", "tiny-draft", "smollm2-135m"):
        assert name in out


def readme_console_block(command: str) -> tuple[str, str]:
    """(the command line, the output) of the README's ```console block that runs `command`."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index(f"$ {command}")
    block = readme[start:readme.index("```", start)]
    line, _, output = block.partition("\n")
    return line, output


def test_readme_explain_output_is_what_the_command_prints(capsys):
    """The README shows `llmviz explain` run on the shipped model; regenerate it and compare, line for line."""
    line, shown = readme_console_block(".venv/bin/llmviz explain")
    prompt = line.split("explain", 1)[1].strip().strip('"')
    assert main(["explain", prompt]) == 0
    printed = capsys.readouterr().out
    assert shown.rstrip("\n").splitlines() == printed.rstrip("\n").splitlines(), \
        "README's `llmviz explain` block is stale: paste the output of `make explain`"
