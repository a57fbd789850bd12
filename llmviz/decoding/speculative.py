"""Speculative decoding: a small draft model proposes k tokens, the target checks all of them in one forward.

Each round the draft runs k cheap forwards and proposes d_1..d_k; the target runs once over them and gives its own
distributions p_1..p_{k+1}. Greedy: a proposal is accepted while it equals the target's argmax, so the output is
exactly the target's greedy output. Sampling: d_i is accepted with probability min(1, p_i(d_i)/q_i(d_i)); the first
rejected one is replaced by a draw from norm(max(0, p_i - q_i)); if all are accepted a bonus token comes from
p_{k+1} (Leviathan et al. 2023, Chen et al. 2023), so every output token follows the target's distribution.
Both caches are cropped back to the accepted prefix. `SpeculativeRound` records everything a picture needs. The
loop itself, stop conditions and detokenization live in generation.py (`lm.generate(..., draft=...)`); this module
only produces the rounds and imports nothing from the loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from llmviz.checks import check_int
from llmviz.decoding.forward import attention_work, forward, kv_cache_stats, new_cache
from llmviz.decoding.sampling import SampleRecord, distribution, greedy_token


@dataclass
class SpeculativeRound:
    """One draft-and-verify round. Lists over the k proposals unless said otherwise."""

    proposed: list[int]                # d_1..d_k, the draft's tokens
    draft_probs: list[float]           # q_i(d_i)
    target_probs: list[float]          # p_i(d_i)
    accepted: list[bool]               # True for the accepted prefix; False for the rejected one and those after
    rejected: int | None               # the first rejected proposal, if any
    replacement: int | None            # the target's token in its place
    bonus: int | None                  # drawn from p_{k+1} when all k were accepted
    target_records: list[SampleRecord]  # the target's processed distributions p_1..p_{k+1} (token_id unset)
    draft_records: list[SampleRecord]   # the draft's q_1..q_k, with the token drawn
    target_passes: int = 1
    draft_passes: int = 0

    @property
    def n_accepted(self) -> int:
        return sum(self.accepted)

    @property
    def new_tokens(self) -> list[int]:
        return self.proposed[:self.n_accepted] + [self.replacement if self.rejected is not None else self.bonus]


def check_draft(lm, draft, draft_tokens: int) -> None:
    """The draft must be an LM over the same vocabulary as the target, so token ids mean the same thing."""
    check_int("draft_tokens", draft_tokens, 1, "tokens the draft proposes per target forward")
    if not hasattr(draft, "model") or not hasattr(draft, "tokenizer"):
        raise TypeError(f"draft must be an llmviz LM (e.g. llmviz.load('tiny-draft')), not {type(draft).__name__}.")
    if draft.d_vocab != lm.d_vocab or draft.tokenizer.get_vocab() != lm.tokenizer.get_vocab():
        raise ValueError(f"The draft {draft.name!r} (vocab {draft.d_vocab}) and the target {lm.name!r} (vocab "
                         f"{lm.d_vocab}) do not share a tokenizer; speculative decoding needs the same token ids. "
                         "Use a draft trained with the target's tokenizer (e.g. 'tiny-draft' for 'tiny').")


def verify(target_records: list[SampleRecord], draft_records: list[SampleRecord], greedy: bool,
           generator: torch.Generator) -> tuple[list[bool], int | None, int | None, int | None]:
    """The acceptance rule: (accepted flags, rejected token, replacement, bonus) for one round.

    target_records: k+1 distributions p_i [vocab]; draft_records: k distributions q_i with their drawn tokens.
    """
    accepted = [False] * len(draft_records)
    for i, q in enumerate(draft_records):
        d = q.token_id
        if greedy:  # a greedy record keeps exactly one token, the argmax
            best = greedy_token(target_records[i])
            if d != best:
                return accepted, d, best, None
        else:
            p, q_probs = target_records[i].probs, q.probs  # [vocab] each
            u = float(torch.rand((), generator=generator))
            if u * float(q_probs[d]) > float(p[d]):  # reject when u > p/q, written without dividing by a tiny q
                residual = (p - q_probs).clamp(min=0)  # [vocab]: where the target wants more than the draft gave
                replacement = int(torch.multinomial(residual / residual.sum(), 1, generator=generator))
                return accepted, d, replacement, None
        accepted[i] = True
    last = target_records[-1]
    bonus = greedy_token(last) if greedy else int(torch.multinomial(last.probs, 1, generator=generator))
    return accepted, None, None, bonus


def speculative_proposals(lm, prompt_ids, settings, generator, seed, use_cache, names, committed, stopped, *,
                          draft, draft_tokens, fwd_hooks=None):
    """Rounds of draft-and-verify, as step dicts for generation.GenerationStream (always with KV caches).
    fwd_hooks edit the target's forwards only: the output is the edited target's, the draft just proposes."""
    ids = list(prompt_ids)
    target_past, draft_past = new_cache(lm), new_cache(draft)
    target_fed = draft_fed = 0  # positions each cache holds
    n_ctx = min(lm.n_ctx, draft.n_ctx)
    while not stopped():
        start = time.perf_counter()
        k = max(0, min(draft_tokens, n_ctx - len(ids) - 1))  # never run past either model's context
        proposed, draft_records = [], []
        for _ in range(k):
            context = ids + proposed
            logits, draft_past, _ = forward(draft, torch.tensor([context[draft_fed:]], device=draft.device),
                                            draft_past, None)
            draft_fed = len(context)
            q = distribution(logits[0, -1], settings, context, context[len(prompt_ids):])
            q.token_id = greedy_token(q) if settings.greedy else \
                int(torch.multinomial(q.probs, 1, generator=generator))
            q.seed = seed
            draft_records.append(q)
            proposed.append(q.token_id)
        new = (ids + proposed)[target_fed:]
        logits, target_past, cache = forward(lm, torch.tensor([new], device=lm.device), target_past, names, fwd_hooks)
        n_past = target_fed
        # logits[0, -(k+1):] are the target's predictions after ids, after d_1, ..., after d_k: [k+1, vocab]
        target_records = [distribution(logits[0, len(new) - k - 1 + i], settings, ids + proposed[:i],
                                       (ids + proposed[:i])[len(prompt_ids):]) for i in range(k + 1)]
        accepted, rejected, replacement, bonus = verify(target_records, draft_records, settings.greedy, generator)
        n = sum(accepted)
        round_ = SpeculativeRound(proposed=proposed, draft_probs=[float(q.probs[q.token_id]) for q in draft_records],
                                  target_probs=[float(target_records[i].probs[d]) for i, d in enumerate(proposed)],
                                  accepted=accepted, rejected=rejected, replacement=replacement, bonus=bonus,
                                  target_records=target_records, draft_records=draft_records, draft_passes=k)
        # keep only the accepted prefix in both caches: the target holds ids + d_1..d_n, the extra token is unfed
        target_past.crop(-(k - n)) if k > n else None
        target_fed = len(ids) + n
        if draft_fed > target_fed:
            draft_past.crop(-(draft_fed - target_fed))
            draft_fed = target_fed
        record = target_records[n]
        record.token_id, record.seed = round_.new_tokens[-1], seed
        positions, n_bytes = kv_cache_stats(target_past)
        yield dict(token_ids=round_.new_tokens, sample=record, capture=cache, input_positions=len(new),
                   kv_cache_length=positions, kv_cache_bytes=n_bytes,
                   attention_dot_products=attention_work(lm, len(new), n_past),
                   seconds=time.perf_counter() - start, speculation=round_)
        ids = ids + committed()[len(ids) - len(prompt_ids):]
        if len(ids) != target_fed + 1:
            return  # the loop kept fewer tokens than the round made: it has stopped

