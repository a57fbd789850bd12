"""Choose the next token from one row of logits, and return every intermediate value as data.

`sample()` applies Hugging Face's processors in Hugging Face's order (transformers 5.24,
`GenerationMixin._get_logits_processor`): the repetition penalty, then temperature, top-k, top-p and min-p, then a
draw from a `torch.Generator` seeded per call. HF has no frequency or presence penalty; OpenAI's (below) apply right
after the repetition penalty, before the temperature, as vLLM applies all its penalties. The returned `SampleRecord`
keeps the raw logits, the scaled logits, the filtered logits, the final distribution over the whole vocabulary, the
kept ids, which filter removed each removed token, the token drawn and its seed, so a notebook can draw the whole
decision and a test can check it.
Temperature 0 means greedy: the argmax of the penalized logits, as HF's `do_sample=False`. This module does not run
the model, loop over steps or beam search (generation.py, beam.py); it only decides one position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

# Codes in SampleRecord.removed_by: 0 means kept; otherwise the first filter that removed the token.
FILTERS = ("kept", "top_k", "top_p", "min_p", "greedy")


def _number(name: str, value, valid: str, ok) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or not ok(value):
        raise ValueError(f"{name}={value!r} is invalid; {name} must be {valid}.")


@dataclass(frozen=True)
class SamplingSettings:
    """How to choose a token. Checked on creation: a bad value raises ValueError naming it and its valid range."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None
    repetition_penalty: float | None = None
    frequency_penalty: float | None = None  # OpenAI's: logit - count × frequency_penalty
    presence_penalty: float | None = None   # OpenAI's: logit - (count > 0) × presence_penalty

    def __post_init__(self):
        _number("temperature", self.temperature, "a finite number >= 0 (0 means greedy, 1 leaves logits unchanged)",
                lambda v: 0 <= v < math.inf)
        if self.top_k is not None and (isinstance(self.top_k, bool) or not isinstance(self.top_k, int)
                                       or self.top_k < 1):
            raise ValueError(f"top_k={self.top_k!r} is invalid; top_k must be None (no limit) or an integer >= 1.")
        if self.top_p is not None:
            _number("top_p", self.top_p, "None (off) or a number in (0, 1]", lambda v: 0 < v <= 1)
        if self.min_p is not None:
            _number("min_p", self.min_p, "None (off) or a number in [0, 1]", lambda v: 0 <= v <= 1)
        if self.repetition_penalty is not None:
            _number("repetition_penalty", self.repetition_penalty,
                    "None (off) or a finite number > 0 (1 is off, > 1 discourages repeats)", lambda v: 0 < v < math.inf)
        for name in ("frequency_penalty", "presence_penalty"):
            if getattr(self, name) is not None:
                _number(name, getattr(self, name), "None (off) or a finite number (0 is off, > 0 discourages "
                        "repeats; OpenAI allows -2 to 2)", lambda v: abs(v) < math.inf)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass
class SampleRecord:
    """One decision. Vectors are float32 on the CPU, shape [vocab]; removed tokens are -inf in filtered_logits."""

    logits: torch.Tensor           # [vocab] what the model said
    scaled_logits: torch.Tensor    # [vocab] after the penalties and division by the temperature
    removed_by: torch.Tensor       # [vocab] int8 code into FILTERS: 0 kept, else the filter that removed it
    settings: SamplingSettings = field(default_factory=SamplingSettings)
    token_id: int | None = None    # the token drawn (None for a distribution that was not sampled)
    seed: int | None = None

    # filtered_logits, probs and kept_ids are computed on access rather than stored: a long trace keeps one record
    # per step, two [vocab] vectors fewer halve its memory (SmolLM2's vocab is 49,152), and sorting the kept ids
    # of a 50k vocabulary every step would cost more than a small model's forward.
    @property
    def kept_ids(self) -> torch.Tensor:
        """[n_kept] ids with nonzero probability, most probable first."""
        kept = torch.nonzero(self.removed_by == 0).reshape(-1)
        return kept[torch.argsort(self.scaled_logits[kept], descending=True, stable=True)]

    @property
    def filtered_logits(self) -> torch.Tensor:
        """[vocab] after top-k, top-p and min-p: -inf where a filter removed the token."""
        return self.scaled_logits.masked_fill(self.removed_by != 0, -math.inf)

    @property
    def probs(self) -> torch.Tensor:
        """[vocab] softmax(filtered_logits): the distribution the token is drawn from."""
        return self.filtered_logits.softmax(-1)

    def filter_of(self, token_id: int) -> str:
        """'kept', or the name of the filter that removed this token ('top_k', 'top_p', 'min_p', 'greedy')."""
        return FILTERS[int(self.removed_by[token_id])]

    @property
    def token_prob(self) -> float:
        return float(self.probs[self.token_id])


