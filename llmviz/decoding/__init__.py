"""From logits to text: sampling, one forward with or without a KV cache, the generation loop, beam search and
speculative rounds (notebooks 07-10).

sampling.py turns one position's logits into a distribution and a token; forward.py runs the model once (and
`next_token_logits`); generation.py is the one loop (`generate`, `stream`, with `draft=` for speculative decoding);
speculative.py produces its draft-and-verify rounds; beam.py keeps a whole beam search. `lm.generate`, `lm.stream`
and `lm.beam_search` call these.
"""

from llmviz.decoding.beam import BeamTree, beam_search
from llmviz.decoding.forward import next_token_logits
from llmviz.decoding.generation import GenerationStream, GenerationTrace, Step, generate, stream
from llmviz.decoding.sampling import SampleRecord, SamplingSettings, distribution, sample
from llmviz.decoding.speculative import SpeculativeRound

__all__ = ["BeamTree", "GenerationStream", "GenerationTrace", "SampleRecord", "SamplingSettings", "SpeculativeRound",
           "Step", "beam_search", "distribution", "generate", "next_token_logits", "sample", "stream"]
