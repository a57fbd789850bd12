"""How many learners a server holds, from the per-learner figures the classroom load test measured.

The figures live in one file, deploy/sizing.json, written by `benchmarks/classroom.py --write-sizing`. The sizing
guide in docs/classroom.md, the hub's memory limit (deploy/hub/jupyterhub_config.py) and the Kubernetes values
(deploy/z2jh/config.yaml) are all checked against it by tests/test_deploy.py, so no second copy can drift.

Memory: on one server, learners share the libraries' pages, so a learner costs their proportional share (PSS) of
their server and kernel. CPU: the load test measures each call's CPU time inside the kernel (which other processes
do not inflate, unlike its latency) and the servers', proxy's and hub's share per call. A brisk learner (PACE: each
minute two new prompts, twelve slider moves and one 20-token generation) then costs `cpu_s_per_minute` CPU seconds a
minute, and a server holds as many as keep its cores at most UTILISATION busy, so calls seldom queue. Both bounds
are printed, and the smaller wins.
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
# A brisk learner's calls per minute, and the share of the cores the class may keep busy (queues grow fast beyond).
PACE = {"rerun": 2, "index": 12, "generate": 1}
UTILISATION = 0.7


def load_sizing(path: Path = SIZING_FILE) -> dict:
    return json.loads(Path(path).read_text())


def learners_per_server(figures: dict, cores: int, memory_gb: float) -> tuple[int, int]:
    """(learners by memory, learners by CPU) for one model's figures on a server of `cores` and `memory_gb`.

    figures: one model's entry of sizing.json: `pss_gb` and `cpu_s_per_minute` per learner."""
    by_memory = math.floor((memory_gb - RESERVE_GB) / figures["pss_gb"])
    by_cpu = math.floor(cores * 60 * UTILISATION / figures["cpu_s_per_minute"])
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
