"""Beam search that keeps the whole search tree: every candidate it weighed, kept, pruned or finished, with scores.

The algorithm is Hugging Face's (transformers 5.23, `GenerationMixin._beam_search`, batch of one), so its best
sequence equals `model.generate(num_beams=..., do_sample=False)`: each step the running beams are extended by every
token, the 2·num_beams best extensions by cumulative log-probability are the candidates, those ending in EOS (or
at max length) among the top num_beams become finished hypotheses scored `sum_logprobs / length**length_penalty`,
and the best num_beams unfinished candidates run on. The search ends when no running beam can beat the worst
finished one (or, with early_stopping=True, when num_beams hypotheses are finished). Extensions outside the top
2·num_beams are not recorded: HF never looks at them. This module does not sample (sampling.py) or draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from llmviz.checks import check_int
from llmviz.decoding.forward import eos_ids, new_cache
from llmviz.kv_cache_argument import cache_argument

NEG = -1.0e9  # HF's "impossible" score, added rather than set, exactly as HF does


@dataclass
class BeamNode:
    """One candidate extension: a running beam plus one token."""

    id: int
    parent: int                 # id of the node it extends; -1 for the prompt
    step: int                   # 0 for the first generated token
    token_id: int
    log_prob: float             # log p(token | prefix)
    cumulative_log_prob: float  # sum of log-probs of the whole generated prefix, this token included
    status: str                 # "kept" (runs on), "finished" (a hypothesis) or "pruned"
    tokens: list[int]           # generated ids from the prompt to here
    score: float | None = None  # cumulative_log_prob / len(tokens)**length_penalty, for finished nodes


@dataclass
class BeamTree:
    """The whole search. `finished` is the final set of hypotheses, best first; `best` is HF's answer."""

    prompt_ids: list[int]
    num_beams: int
    length_penalty: float
    early_stopping: bool | str
    nodes: list[BeamNode] = field(default_factory=list)
    steps: list[list[int]] = field(default_factory=list)  # node ids of each step's candidates, best first
    finished: list[BeamNode] = field(default_factory=list)
    text: str = ""

    @property
    def best(self) -> BeamNode:
        return self.finished[0]

    @property
    def best_tokens(self) -> list[int]:
        return self.best.tokens


def _check(num_beams, max_new_tokens, length_penalty, early_stopping):
    check_int("num_beams", num_beams, 1, "how many beams run in parallel")
    check_int("max_new_tokens", max_new_tokens, 1, "how many tokens to add at most")
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, int | float) \
            or not math.isfinite(length_penalty):
        raise ValueError(f"length_penalty={length_penalty!r} is invalid; it must be a finite number "
                         "(1.0 divides by length, 0 ignores length, > 1 favours longer hypotheses).")
    if early_stopping not in (True, False, "never"):
        raise ValueError(f"early_stopping={early_stopping!r} is invalid; use False (HF's default heuristic), True "
                         "(stop when num_beams hypotheses are finished) or 'never'.")


