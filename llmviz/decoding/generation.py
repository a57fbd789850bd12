"""The autoregressive loop: run the model, choose a token, append it, repeat, and keep a record of every step.

`stream()` yields one `Step` per model forward; `generate()` runs the same stream to the end and returns the
`GenerationTrace`. Each step holds the sampling record (sampling.py), a bounded capture of the new position
(capture.py; every position when use_cache=False, since then every position is recomputed), the KV cache's
length and bytes, the attention work done (query·key dot products, so
notebook 09 can compare `use_cache=True` with a full recompute), the new text (complete UTF-8 characters only,
detokenize.py) and the time. The loop stops on EOS, `max_new_tokens`, a stop string, an opt-in repetition
detector, a full context, or `stream.stop()` / leaving the loop early ("interrupted"). With `draft=` the steps come
from speculative decoding (speculative.py) instead of one forward per token. This module does not do beam search
(beam.py) and does not draw anything.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from llmviz.checks import check_int
from llmviz.decoding.forward import (
    DEFAULT_CAPTURE,
    attention_work,
    capture_names,
    eos_ids,
    forward,
    kv_cache_stats,
    new_cache,
)
from llmviz.decoding.sampling import SampleRecord, SamplingSettings, distribution, draw, make_generator
from llmviz.decoding.speculative import check_draft, speculative_proposals
from llmviz.hook_points import resolve
from llmviz.tokenization.detokenize import Utf8Stream, token_text_bytes

STOP_REASONS = ("eos", "max_new_tokens", "stop_string", "repetition", "interrupted", "context_full")


@dataclass
class Step:
    """One model forward of the loop and the token(s) it added."""

    index: int
    token_ids: list[int]          # tokens added this step: one, or several with speculative decoding
    text: str                     # complete characters this step added to the output
    pending_bytes: bytes          # bytes held back, waiting for the rest of a UTF-8 character
    sample: SampleRecord          # the decision for the (last) token of this step
    capture: object | None        # ActivationCache of this forward (new positions; k/v hold the whole cache)
    input_positions: int          # positions fed to the model in this forward
    kv_cache_length: int          # positions held in the KV cache after this step (0 without a cache)
    kv_cache_bytes: int           # bytes of those keys and values
    attention_dot_products: int   # query·key products this forward, summed over layers and heads
    seconds: float
    stop_reason: str | None = None  # set on the step that ended generation
    speculation: object | None = None  # speculative.SpeculativeRound when a draft model was used

    @property
    def token_id(self) -> int:
        return self.token_ids[-1]


@dataclass
class GenerationTrace:
    """The whole run: prompt, generated tokens and text, why it stopped, and every step."""

    prompt_ids: list[int]
    settings: SamplingSettings
    seed: int
    use_cache: bool
    tokens: list[int] = field(default_factory=list)   # generated ids only
    text: str = ""                                    # generated text, special tokens left out
    stop_reason: str | None = None
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ids(self) -> list[int]:
        return self.prompt_ids + self.tokens

    @property
    def attention_dot_products(self) -> int:
        return sum(step.attention_dot_products for step in self.steps)

    @property
    def tokens_per_second(self) -> float:
        return len(self.tokens) / self.seconds if self.seconds else float("nan")

    # ---- speculative decoding summaries (None without a draft) ----
    @property
    def target_passes(self) -> int:
        return len(self.steps)

    @property
    def target_passes_per_token(self) -> float:
        return self.target_passes / len(self.tokens) if self.tokens else float("nan")

    @property
    def acceptance_rate(self) -> float | None:
        rounds = [s.speculation for s in self.steps if s.speculation is not None]
        if not rounds:
            return None
        proposed = sum(len(r.proposed) for r in rounds)
        return sum(r.n_accepted for r in rounds) / proposed if proposed else float("nan")


def _stop_strings(stop) -> list[str]:
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else list(stop)
    if not all(isinstance(s, str) and s for s in stops):
        raise ValueError(f"stop={stop!r} is invalid; stop must be a string or a list of non-empty strings.")
    return stops


def find_repetition(tokens: list[int], min_tokens: int = 12, max_period: int = 16) -> int | None:
    """The period p if the last `min_tokens` or more tokens are one block of p tokens repeated, at least twice."""
    for p in range(1, max_period + 1):
        span = max(min_tokens, 2 * p)
        if len(tokens) >= span and tokens[-span:-p] == tokens[-span + p:]:
            return p
    return None


def _plain_proposals(lm, prompt_ids, settings, generator, seed, use_cache, names, committed, stopped, fwd_hooks=None):
    """One forward per token: yields dicts describing each step's forward and decision."""
    ids = list(prompt_ids)
    past = new_cache(lm) if use_cache else None
    fed = 0  # positions already in the cache
    while not stopped():
        start = time.perf_counter()
        new = ids[fed:] if use_cache else ids
        logits, past, cache = forward(lm, torch.tensor([new], device=lm.device), past, names, fwd_hooks)
        record = draw(distribution(logits[0, -1], settings, ids, ids[len(prompt_ids):]), generator, seed)
        n_past = fed if use_cache else 0
        fed = len(ids)
        positions, n_bytes = kv_cache_stats(past)
        yield dict(token_ids=[record.token_id], sample=record, capture=cache, input_positions=len(new),
                   kv_cache_length=positions, kv_cache_bytes=n_bytes,
                   attention_dot_products=attention_work(lm, len(new), n_past),
                   seconds=time.perf_counter() - start, speculation=None)
        ids = ids + committed()[len(ids) - len(prompt_ids):]


