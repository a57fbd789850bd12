"""llmviz.load: named models, folders, devices, and a clear error for every kind of bad input."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import llmviz
from llmviz.models import MODELS, ModelLoadError


def _copy_tiny(tmp_path):
    folder = tmp_path / "tiny-copy"
    shutil.copytree(MODELS["tiny"], folder)
    return folder


def test_default_model_loads_offline_with_its_tokenizer(tiny_lm):
    assert tiny_lm.name == "tiny" and tiny_lm.architecture == "gpt2"
    assert tiny_lm.device == torch.device("cpu")
    # The shipped model ties its input embedding and output projection (DESIGN.md section 3).
    assert tiny_lm.model.lm_head.weight.data_ptr() == tiny_lm.model.transformer.wte.weight.data_ptr()
    assert tiny_lm.to_string(tiny_lm.to_tokens("The cat sat on the mat.")[0]) == "The cat sat on the mat."


def test_a_folder_loads_the_same_model_as_its_name(tmp_path, tiny_lm):
    by_path = llmviz.load(str(_copy_tiny(tmp_path)))
    ids = tiny_lm.to_tokens("Once upon a time")
    with torch.no_grad():
        assert torch.equal(by_path.model(ids).logits, tiny_lm.model(ids).logits)


@pytest.mark.parametrize("name", ["gpt-17", "tinyy", "../nowhere/model", "/no/such/folder"])
def test_unknown_names_list_the_named_models(name):
    with pytest.raises(ModelLoadError, match="Unknown model") as err:
        llmviz.load(name)
    assert "tiny" in str(err.value) and "smollm2-135m" in str(err.value)


def test_truncated_config_says_which_file_is_corrupt(tmp_path):
    folder = _copy_tiny(tmp_path)
    text = (folder / "config.json").read_text()
    (folder / "config.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelLoadError, match=r"config\.json is not valid JSON"):
        llmviz.load(str(folder))


def test_garbage_safetensors_is_named_as_corrupt(tmp_path):
    folder = _copy_tiny(tmp_path)
    (folder / "model.safetensors").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ModelLoadError, match=r"model\.safetensors is not a readable safetensors file"):
        llmviz.load(str(folder))


def test_truncated_safetensors_is_named_as_corrupt(tmp_path):
    folder = _copy_tiny(tmp_path)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelLoadError, match="truncated or corrupt"):
        llmviz.load(str(folder))


def test_a_pickle_only_folder_is_refused(tmp_path):
    folder = _copy_tiny(tmp_path)
    (folder / "model.safetensors").unlink()
    torch.save({"w": torch.zeros(2)}, folder / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="safetensors only") as err:
        llmviz.load(str(folder))
    assert "pytorch_model.bin" in str(err.value)


def test_a_folder_without_config_is_not_a_model(tmp_path):
    with pytest.raises(ModelLoadError, match="no config.json"):
        llmviz.load(str(tmp_path))


def test_other_architectures_are_refused_by_name(tmp_path):
    folder = _copy_tiny(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "bert"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="'bert' model.*GPT-2 and Llama"):
        llmviz.load(str(folder))


def test_a_file_instead_of_a_folder(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="is a file"):
        llmviz.load(str(path))


def test_devices():
    from llmviz.models import resolve_device
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("auto").type in ("cuda", "mps", "cpu")
    with pytest.raises(ModelLoadError, match="not a device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="sees no GPU"):
            llmviz.load("tiny", device="cuda")


def test_dtype_option_halves_the_weights():
    lm = llmviz.load("tiny", dtype=torch.bfloat16)
    assert next(lm.model.parameters()).dtype == torch.bfloat16


def test_missing_shipped_model_says_how_to_rebuild(monkeypatch, tmp_path):
    monkeypatch.setitem(MODELS, "tiny", tmp_path / "gone")
    with pytest.raises(ModelLoadError, match="python -m llmviz.training.train"):
        llmviz.load("tiny")


def test_missing_smollm2_cache_says_how_to_create_it(monkeypatch, tmp_path):
    monkeypatch.setitem(MODELS, "smollm2-135m", tmp_path / "gone")
    with pytest.raises(ModelLoadError, match="make setup"):
        llmviz.load("smollm2-135m")


@pytest.mark.parametrize("bad, error", [("", ValueError), (b"bytes", TypeError), (3.5, TypeError),
                                        ([], ValueError)])
def test_bad_prompts_get_clear_errors(tiny_lm, bad, error):
    with pytest.raises(error, match="prompt|token ids|Expected"):
        tiny_lm.to_tokens(bad)


def test_over_long_prompt_names_the_limit(tiny_lm):
    with pytest.raises(ValueError, match=f"at most {tiny_lm.n_ctx} tokens"):
        tiny_lm.to_tokens(list(range(10)) * tiny_lm.n_ctx)


def test_readable_tokens_show_spaces_and_partial_characters(tiny_lm):
    tokens = tiny_lm.to_str_tokens("The cat 🐱")
    assert "".join(tokens).startswith("The␣cat␣")
    assert "Ġ" not in "".join(tokens)
    # Every token's bytes joined back give the text exactly, emoji included.
    ids = tiny_lm.to_tokens("The cat 🐱")[0]
    assert b"".join(tiny_lm.token_bytes(i) for i in ids).decode("utf-8") == "The cat 🐱"


@pytest.mark.slow
def test_smollm2_loads_offline_and_answers_sensibly(smollm2_lm):
    lm = smollm2_lm
    assert (lm.architecture, lm.n_layers, lm.n_heads, lm.n_kv_heads) == ("llama", 30, 9, 3)
    ids = lm.tokenizer.apply_chat_template([{"role": "user", "content": "What is machine learning?"}],
                                           add_generation_prompt=True, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        out = lm.model.generate(ids, max_new_tokens=30, do_sample=False)
    answer = lm.tokenizer.decode(out[0, ids.shape[1]:]).lower()
    assert "learn" in answer and ("data" in answer or "algorithm" in answer or "intelligence" in answer), answer
