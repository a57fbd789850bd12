"""Which model the notebooks show for learners' own prompts: SmolLM2 when it is set up and memory allows, else the
shipped tiny model, always with a one-line notice saying why.

SmolLM2-135M's float32 weights (538 MB) are memory-mapped from the safetensors cache by `from_pretrained`: its pages are
clean, shared by every kernel that maps the file, and counted once by a cgroup. A kernel running the tour on SmolLM2
measured 1.05 GB RSS but 0.40 GB of its own (USS); two such kernels together 1.32 GB (their USS plus the file once),
well under Binder's 2 GB limit (benchmarks/kernel_memory.py, README). Below `MIN_MEMORY_GB` available to this
process (the cgroup limit on Binder and in containers, else the machine's RAM) the tiny model is shown.
`LLMVIZ_MODEL` overrides the choice, e.g. `LLMVIZ_MODEL=tiny make lab` for a weak laptop. This module only chooses;
loading and its checks live in models.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from llmviz.models import load
from llmviz.registry import MODELS, ModelLoadError

PREFERRED, FALLBACK = "smollm2-135m", "tiny"
MIN_MEMORY_GB = 1.8  # Binder's 2 GiB (2.1 GB) limit shows SmolLM2; a 1.5 GB machine keeps the tiny model
CGROUP_LIMITS = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))


def memory_limit_gb(cgroup_files=CGROUP_LIMITS, meminfo: Path = Path("/proc/meminfo")) -> float | None:
    """The memory this process may use, in GB: the smallest of the cgroup limit (v2 or v1) and the machine's RAM.
    None when neither can be read (not Linux); "max" and v1's huge sentinel mean no cgroup limit."""
    limits = []
    for path in cgroup_files:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            limits.append(int(text) / 1e9)
    try:
        total_kb = next(int(line.split()[1]) for line in meminfo.read_text().splitlines()
                        if line.startswith("MemTotal:"))
        limits.append(total_kb * 1024 / 1e9)
    except (OSError, StopIteration, ValueError):
        pass
    return min(limits) if limits else None


def prompt_model(preferred: str = PREFERRED, fallback: str = FALLBACK, log=print):
    """The model for learners' own prompts, as an LM; `log` receives the one-line notice when it is not `preferred`.

    Order: `LLMVIZ_MODEL` if set (an unknown name raises ModelLoadError listing the names); the fallback when this
    process may use less than MIN_MEMORY_GB; `preferred` when it loads; else the fallback with the reason.
    """
    chosen = os.environ.get("LLMVIZ_MODEL", "").strip()
    if chosen:
        if chosen not in MODELS and not Path(chosen).expanduser().is_dir():
            raise ModelLoadError(f"LLMVIZ_MODEL={chosen!r} is neither a named model ({', '.join(MODELS)}) nor a "
                                 "folder; unset it, or set it to one of those names.")
        return load(chosen)
    limit = memory_limit_gb()
    if limit is not None and limit < MIN_MEMORY_GB:
        log(f"Showing the {fallback} model: this machine lets the notebook use {limit:.1f} GB, and {preferred} "
            f"needs about 1.1 GB for the first open notebook and 0.4 GB for each further one. Set "
            f"LLMVIZ_MODEL={preferred} to use it anyway.")
        return load(fallback)
    try:
        return load(preferred)
    except (ModelLoadError, OSError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        log(f"Showing the {fallback} model instead of {preferred}, which knows only its small story world. {first}")
        return load(fallback)