class GenerationStream:
    """Iterate to get `Step`s as they happen; `.trace` fills in as you go; `.stop()` ends it as 'interrupted'."""

    def __init__(self, lm, prompt, max_new_tokens=20, temperature=1.0, top_k=None, top_p=None, min_p=None,
                 repetition_penalty=None, seed=0, stop=None, detect_repetition=False, use_cache=True,
                 capture=DEFAULT_CAPTURE, draft=None, draft_tokens=4, fwd_hooks=None, frequency_penalty=None,
                 presence_penalty=None):
        self.lm = lm
        self.max_new_tokens = check_int("max_new_tokens", max_new_tokens, 0, "how many tokens to add at most")
        self.settings = SamplingSettings(temperature, top_k, top_p, min_p, repetition_penalty, frequency_penalty,
                                         presence_penalty)
        self.generator = make_generator(seed)
        self.stops = _stop_strings(stop)
        if detect_repetition is True:
            detect_repetition = 12
        if detect_repetition is not False:
            check_int("detect_repetition", detect_repetition, 2, "False, True, or the repeated span in tokens")
        self.detect_repetition = detect_repetition
        self.names = capture_names(lm, capture)
        self.draft, self.draft_tokens = draft, draft_tokens
        if draft is not None:
            check_draft(lm, draft, draft_tokens)
        resolve(lm, fwd_hooks)  # an unknown name or a bad pair fails here, before the first step
        self.fwd_hooks = fwd_hooks
        prompt_ids = lm.to_tokens(prompt)[0].tolist()
        self.trace = GenerationTrace(prompt_ids=prompt_ids, settings=self.settings, seed=seed, use_cache=use_cache)
        self._stop_requested = False
        self._iterator = None

    def stop(self) -> None:
        """Ask the loop to end before its next forward; the trace's stop_reason becomes 'interrupted'."""
        self._stop_requested = True

    def __iter__(self) -> Iterator[Step]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    def close(self) -> None:
        """Leave early: the same as stop(), for a generator-style caller."""
        self.stop()
        if self._iterator is not None:
            self._iterator.close()
        if self.trace.stop_reason is None:
            self.trace.stop_reason = "interrupted"

    def _run(self) -> Iterator[Step]:
        lm, trace = self.lm, self.trace
        eos = eos_ids(lm)
        special = set(lm.tokenizer.all_special_ids)  # add no text; looked up once, not per token
        detok = Utf8Stream()
        start = time.perf_counter()
        if self.max_new_tokens == 0:
            trace.stop_reason = "max_new_tokens"
            return
        args = (lm, trace.prompt_ids, self.settings, self.generator, trace.seed, trace.use_cache, self.names,
                lambda: trace.tokens, lambda: self._stop_requested)
        if self.draft is None:
            proposals = _plain_proposals(*args, fwd_hooks=self.fwd_hooks)
        else:
            proposals = speculative_proposals(*args, draft=self.draft, draft_tokens=self.draft_tokens,
                                              fwd_hooks=self.fwd_hooks)
        try:
            for proposal in proposals:
                tokens, reason, text = [], None, ""
                for token in proposal["token_ids"]:
                    # a speculative round may add several tokens; stop conditions apply after each one
                    tokens.append(token)
                    trace.tokens.append(token)
                    text += detok.feed(token_text_bytes(lm, token, special))
                    reason = self._stop_reason(token, eos, detok.text)
                    if reason:
                        break
                if reason:
                    text += detok.finish()
                proposal["token_ids"] = tokens
                step = Step(index=len(trace.steps), text=text, pending_bytes=detok.pending, stop_reason=reason,
                            **proposal)
                trace.steps.append(step)
                trace.text = detok.text
                trace.seconds = time.perf_counter() - start
                if reason:
                    trace.stop_reason = reason
                yield step
                if reason:
                    return
            # the proposals ended because stop() was called
            trace.text = detok.text + detok.finish()
            trace.stop_reason = "interrupted"
        finally:
            proposals.close()
            trace.seconds = time.perf_counter() - start
            if trace.stop_reason is None:  # the caller left the loop early (generator close)
                trace.text = detok.text + detok.finish()
                trace.stop_reason = "interrupted"

    def _stop_reason(self, token: int, eos: set[int], text: str) -> str | None:
        trace = self.trace
        if token in eos:
            return "eos"
        if any(s in text for s in self.stops):
            return "stop_string"
        if self.detect_repetition and find_repetition(trace.tokens, self.detect_repetition):
            return "repetition"
        if len(trace.tokens) >= self.max_new_tokens:
            return "max_new_tokens"
        if len(trace.ids) >= self.lm.n_ctx:
            return "context_full"
        return None