def distribution(logits: torch.Tensor, settings: SamplingSettings, previous_ids=None,
                 generated_ids=None) -> SampleRecord:
    """The processed distribution for one position, without a draw (token_id None).

    logits: [vocab]. previous_ids: ids the repetition penalty looks at (prompt and generated so far, as in HF).
    generated_ids: ids the frequency and presence penalties count (OpenAI counts the tokens sampled so far, not the
    prompt); None counts previous_ids.
    """
    if not isinstance(settings, SamplingSettings):
        raise TypeError(f"settings must be a SamplingSettings, not {type(settings).__name__}.")
    raw = logits.detach().reshape(-1).float().cpu()
    if torch.isnan(raw).any():
        raise ValueError("The logits contain NaN; the model's output is broken (check its weights and dtype).")
    scaled = raw  # shared with `logits` unless something below changes it (memory: one vector, not two)
    if settings.repetition_penalty is not None and previous_ids is not None and len(previous_ids):
        scaled = raw.clone()
        seen = torch.unique(torch.as_tensor(previous_ids, dtype=torch.long).reshape(-1))
        s = scaled[seen]
        # HF's rule: divide positive logits and multiply negative ones, so the penalty always lowers them
        scaled[seen] = torch.where(s < 0, s * settings.repetition_penalty, s / settings.repetition_penalty)
    counted = previous_ids if generated_ids is None else generated_ids
    if (settings.frequency_penalty or settings.presence_penalty) and counted is not None and len(counted):
        ids, counts = torch.unique(torch.as_tensor(counted, dtype=torch.long).reshape(-1), return_counts=True)
        scaled = scaled.clone() if scaled is raw else scaled
        scaled[ids] -= counts * (settings.frequency_penalty or 0.0) + (settings.presence_penalty or 0.0)
    removed_by = torch.zeros(raw.shape, dtype=torch.int8)
    if settings.greedy:
        removed_by.fill_(FILTERS.index("greedy"))
        removed_by[int(torch.argmax(scaled))] = 0  # first maximal index on ties, as torch.argmax and HF
    else:
        scaled = scaled / settings.temperature if settings.temperature != 1.0 else scaled
        filtered = scaled.clone()
        if settings.top_k is not None:
            k = min(settings.top_k, filtered.numel())
            # HF: remove every token below the k-th largest (ties with it survive)
            drop = filtered < torch.topk(filtered, k)[0][-1]
            _remove(filtered, removed_by, drop, "top_k")
        if settings.top_p is not None and settings.top_p < 1.0:
            sorted_logits, order = torch.sort(filtered, descending=False)
            cumulative = sorted_logits.softmax(-1).cumsum(-1)
            drop_sorted = cumulative <= (1 - settings.top_p)  # HF: the low tail whose mass is <= 1 - p goes
            drop_sorted[-1] = False  # keep at least one token
            drop = torch.zeros_like(drop_sorted).scatter(0, order, drop_sorted)
            _remove(filtered, removed_by, drop, "top_p")
        if settings.min_p is not None:
            probs = filtered.softmax(-1)
            drop = probs < settings.min_p * probs.max()
            drop[int(torch.argmax(probs))] = False
            _remove(filtered, removed_by, drop, "min_p")
    return SampleRecord(logits=raw, scaled_logits=scaled, removed_by=removed_by, settings=settings)


def _remove(filtered: torch.Tensor, removed_by: torch.Tensor, drop: torch.Tensor, name: str) -> None:
    """Mask `drop` to -inf in place and credit `name` for tokens not already removed by an earlier filter."""
    removed_by[drop & (removed_by == 0)] = FILTERS.index(name)
    filtered.masked_fill_(drop, -math.inf)


def greedy_token(record: SampleRecord) -> int:
    """The one token a greedy record keeps (its argmax)."""
    return int(torch.argmin(record.removed_by))


def make_generator(seed: int) -> torch.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} is invalid; seed must be an integer >= 0.")
    return torch.Generator().manual_seed(seed)


def draw(record: SampleRecord, generator: torch.Generator | None = None, seed: int | None = None) -> SampleRecord:
    """Draw record.token_id from record.probs (the argmax when greedy); fills token_id and seed, returns the record."""
    if record.settings.greedy:
        record.token_id = greedy_token(record)
    else:
        if generator is None:
            generator = make_generator(0 if seed is None else seed)
        record.token_id = int(torch.multinomial(record.probs, 1, generator=generator))
    record.seed = seed
    return record


def sample(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
           min_p: float | None = None, repetition_penalty: float | None = None, seed: int = 0,
           previous_ids=None, settings: SamplingSettings | None = None, frequency_penalty: float | None = None,
           presence_penalty: float | None = None, generated_ids=None) -> SampleRecord:
    """Choose one token from logits [vocab] and return the full record; the same seed always gives the same token.

    Either pass the settings one by one or as `settings=SamplingSettings(...)`.
    """
    if settings is None:
        settings = SamplingSettings(temperature, top_k, top_p, min_p, repetition_penalty, frequency_penalty,
                                    presence_penalty)
    record = distribution(logits, settings, previous_ids, generated_ids)
    return draw(record, make_generator(seed), seed=seed)