def beam_search(lm, prompt, num_beams: int = 4, max_new_tokens: int = 8, length_penalty: float = 1.0,
                early_stopping: bool | str = False) -> BeamTree:
    """Run beam search and return the tree. prompt: text or ids; the model runs on [num_beams, pos] with a KV cache."""
    _check(num_beams, max_new_tokens, length_penalty, early_stopping)
    prompt_ids = lm.to_tokens(prompt)[0].tolist()
    prompt_len = len(prompt_ids)
    max_length = min(prompt_len + max_new_tokens, lm.n_ctx)
    eos = sorted(eos_ids(lm))
    keep = max(2, 1 + len(eos)) * num_beams  # candidates per step, as HF
    tree = BeamTree(prompt_ids, num_beams, float(length_penalty), early_stopping)

    running = torch.tensor([prompt_ids] * num_beams, device=lm.device)  # [beam, pos]
    running_scores = torch.zeros(num_beams)
    running_scores[1:] = NEG  # all beams start identical: only beam 0 may expand at first
    running_nodes = [-1] * num_beams
    final_scores = torch.full((num_beams,), NEG)  # the finished set, best first
    final_nodes: list[int | None] = [None] * num_beams
    final_done = torch.zeros(num_beams, dtype=torch.bool)
    improvable = True
    past = new_cache(lm)
    fed = 0
    cur_len = prompt_len
    while True:
        with torch.no_grad():
            out = lm.model(input_ids=running[:, fed:], use_cache=True, **cache_argument(past))
        fed = cur_len
        log_probs = torch.log_softmax(out.logits[:, -1].float().cpu(), dim=-1)  # [beam, vocab]
        vocab = log_probs.shape[-1]
        totals = (log_probs + running_scores[:, None]).reshape(-1)  # [beam * vocab]
        cand_scores, flat = torch.topk(totals, keep)
        cand_beam, cand_token = flat // vocab, flat % vocab
        length = cur_len + 1 - prompt_len
        hits = torch.tensor([int(t) in eos for t in cand_token]) | (cur_len + 1 >= max_length)
        # the next running beams: the best num_beams candidates that did not finish
        next_idx = torch.topk(cand_scores + hits.float() * NEG, num_beams)[1]
        # finished hypotheses: only among the top num_beams candidates, length-penalized, merged with the old set
        just_done = hits & (torch.arange(keep) < num_beams)
        fin = cand_scores / (length ** length_penalty)
        fin = fin + float(bool(final_done.all()) and early_stopping is True) * NEG
        fin = fin + float(not improvable) * NEG
        fin = fin + (~just_done).float() * NEG
        merged = torch.topk(torch.cat([final_scores, fin]), num_beams)[1]

        ids = []
        for c in range(keep):
            b = int(cand_beam[c])
            parent = running_nodes[b]
            prefix = tree.nodes[parent].tokens if parent >= 0 else []
            node = BeamNode(id=len(tree.nodes), parent=parent, step=length - 1, token_id=int(cand_token[c]),
                            log_prob=float(log_probs[b, cand_token[c]]), cumulative_log_prob=float(cand_scores[c]),
                            status="pruned", tokens=prefix + [int(cand_token[c])])
            if just_done[c]:
                node.status, node.score = "finished", float(cand_scores[c]) / length ** length_penalty
            elif c in next_idx.tolist() and not hits[c]:
                node.status = "kept"
            tree.nodes.append(node)
            ids.append(node.id)
        tree.steps.append(ids)
        candidates_nodes = final_nodes + ids
        final_scores = torch.cat([final_scores, fin])[merged]
        final_done = torch.cat([final_done, just_done])[merged]
        final_nodes = [candidates_nodes[int(i)] for i in merged]

        running_scores = (cand_scores + hits.float() * NEG)[next_idx]
        beam_idx = cand_beam[next_idx]
        running = torch.cat([running[beam_idx], cand_token[next_idx, None].to(running.device)], dim=1)
        running_nodes = [ids[int(i)] for i in next_idx]
        past.reorder_cache(beam_idx.to(lm.device))
        cur_len += 1

        # HF's stopping rule: can the best running beam still beat the worst finished hypothesis?
        if early_stopping == "never" and length_penalty > 0.0:
            best_length = max_length - prompt_len
        else:
            best_length = cur_len - prompt_len
        best_possible = float(running_scores[0]) / best_length ** length_penalty
        worst = torch.where(final_done, final_scores.min(), torch.tensor(NEG))
        improvable = improvable and bool((best_possible > worst).any())
        open_beam = not (bool(final_done.all()) and early_stopping is True)
        if not (improvable and open_beam and not bool(hits.all())):
            break

    tree.finished = [tree.nodes[n] for n, done in zip(final_nodes, final_done.tolist(), strict=True)
                     if done and n is not None]
    tree.text = lm.to_string(tree.best_tokens) if tree.finished else ""
    return tree