def stream(lm, prompt, **kwargs) -> GenerationStream:
    """Generate step by step: `for step in stream(lm, prompt, ...)`; same arguments as `generate`.

    Call `.stop()` on the returned object (e.g. from a Stop button) or break out of the loop to end it; the trace
    (`.trace`) then has stop_reason 'interrupted'.
    """
    return GenerationStream(lm, prompt, **kwargs)


def generate(lm, prompt, max_new_tokens: int = 20, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, min_p: float | None = None, repetition_penalty: float | None = None,
             seed: int = 0, stop=None, detect_repetition=False, use_cache: bool = True, capture=DEFAULT_CAPTURE,
             draft=None, draft_tokens: int = 4, fwd_hooks=None, frequency_penalty: float | None = None,
             presence_penalty: float | None = None) -> GenerationTrace:
    """Generate text and keep every step.

    prompt: text or ids. temperature 0 is greedy. stop: strings that end generation (kept in the text, as HF).
    detect_repetition: True (12 tokens) or a span length; stops when the tail is one block repeated.
    use_cache=False recomputes every position each step. capture: 'default' (every layer's attention pattern for
    the new position), None, or a list of capture names. draft: a smaller LM with the same vocabulary for
    speculative decoding, proposing `draft_tokens` tokens per target forward. fwd_hooks: edits `[(name, fn), ...]`
    applied in every forward of the model (not the draft); with the KV cache, hooks see only the new positions.
    frequency_penalty / presence_penalty: OpenAI's, subtracted per generated occurrence / once per generated token.
    """
    s = GenerationStream(lm, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k,
                         top_p=top_p, min_p=min_p, repetition_penalty=repetition_penalty, seed=seed, stop=stop,
                         detect_repetition=detect_repetition, use_cache=use_cache, capture=capture, draft=draft,
                         draft_tokens=draft_tokens, fwd_hooks=fwd_hooks, frequency_penalty=frequency_penalty,
                         presence_penalty=presence_penalty)
    for _ in s:
        pass
    return s.trace
