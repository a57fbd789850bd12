"""`LM`: one Hugging Face causal LM and its tokenizer, with the few methods the notebooks and tests call.

It turns text into ids with clear errors on bad input, shows tokens readably, and exposes the architecture's
sizes under TransformerLens's names (`n_layers`, `d_model`, ...). Capture, the logit lens, generation and beam
search live in their own modules; the methods here only forward to them, so `lm.run_with_cache(...)` reads like
TransformerLens while the code stays in small pieces.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from llmviz import allocator
from llmviz.tokenization.bytelevel import readable, readable_bytes, token_bytes


class LM:
    """A wrapped Hugging Face model: `.model`, `.tokenizer`, `.name`, `.device`, plus sizes and text helpers."""

    def __init__(self, model, tokenizer, name: str = "model"):
        allocator.keep_steady()  # once per process: a capture's freed memory is reused, not faulted in again
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        config = model.config
        self.architecture = config.model_type  # "gpt2" or "llama": picks capture's site table
        self.n_layers = config.num_hidden_layers
        self.n_heads = config.num_attention_heads
        self.n_kv_heads = getattr(config, "num_key_value_heads", None) or self.n_heads  # < n_heads means GQA
        self.d_model = config.hidden_size
        self.d_head = getattr(config, "head_dim", None) or self.d_model // self.n_heads
        self.d_mlp = getattr(config, "intermediate_size", None) or getattr(config, "n_inner", None) \
            or 4 * self.d_model
        self.n_ctx = getattr(config, "n_positions", None) or config.max_position_embeddings
        self.d_vocab = config.vocab_size

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def __repr__(self) -> str:
        n_params = sum(p.numel() for p in self.model.parameters())
        return (f"LM({self.name!r}: {self.architecture}, {self.n_layers} layers, {self.n_heads} heads "
                f"({self.n_kv_heads} kv), d_model {self.d_model}, vocab {self.d_vocab}, context {self.n_ctx}, "
                f"{n_params / 1e6:.1f}M parameters, on {self.device})")

    # ---- text <-> ids -------------------------------------------------------------------------------------
    def to_tokens(self, text_or_ids: str | Sequence[int] | torch.Tensor) -> torch.Tensor:
        """Token ids [1, pos] on the model's device, with a clear error for empty, over-long or non-text input."""
        if isinstance(text_or_ids, str):
            if not text_or_ids:
                raise ValueError("The prompt is empty; type at least one character.")
            ids = self.tokenizer(text_or_ids, add_special_tokens=False)["input_ids"]
        elif isinstance(text_or_ids, torch.Tensor):
            if text_or_ids.dtype not in (torch.int32, torch.int64) or text_or_ids.dim() not in (1, 2):
                raise TypeError(f"Token ids must be an integer tensor [pos] or [batch, pos], "
                                f"not {text_or_ids.dtype} with shape {tuple(text_or_ids.shape)}.")
            ids = text_or_ids
        elif isinstance(text_or_ids, (bytes, bytearray)):
            raise TypeError("Expected a prompt string, not bytes; decode it first, e.g. data.decode('utf-8').")
        elif isinstance(text_or_ids, Sequence) and all(isinstance(i, int) for i in text_or_ids):
            ids = list(text_or_ids)
        else:
            raise TypeError(f"Expected a prompt string or a list of token ids, not {type(text_or_ids).__name__}.")
        tokens = torch.as_tensor(ids, dtype=torch.long)
        if tokens.dim() == 1:
            tokens = tokens[None]  # [pos] -> [1, pos]
        if tokens.shape[-1] == 0:
            raise ValueError("The prompt has no tokens; type at least one character.")
        if tokens.shape[-1] > self.n_ctx:
            raise ValueError(f"The prompt is {tokens.shape[-1]} tokens long, but {self.name} reads at most "
                             f"{self.n_ctx} tokens; shorten it.")
        if int(tokens.min()) < 0 or int(tokens.max()) >= self.d_vocab:
            raise ValueError(f"Token ids must lie in [0, {self.d_vocab}); got {int(tokens.min())}.."
                             f"{int(tokens.max())}.")
        return tokens.to(self.device)

    def token_bytes(self, token_id: int) -> bytes:
        """The raw bytes one token stands for (byte-level BPE), e.g. b' cat'."""
        token = self.tokenizer.convert_ids_to_tokens(int(token_id))
        if token in self.tokenizer.all_special_tokens:
            return token.encode("utf-8")
        return token_bytes(token)

    def to_str_tokens(self, text_or_ids: str | Sequence[int] | torch.Tensor) -> list[str]:
        """Readable tokens: '␣cat' for ' cat', '↵' for a newline, <E2><80> for a partial UTF-8 character."""
        ids = self.to_tokens(text_or_ids)[0]
        return [readable_bytes(self.token_bytes(int(i))) for i in ids]

    def to_string(self, ids: Sequence[int] | torch.Tensor) -> str:
        """Ids back to text, special tokens kept so nothing is hidden."""
        if isinstance(ids, torch.Tensor):
            ids = ids.flatten().tolist()
        return self.tokenizer.decode(list(ids), clean_up_tokenization_spaces=False)

    def readable(self, text: str) -> str:
        return readable(text)

    # ---- forwarded to the modules that do the work --------------------------------------------------------
    def run_with_cache(self, text_or_ids, names=None, dtype=None, **kwargs):
        """Run the model once and keep its intermediate tensors: (logits [batch, pos, vocab], ActivationCache).
        fwd_hooks=[(name, fn), ...] edits the run first; the cache holds what the edited run computed."""
        from llmviz.capture import run_with_cache
        return run_with_cache(self, text_or_ids, names=names, dtype=dtype, **kwargs)

    def run_with_hooks(self, text_or_ids, fwd_hooks=(), **kwargs):
        """Run the model once with edits `fwd_hooks=[(name, fn), ...]`: the logits [batch, pos, vocab]."""
        from llmviz.capture import run_with_hooks
        return run_with_hooks(self, text_or_ids, fwd_hooks, **kwargs)

    def estimate_cache_bytes(self, n_tokens: int, names=None, dtype=None, batch: int = 1) -> int:
        from llmviz.capture import estimate_cache_bytes
        return estimate_cache_bytes(self, n_tokens, names=names, dtype=dtype, batch=batch)

    def logit_lens(self, cache, top_k: int = 5):
        from llmviz.stages.lens import logit_lens
        return logit_lens(self, cache, top_k=top_k)

    def generate(self, prompt, **kwargs):
        from llmviz.decoding.generation import generate
        return generate(self, prompt, **kwargs)

    def stream(self, prompt, **kwargs):
        from llmviz.decoding.generation import stream
        return stream(self, prompt, **kwargs)

    def beam_search(self, prompt, **kwargs):
        from llmviz.decoding.beam import beam_search
        return beam_search(self, prompt, **kwargs)

    def export_trace(self, prompt: str, path, generate_tokens: int = 0, top_k: int = 200):
        """Write `prompt`'s run as one self-contained interactive HTML file at `path` (tokens, embedding rows,
        every head's attention, residual norms, the logit lens, the next token with a temperature slider, and
        optionally `generate_tokens` greedy steps); returns the Path. No other file, no network."""
        from llmviz.export.trace import export_trace
        return export_trace(self, prompt, path, generate_tokens=generate_tokens, top_k=top_k)
