"""Smoke tests for llmviz.training.train: a toy configuration trains in seconds, its loss falls, and the folder it
writes loads through llmviz.load with the losses it reports. No corpora are needed (the smoke preset uses stories
only)."""

import json
import math
from dataclasses import replace

import pytest
import torch

import llmviz
from llmviz.training.stories.generator import stories
from llmviz.training.train import PRESETS, Stream, main, train


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    metrics = train(PRESETS["smoke"], out, progress=False, log=lambda s: None)
    return out, metrics


def test_smoke_training_loss_falls(smoke):
    _, m = smoke
    vocab = PRESETS["smoke"].vocab
    # An untrained model guesses near-uniformly: ln(vocab) nats. Training must go well below both.
    assert m["first_train_loss"] > math.log(vocab) - 0.5
    assert m["final_train_loss"] < m["first_train_loss"] - 1.0
    assert m["val_loss"]["stories"] < math.log(vocab) - 1.0


def test_smoke_folder_loads_and_reproduces_its_loss(smoke):
    out, m = smoke
    lm = llmviz.load(str(out))
    assert lm.model.dtype == torch.float32  # stored as fp16, loaded as float32
    assert lm.n_layers == 1 and lm.d_model == 32 and lm.n_ctx == 64
    assert lm.tokenizer.eos_token == "<|endoftext|>" and lm.tokenizer.eos_token_id == 0
    # Recompute the story validation loss by hand: log-softmax of the logits at the next token.
    docs = stories(PRESETS["smoke"].n_val, seed=PRESETS["smoke"].seed + 7919)
    total, count = 0.0, 0
    with torch.no_grad():
        for doc in docs:
            ids = lm.tokenizer(doc, add_special_tokens=False)["input_ids"]
            for i in range(0, len(ids), 64):
                window = torch.tensor(ids[i:i + 64])[None]
                if window.shape[1] < 2:
                    continue
                logp = torch.log_softmax(lm.model(window).logits[0, :-1].float(), -1)
                total -= float(logp.gather(1, window[0, 1:, None]).sum())
                count += window.shape[1] - 1
    # The fp16 storage rounds the weights, so allow a small gap.
    assert total / count == pytest.approx(m["val_loss"]["stories"], abs=0.02)
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["val_loss"] == m["val_loss"]
    assert "Validation loss" in (out / "README.md").read_text()


def test_training_is_seeded(tmp_path):
    preset = replace(PRESETS["smoke"], tokens=8 * 64 * 5)
    a = train(preset, tmp_path / "a", progress=False, log=lambda s: None)
    b = train(preset, tmp_path / "b", progress=False, log=lambda s: None)
    assert a["first_train_loss"] == b["first_train_loss"]
    assert a["final_train_loss"] == pytest.approx(b["final_train_loss"], abs=1e-5)


def test_stream_blocks_start_at_documents():
    import numpy as np
    stream = Stream([[1, 2, 3], [4, 5], [6, 7, 8, 9]], eot=0)
    assert stream.ids.tolist() == [1, 2, 3, 0, 4, 5, 0, 6, 7, 8, 9, 0]
    rng = np.random.default_rng(0)
    firsts = {int(stream.block(rng, 3, at_doc_start=True)[0]) for _ in range(50)}
    assert firsts <= {1, 4, 6} and len(firsts) >= 2


def test_cli_rejects_a_budget_below_one_batch():
    with pytest.raises(SystemExit):
        main(["--smoke", "--tokens", "10"])


def test_cli_size_flags_reach_the_written_config(tmp_path):
    main(["--smoke", "--tokens", str(8 * 64 * 2), "--d-model", "48", "--n-layers", "2", "--n-heads", "3",
          "--out", str(tmp_path / "m")])
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert (config["n_embd"], config["n_layer"], config["n_head"]) == (48, 2, 3)
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["preset"]["d_model"] == 48


@pytest.mark.parametrize("flags, words", [(["--d-model", "50", "--n-heads", "3"], "multiple of --n-heads 3"),
                                          (["--n-layers", "0"], "must be positive")])
def test_cli_rejects_impossible_sizes(flags, words, capsys):
    with pytest.raises(SystemExit):
        main(["--smoke", *flags])
    assert words in capsys.readouterr().err


def test_distilled_stories_join_the_mix_and_get_their_own_validation_loss(tmp_path, monkeypatch):
    import llmviz.training.stories.distill as sd

    texts = [f"{name} saw a {thing}. {name} was happy and went home." for name in ("Ann", "Bo", "Cy", "Di", "Ed")
             for thing in ("dog", "cat", "bird", "frog", "kite", "boat", "tree", "cake", "ball", "hat",
                           "sun", "moon", "star", "cup", "bus", "car", "shoe", "sock", "fish", "duck")]
    monkeypatch.setattr(sd, "read_stories", lambda: texts)
    preset = replace(PRESETS["smoke"], distilled_share=0.5)
    m = train(preset, tmp_path / "mixed", progress=False, log=lambda s: None)
    assert m["train_data_tokens"]["distilled"] > 0 and m["preset"]["distilled_share"] == 0.5
    # The held-out 5 % (20 stories at least) share the training stories' pattern, so they are easy to predict.
    assert m["val_loss"]["distilled"] < math.log(PRESETS["smoke"].vocab) - 1.0
    monkeypatch.setattr(sd, "read_stories", lambda: texts[:10])
    with pytest.raises(ValueError, match="stories.distill"):
        train(preset, tmp_path / "too-few", progress=False, log=lambda s: None)
