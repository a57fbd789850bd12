"""The name transformers gives a forward's KV cache: `past_key_values` up to 5.23, `cache` from 5.24.

5.24 still accepts the old name until 5.40, but warns, and in a notebook that warning is a pink box in every cell
that runs the model. llmviz's own API keeps the name `past_key_values` (TransformerLens and HF users know it);
only the calls into a model go through here. This module holds no state and changes no model.
"""

from __future__ import annotations

from transformers.utils import generic as _generic

# 5.24 added the renaming helper together with the new name; its presence is the cheapest exact feature test.
CACHE_ARGUMENT = "cache" if hasattr(_generic, "_rename_kwargs_for_bc") else "past_key_values"


def cache_argument(past) -> dict:
    """{name: past} to pass to `model.forward`, under this transformers version's name for the KV cache."""
    return {CACHE_ARGUMENT: past}


def returned_cache(out):
    """The KV cache a forward returned: `out.cache` from 5.24 (reading `out.past_key_values` warns there)."""
    return getattr(out, CACHE_ARGUMENT)
