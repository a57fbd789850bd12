"""Tests for llmviz.kv_cache_argument: the KV-cache argument's name follows the installed transformers version, a
forward through it returns the grown cache, and no deprecation warning reaches the notebooks."""

import warnings

import torch
import transformers
from packaging.version import Version

from llmviz.kv_cache_argument import CACHE_ARGUMENT, cache_argument, returned_cache


def test_name_follows_the_installed_version():
    renamed = Version(transformers.__version__).release >= (5, 24)
    assert CACHE_ARGUMENT == ("cache" if renamed else "past_key_values")


def test_forward_through_the_argument_grows_the_cache_without_warnings(random_llama_lm):
    from transformers import DynamicCache

    lm = random_llama_lm
    ids = lm.to_tokens("Once upon a time")  # [1, pos]
    past = DynamicCache(config=lm.model.config)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a FutureWarning about the old name fails the test
        with torch.no_grad():
            out = lm.model(input_ids=ids, use_cache=True, **cache_argument(past))
            grown = returned_cache(out)
            assert grown.get_seq_length() == ids.shape[1]
            step = lm.model(input_ids=ids[:, -1:], use_cache=True, **cache_argument(grown))
    assert returned_cache(step).get_seq_length() == ids.shape[1] + 1
    full = lm.model(input_ids=torch.cat([ids, ids[:, -1:]], dim=1)).logits[:, -1]
    torch.testing.assert_close(step.logits[:, -1], full, rtol=1e-4, atol=1e-5)  # the cache is really used
