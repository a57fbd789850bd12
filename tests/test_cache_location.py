"""LLMVIZ_CACHE moves SmolLM2's converted copy: load(), `llmviz prepare-smollm2` and `llmviz models` all follow it,
and a missing or unwritable cache says which setting points where.

On a shared server every learner has a HOME of their own, so `~/.cache/llmviz` would miss the teacher's copy; the hub
sets LLMVIZ_CACHE to one read-only folder (deploy/hub/jupyterhub_config.py). The setting is read when llmviz is
imported, so each case runs in a fresh interpreter with the variable set, as a learner's kernel does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from llmviz.registry import MODELS

PROMPT = "The cat sat on the"


def run_python(code: str, cache: str, **env) -> subprocess.CompletedProcess:
    environment = dict(os.environ, LLMVIZ_CACHE=cache, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)


def fake_smollm2(folder):
    """A 2-layer random Llama with the tiny model's tokenizer, where SmolLM2 (30 layers) would be: if load() read the
    real cache instead, the layer count and the logits would both differ."""
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=4096, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    for name in MODELS["tiny"].iterdir():
        if "token" in name.name or name.name in ("vocab.json", "merges.txt"):
            shutil.copy(name, folder / name.name)
    return folder


def test_load_and_the_cli_read_smollm2_from_llmviz_cache(tmp_path):
    folder = fake_smollm2(tmp_path / "shared" / "smollm2-135m")
    result = run_python(
        "import json, torch, llmviz\n"
        "from llmviz.registry import MODELS\n"
        "from llmviz.cli import main\n"
        "lm = llmviz.load('smollm2-135m')\n"
        f"logits = lm.run_with_cache({PROMPT!r})[0]\n"
        "print(json.dumps({'folder': str(MODELS['smollm2-135m']), 'layers': lm.model.config.num_hidden_layers,\n"
        "                  'logits': logits[0, -1, :5].tolist()}))\n"
        "assert main(['prepare-smollm2']) == 0\n"
        "assert main(['models']) == 0\n", str(tmp_path / "shared"))
    assert result.returncode == 0, result.stderr
    first, *cli = result.stdout.splitlines()
    seen = json.loads(first)
    assert seen["folder"] == str(folder) and seen["layers"] == 2
    # An independent computation: the same folder loaded by plain transformers, not through the registry.
    model = LlamaForCausalLM.from_pretrained(folder).eval()
    ids = AutoTokenizer.from_pretrained(folder)(PROMPT, return_tensors="pt").input_ids
    with torch.no_grad():
        expected = model(ids).logits[0, -1, :5]
    assert torch.allclose(torch.tensor(seen["logits"]), expected, atol=1e-5)
    # prepare-smollm2 finds the cache prepared (it would take 25 s to convert) and says where it is.
    assert f"SmolLM2-135M-Instruct is ready in {folder}" in cli[0]
    assert any(line.split()[:3] == ["smollm2-135m", "ready", str(folder)] for line in cli), cli


def test_a_missing_cache_names_the_setting_and_expands_home(tmp_path):
    result = run_python(
        "import llmviz\n"
        "from llmviz.registry import MODELS\n"
        "print(MODELS['smollm2-135m'])\n"
        "try:\n"
        "    llmviz.load('smollm2-135m')\n"
        "except llmviz.ModelLoadError as err:\n"
        "    print(err)\n", "~/class-cache", HOME=str(tmp_path))
    assert result.returncode == 0, result.stderr
    folder, message = result.stdout.splitlines()[:2]
    assert folder == str(tmp_path / "class-cache" / "smollm2-135m")
    assert f"SmolLM2 is not set up: {folder} is missing (LLMVIZ_CACHE=~/class-cache points there)" in message
    assert "llmviz prepare-smollm2" in message


def test_an_unwritable_cache_fails_before_converting_and_says_what_to_do(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = subprocess.run([sys.executable, "-m", "llmviz.cli", "prepare-smollm2"],
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, LLMVIZ_CACHE=str(blocker / "cache")))
    assert result.returncode == 1, result
    assert f"Cannot write SmolLM2's cache in {blocker / 'cache'}" in result.stderr
    assert "Point LLMVIZ_CACHE at a folder you can write (it is set to" in result.stderr
    assert blocker.read_text() == "not a folder"
