"""How many learners a server holds, from the per-learner figures the classroom load test measured.

The figures live in one file, deploy/sizing.json, written by `benchmarks/classroom.py --write-sizing`. The sizing
guide in docs/classroom.md, the hub's memory limit (deploy/hub/jupyterhub_config.py) and the Kubernetes values
(deploy/z2jh/config.yaml) are all checked against it by tests/test_deploy.py, so no second copy can drift.

Memory: on one server, learners share the libraries' pages, so a learner costs their proportional share (PSS) of
their server and kernel. CPU: a learner running the lesson without pause (the next call sent as soon as the last one
answered) keeps `cpu_cores` of a core busy; a server holds as many such learners as it has cores for. Real learners
read and think between calls, so both bounds are conservative. Both are printed, and the smaller wins.
This module computes; it starts nothing and reads only sizing.json.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from llmviz.registry import REPO_ROOT

SIZING_FILE = REPO_ROOT / "deploy" / "sizing.json"
# Common server sizes (cores, GB of memory) for the guide's table.
SERVERS = [(8, 32), (16, 64), (32, 128), (64, 256)]
# Memory kept back for the operating system, the hub and its proxy, and the page cache that holds the model files.
RESERVE_GB = 4.0


def load_sizing(path: Path = SIZING_FILE) -> dict:
    return json.loads(Path(path).read_text())


def learners_per_server(figures: dict, cores: int, memory_gb: float) -> tuple[int, int]:
    """(learners by memory, learners by CPU) for one model's figures on a server of `cores` and `memory_gb`.

    figures: one model's entry of sizing.json: `pss_gb` and `cpu_cores` per learner."""
    by_memory = math.floor((memory_gb - RESERVE_GB) / figures["pss_gb"])
    by_cpu = math.floor(cores / figures["cpu_cores"])
    return by_memory, by_cpu


def guide_rows(sizing: dict) -> list[str]:
    """The sizing guide's table as markdown rows: one per server size, one column per model."""
    models = [name for name in sizing if not name.startswith("_")]
    rows = ["| server | " + " | ".join(f"{name}: learners (memory / CPU bound)" for name in models) + " |",
            "|---|" + "---|" * len(models)]
    for cores, memory in SERVERS:
        cells = []
        for name in models:
            by_memory, by_cpu = learners_per_server(sizing[name], cores, memory)
            cells.append(f"**{min(by_memory, by_cpu)}** ({by_memory} / {by_cpu})")
        rows.append(f"| {cores} cores, {memory} GB | " + " | ".join(cells) + " |")
    return rows


def round_up(value: float, step: float) -> float:
    return round(math.ceil(value / step - 1e-9) * step, 2)
