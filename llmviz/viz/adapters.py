"""Adapters from the library's records to the plain data the figure builders take, so a notebook writes
`viz.beam_tree(viz.beam_nodes(tree, lm))` and never a loop of its own.

They read only the public fields of the records (a beam search's nodes, a sampling record, speculative rounds, a
generation trace's steps, a logit lens) by name, without importing the modules that make them, so the builders stay
independent of those modules. Each returns a small dataclass or a dict of keyword arguments for one builder; none
draws, runs a model or changes the record.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from llmviz.viz.tree import BeamNode


def _token_text(lm_or_fn) -> Callable[[int], str]:
    """One readable token per id, from an LM (its to_str_tokens) or a function id -> str."""
    if hasattr(lm_or_fn, "to_str_tokens"):
        return lambda token_id: lm_or_fn.to_str_tokens([int(token_id)])[0]
    if callable(lm_or_fn):
        return lm_or_fn
    raise TypeError(f"Expected an LM (with to_str_tokens) or a function id -> token text, not "
                    f"{type(lm_or_fn).__name__}.")


def beam_nodes(tree, lm_or_fn, prompt_label: str | None = None) -> list[BeamNode]:
    """A beam search's nodes (fields id, parent (-1 for the prompt), token_id, cumulative_log_prob, status) as
    BeamNodes under one root node (id -1) standing for the prompt, labelled with the prompt's text."""
    text = _token_text(lm_or_fn)
    if prompt_label is None:
        prompt_label = "".join(text(i) for i in getattr(tree, "prompt_ids", [])) or "prompt"
    nodes = [BeamNode(-1, None, prompt_label, 0.0, "kept")]
    for node in tree.nodes:
        nodes.append(BeamNode(node.id, node.parent, text(node.token_id), float(node.cumulative_log_prob),
                              node.status))
    return nodes


def speculative_rows(rounds_or_trace, lm_or_fn) -> list[list[tuple[str, str]]]:
    """Rows for `speculative_steps`: per round, the draft's proposals marked accepted / rejected / discarded, then
    the target's replacement or bonus token. Takes a generation trace (its steps' `speculation`) or the rounds
    (fields proposed, accepted, rejected, replacement, bonus)."""
    text = _token_text(lm_or_fn)
    rounds = rounds_or_trace
    if hasattr(rounds_or_trace, "steps"):
        rounds = [step.speculation for step in rounds_or_trace.steps if getattr(step, "speculation", None)]
    rows = []
    for speculation in rounds:
        row, seen_rejection = [], False
        for token_id, ok in zip(speculation.proposed, speculation.accepted, strict=True):
            if ok:
                status = "accepted"
            elif not seen_rejection and speculation.rejected is not None:
                status, seen_rejection = "rejected", True
            else:
                status = "discarded"  # after the first rejection the target never checks these
            row.append((text(token_id), status))
        if speculation.rejected is not None:
            row.append((text(speculation.replacement), "replacement"))
        elif speculation.bonus is not None:
            row.append((text(speculation.bonus), "bonus"))
        rows.append(row)
    return rows


def candidates(record, lm_or_fn, n: int = 20, after_filter: bool = False) -> dict:
    """Keyword arguments for `probability_bars`: the n most likely next tokens of a sampling record (fields
    scaled_logits [vocab], removed_by [vocab] (0 = kept), token_id), which of them the filters kept, and the drawn
    token highlighted. Probabilities are softmax(scaled_logits), i.e. after temperature and before the filters,
    so a learner sees what each filter cut away; after_filter=True gives the renormalised survivors instead."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"`n` must be a positive int (how many candidates to show); got {n!r}.")
    text = _token_text(lm_or_fn)
    scaled = record.scaled_logits.detach().float().reshape(-1)  # [vocab]
    removed = record.removed_by.reshape(-1) != 0  # [vocab]
    probs = scaled.masked_fill(removed, -torch.inf).softmax(-1) if after_filter else scaled.softmax(-1)
    top = torch.topk(scaled, min(n, scaled.numel())).indices  # [n], most likely first (same order as probs)
    ids = top.tolist()
    token_id = getattr(record, "token_id", None)
    return dict(tokens=[text(i) for i in ids], probs=probs[top].numpy().copy(),
                kept_mask=(~removed[top]).numpy().copy(),
                highlight=ids.index(token_id) if token_id is not None and token_id in ids else None)


def kv_cache_series(trace) -> dict:
    """Keyword arguments for `kv_cache_growth` from a generation trace's steps (kv_cache_length, kv_cache_bytes)."""
    steps = list(trace.steps)
    return dict(steps=[step.index for step in steps], cache_len=[step.kv_cache_length for step in steps],
                cache_bytes=[step.kv_cache_bytes for step in steps])


def cache_cost_series(trace_with_cache, trace_without_cache, measure: str = "attention_dot_products") -> dict:
    """Keyword arguments for `cost_with_without_cache`: per step, `measure` (attention_dot_products or
    input_positions) of the same generation run with and without the KV cache."""
    with_steps, without_steps = list(trace_with_cache.steps), list(trace_without_cache.steps)
    n = min(len(with_steps), len(without_steps))  # the runs may stop at different steps only if sampling differs
    return dict(steps=[step.index for step in with_steps[:n]],
                work_with=[getattr(step, measure) for step in with_steps[:n]],
                work_without=[getattr(step, measure) for step in without_steps[:n]],
                yaxis_title={"attention_dot_products": "query·key products",
                             "input_positions": "positions fed to the model"}.get(measure, measure))


def lens_grid(lens, tokens) -> dict:
    """Keyword arguments for `logit_lens_grid` from a logit lens (fields labels, top_tokens [n][pos][k],
    top_probs [n, pos, k]): each cell's top guess and its probability."""
    return dict(top_tokens=[[guesses[0] for guesses in layer] for layer in lens.top_tokens],
                probs=lens.top_probs[:, :, 0].detach().float().numpy().copy(), tokens=list(tokens),
                layer_labels=list(lens.labels))
