"""llmviz: see how a language model turns a prompt into text, with every number taken from a real model.

    import llmviz
    lm = llmviz.load()                      # the shipped tiny GPT-2, offline
    logits, cache = lm.run_with_cache("The cat sat on the")
    cache["pattern", 0]                     # [batch, head, query_pos, key_pos]
    llmviz.RUNNING_PROMPT                   # the sentence the notebooks follow from stage to stage
"""

from llmviz.course import RUNNING_PROMPT
from llmviz.lm import LM
from llmviz.models import load
from llmviz.registry import MODELS, ModelLoadError

__version__ = "0.1.0"
__all__ = ["LM", "MODELS", "ModelLoadError", "RUNNING_PROMPT", "load", "__version__"]
