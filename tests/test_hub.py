"""The class hub of `make hub` (deploy/hub/jupyterhub_config.py), run for real on 127.0.0.1: two learners log in with
the class password, get the tour in their own JupyterLab, and run llmviz in their own kernels; the teacher logs in
with the teacher's password only; and stopping the hub leaves no process behind.

Learners' kernels compute the tiny model's logits, and this process computes them again without the hub: the numbers
must agree. The hub runs with the simple spawner (no isolation), the only one that works without system accounts.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.error
from pathlib import Path

import psutil
import pytest
import torch

from llmviz.classroom import Hub, HubError, Kernel
from llmviz.registry import CACHE_DIR, REPO_ROOT

LOCAL_PROXY = Path(sys.executable).parent.parent / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
PROMPT = "The cat sat on the"


@pytest.fixture(autouse=True)
def proxy_installed():
    """The hub needs configurable-http-proxy (set-up installs it with npm). Under CI it must be there."""
    if LOCAL_PROXY.exists() or shutil.which("configurable-http-proxy"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("configurable-http-proxy is missing under CI=true; scripts/setup.sh installs it with npm.")
    pytest.skip("configurable-http-proxy is missing: `make setup` installs it (needs npm)")


def processes_of(state: Path) -> list[psutil.Process]:
    """Every process on the machine that belongs to this hub, found from the environment it runs in, not from the
    hub's own list: the hub and its culler carry LLMVIZ_HUB_STATE, learners' servers and kernels a HOME inside it."""
    found = []
    for process in psutil.process_iter():
        try:
            env = process.environ()
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if env.get("LLMVIZ_HUB_STATE") == str(state) or env.get("HOME", "").startswith(str(state)):
            found.append(process)
    return found


def test_the_hub_refuses_to_start_without_a_class_password(tmp_path):
    with pytest.raises(HubError, match="set LLMVIZ_HUB_PASSWORD to the class password"):
        with Hub(tmp_path / "hub", env={"LLMVIZ_HUB_PASSWORD": "short"}):
            pass
    assert processes_of(tmp_path / "hub") == []


@pytest.mark.slow  # two learners' servers and kernels importing torch: about a minute on a busy 2-core machine
def test_two_learners_get_the_tour_and_run_llmviz_then_nothing_is_left(tmp_path, tiny_lm):
    state = tmp_path / "hub"
    learners = ["ada", "bob"]
    with Hub(state) as hub:
        assert hub.start_servers(learners) > 0
        # A learner logs in through the login form and lands on the tour in JupyterLab.
        ada = hub.login("ada")
        with ada.open(f"{hub.url}/user/ada/lab/tree/llmviz-notebooks/00_tour.ipynb", timeout=60) as page:
            assert page.status == 200 and "JupyterLab" in page.read().decode()
        with ada.open(f"{hub.url}/user/ada/api/contents/llmviz-notebooks/00_tour.ipynb", timeout=60) as answer:
            served = json.loads(answer.read())["content"]
        shipped = json.loads((REPO_ROOT / "notebooks" / "00_tour.ipynb").read_text())
        assert [cell["source"] for cell in served["cells"]] == ["".join(cell["source"]) for cell in shipped["cells"]]
        # Her session opens her server only, not bob's.
        with pytest.raises(urllib.error.HTTPError) as refused:
            ada.open(f"{hub.url}/user/bob/api/contents", timeout=60)
        assert refused.value.code == 403
        # The teacher logs in with the teacher's password, and not with the class password.
        teacher_password = (state / "teacher-password").read_text().strip()
        hub.login("teacher", teacher_password)
        with pytest.raises(HubError, match="refused"):
            hub.login("teacher", hub.password)

        kernels = [Kernel(hub, name) for name in learners]
        try:
            seen = [json.loads(kernel.execute(
                "import json, os, llmviz\n"
                "lm = llmviz.load('tiny')\n"
                f"logits, cache = lm.run_with_cache({PROMPT!r})\n"
                "print(json.dumps({'logits': logits[0, -1, :8].tolist(), 'shape': list(logits.shape),\n"
                "                  'home': os.environ['HOME'], 'cache': os.environ['LLMVIZ_CACHE'],\n"
                "                  'pattern': list(cache['blocks.0.attn.hook_pattern'].shape)}))\n"))
                for kernel in kernels]
        finally:
            for kernel in kernels:
                kernel.close()
        hub_pids = [process.pid for process in processes_of(state)]
        assert len(hub_pids) >= 3, hub_pids  # the hub, the culler and the learners' servers at least

    with torch.no_grad():
        expected, _ = tiny_lm.run_with_cache(PROMPT)
    for name, answer in zip(learners, seen, strict=True):
        assert answer["shape"] == list(expected.shape)
        assert torch.allclose(torch.tensor(answer["logits"]), expected[0, -1, :8], atol=1e-4)
        tokens = len(tiny_lm.to_str_tokens(PROMPT))
        assert answer["pattern"] == [1, tiny_lm.n_heads, tokens, tokens]
        assert answer["home"] == str(state / "homes" / name)  # each learner has a home of their own...
        assert answer["cache"] == str(CACHE_DIR)  # ...and all read the one model cache
    # Stopped by pid: neither the hub's own list nor a scan of the machine finds anything of it alive.
    assert [p.pid for p in hub.started.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert processes_of(state) == []
