"""Tests for llmviz.model_choice: the memory limit read from cgroup files and /proc/meminfo, and which model the
prompt notebooks get (LLMVIZ_MODEL, low memory, SmolLM2 missing, SmolLM2 present)."""

import pytest

import llmviz.models
from llmviz import model_choice
from llmviz.model_choice import memory_limit_gb, prompt_model
from llmviz.models import ModelLoadError

MEMINFO = "MemTotal:       24576000 kB\nMemFree:        1000 kB\n"


def _files(tmp_path, v2=None, v1=None):
    paths = []
    for name, text in (("memory.max", v2), ("limit_in_bytes", v1)):
        path = tmp_path / name
        if text is not None:
            path.write_text(text + "\n")
        paths.append(path)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(MEMINFO)
    return paths, meminfo


def test_memory_limit_is_the_smallest_of_cgroup_and_ram(tmp_path):
    ram_gb = 24576000 * 1024 / 1e9
    files, meminfo = _files(tmp_path, v2="max")
    assert memory_limit_gb(files, meminfo) == pytest.approx(ram_gb)
    files, meminfo = _files(tmp_path, v2=str(2 * 1024**3))       # a Binder-like 2 GiB limit
    assert memory_limit_gb(files, meminfo) == pytest.approx(2 * 1024**3 / 1e9)
    (tmp_path / "v1").mkdir()
    files, meminfo = _files(tmp_path / "v1", v1="9223372036854771712")
    assert memory_limit_gb(files, meminfo) == pytest.approx(ram_gb)  # cgroup v1's "no limit" sentinel
    assert memory_limit_gb([tmp_path / "absent"], tmp_path / "absent-meminfo") is None


def test_env_variable_chooses_the_model(monkeypatch, capsys):
    monkeypatch.setenv("LLMVIZ_MODEL", "tiny")
    monkeypatch.setattr(model_choice, "memory_limit_gb", lambda: 100.0)
    assert prompt_model().name == "tiny" and capsys.readouterr().out == ""
    monkeypatch.setenv("LLMVIZ_MODEL", "gpt-7")
    with pytest.raises(ModelLoadError, match="LLMVIZ_MODEL='gpt-7'.*tiny"):
        prompt_model()


def test_low_memory_shows_the_tiny_model_and_says_why(monkeypatch):
    monkeypatch.delenv("LLMVIZ_MODEL", raising=False)
    monkeypatch.setattr(model_choice, "memory_limit_gb", lambda: 1.5)
    notices = []
    lm = prompt_model(log=notices.append)
    assert lm.name == "tiny" and len(notices) == 1
    assert "1.5 GB" in notices[0] and "LLMVIZ_MODEL=smollm2-135m" in notices[0]


def test_missing_smollm2_falls_back_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.delenv("LLMVIZ_MODEL", raising=False)
    monkeypatch.setattr(model_choice, "memory_limit_gb", lambda: 100.0)
    monkeypatch.setitem(llmviz.registry.MODELS, "smollm2-135m", tmp_path / "not-set-up")
    notices = []
    lm = prompt_model(log=notices.append)
    assert lm.name == "tiny" and "SmolLM2 is not set up" in notices[0]


@pytest.mark.slow
def test_smollm2_is_shown_when_set_up_and_memory_allows(monkeypatch):
    monkeypatch.delenv("LLMVIZ_MODEL", raising=False)
    monkeypatch.setattr(model_choice, "memory_limit_gb", lambda: 100.0)
    notices = []
    lm = prompt_model(log=notices.append)
    assert lm.name == "smollm2-135m" and lm.architecture == "llama" and notices == []
