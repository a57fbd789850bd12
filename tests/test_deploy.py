"""The deployment files agree with each other and with the measured figures: the hub's config (loaded as JupyterHub
loads it), the Zero to JupyterHub values (parsed; no cluster runs here), the sizing guide in docs/classroom.md, and
deploy/sizing.json, which benchmarks/classroom.py wrote. One copy of each figure; these tests catch a second one.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from traitlets.config.loader import PyFileConfigLoader

from llmviz.classroom.sizing import RESERVE_GB, guide_rows, learners_per_server, load_sizing
from llmviz.registry import CACHE_DIR, REPO_ROOT

HUB_CONFIG = REPO_ROOT / "deploy" / "hub" / "jupyterhub_config.py"
Z2JH = REPO_ROOT / "deploy" / "z2jh" / "config.yaml"
GUIDE = REPO_ROOT / "docs" / "classroom.md"
SIZING = load_sizing()
MODELS = [name for name in SIZING if not name.startswith("_")]


def load_hub_config(monkeypatch, tmp_path, **env):
    monkeypatch.setenv("LLMVIZ_HUB_STATE", str(tmp_path))
    monkeypatch.setenv("LLMVIZ_HUB_PASSWORD", "class-password")
    for name in ("LLMVIZ_HUB_SPAWNER", "LLMVIZ_HUB_USERS", "LLMVIZ_HUB_ADMIN_PASSWORD", "LLMVIZ_HUB_SERVICE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    loader = PyFileConfigLoader(HUB_CONFIG.name, path=str(HUB_CONFIG.parent))
    return loader.load_config()


def test_the_hub_listens_on_loopback_only_and_lets_the_class_in(monkeypatch, tmp_path):
    c = load_hub_config(monkeypatch, tmp_path)
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8000"
    assert c.JupyterHub.hub_ip == "127.0.0.1" and c.Spawner.ip == "127.0.0.1"
    assert c.ConfigurableHTTPProxy.api_url.startswith("http://127.0.0.1:")
    assert "--ServerApp.ip=127.0.0.1" in c.Spawner.args
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.SharedPasswordAuthenticator.user_password == "class-password"
    assert c.Authenticator.allow_all is True and c.Authenticator.admin_users == {"teacher"}
    # The teacher's password was made once, 32+ characters, kept readable by the hub's user only.
    teacher = tmp_path / "teacher-password"
    assert len(c.SharedPasswordAuthenticator.admin_password) >= 32
    assert teacher.read_text().strip() == c.SharedPasswordAuthenticator.admin_password
    assert teacher.stat().st_mode & 0o077 == 0
    assert c.Spawner.environment["LLMVIZ_CACHE"] == str(CACHE_DIR)
    assert c.JupyterHub.spawner_class.endswith("SimpleLocalProcessSpawner")
    culler = next(service for service in c.JupyterHub.services if service["name"] == "idle-culler")
    assert "--timeout=3600" in culler["command"]


def test_named_learners_only_and_the_isolating_spawners(monkeypatch, tmp_path):
    c = load_hub_config(monkeypatch, tmp_path, LLMVIZ_HUB_USERS="ada, bob", LLMVIZ_HUB_SPAWNER="systemd")
    assert c.Authenticator.allowed_users == {"ada", "bob"} and "allow_all" not in c.Authenticator
    assert c.JupyterHub.spawner_class == "systemdspawner.SystemdSpawner"
    assert c.SystemdSpawner.mem_limit == f"{SIZING['smollm2-135m']['limit_gb']}G"  # the measured figure, one copy
    assert "--allow-root" not in c.Spawner.args  # learners run as their own users there
    c = load_hub_config(monkeypatch, tmp_path, LLMVIZ_HUB_SPAWNER="system")
    assert c.JupyterHub.spawner_class == "jupyterhub.spawner.LocalProcessSpawner"


@pytest.mark.parametrize("env, message", [({"LLMVIZ_HUB_PASSWORD": "short"}, "set LLMVIZ_HUB_PASSWORD"),
                                          ({"LLMVIZ_HUB_SPAWNER": "docker"}, "use simple, system or systemd")])
def test_bad_settings_stop_the_hub_with_a_message(monkeypatch, tmp_path, env, message):
    with pytest.raises(SystemExit, match=message):
        load_hub_config(monkeypatch, tmp_path, **env)


def gigabytes(quantity: str) -> float:
    assert re.fullmatch(r"\d+(\.\d+)?G", quantity), f"{quantity!r}: write memory in G, as deploy/sizing.json does"
    return float(quantity[:-1])


def test_z2jh_values_carry_the_measured_memory_figures():
    values = yaml.safe_load(Z2JH.read_text())
    user = values["singleuser"]
    assert gigabytes(user["memory"]["guarantee"]) == SIZING["smollm2-135m"]["guarantee_gb"]
    assert gigabytes(user["memory"]["limit"]) == SIZING["smollm2-135m"]["limit_gb"]
    assert user["memory"]["limit"] > user["memory"]["guarantee"]
    # The cache postBuild bakes into the image (repo2docker's CONDA_DIR is /srv/conda), outside the home volume.
    assert user["extraEnv"]["LLMVIZ_CACHE"] == "/srv/conda/share/llmviz-cache"
    assert 'LLMVIZ_CACHE="$CONDA_DIR/share/llmviz-cache"' in (REPO_ROOT / "postBuild").read_text()
    assert user["extraEnv"]["OMP_NUM_THREADS"] == "1" and user["extraEnv"]["HF_HUB_OFFLINE"] == "1"
    assert user["defaultUrl"] == "/lab/tree/llmviz-notebooks/00_tour.ipynb"
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] == 3600
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] == "shared-password"
    assert values["hub"]["config"]["Authenticator"]["allow_all"] is True
    assert "SharedPasswordAuthenticator" not in values["hub"]["config"]  # passwords come with --set, not from git


def test_sizing_rows_follow_from_the_figures():
    """Learners per server, recomputed here from the definitions docs/classroom.md gives."""
    for name in MODELS:
        figures = SIZING[name]
        assert 0 < figures["uss_gb"] <= figures["pss_gb"] <= figures["rss_gb"]
        assert figures["guarantee_gb"] >= figures["pss_gb"] and figures["limit_gb"] >= figures["rss_gb"]
        by_memory, by_cpu = learners_per_server(figures, 16, 64)
        assert by_memory == int((64 - RESERVE_GB) // figures["pss_gb"])
        assert by_cpu == int(16 * 60 * 0.7 // figures["cpu_s_per_minute"])  # cores x seconds x utilisation


def test_the_guide_gives_the_measured_figures_and_the_readme_links_it():
    guide = GUIDE.read_text()
    for row in guide_rows(SIZING):
        assert row in guide, f"docs/classroom.md lacks this row of the sizing guide (from deploy/sizing.json):\n{row}"
    tiny, smollm2 = SIZING["tiny"], SIZING["smollm2-135m"]
    assert f"memory guarantee {smollm2['guarantee_gb']} GB and limit {smollm2['limit_gb']} GB" in guide
    for figures in (tiny, smollm2):
        assert f"PSS {figures['pss_gb']} GB" in guide and f"USS {figures['uss_gb']} GB" in guide
    assert "NO isolation" in guide
    assert "docs/classroom.md" in (REPO_ROOT / "README.md").read_text()


def test_make_hub_asks_for_the_class_password_first():
    result = subprocess.run(["make", "-s", "-C", str(REPO_ROOT), "-o", "setup", "hub"], capture_output=True,
                            text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "LLMVIZ_HUB_PASSWORD": ""})
    assert result.returncode == 2 and "set the class password first" in result.stdout + result.stderr
