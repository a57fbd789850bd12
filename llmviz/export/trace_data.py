"""The numbers of a one-file trace: one capture of a prompt, reduced to a compact dict that JSON can hold.

`trace_data(lm, prompt)` runs the model once with `run_with_cache` and keeps what the page draws: the tokens, their
embedding rows, every layer's and head's attention pattern, the residual stream's norm at every depth and position,
the logit lens's top token per depth and position, the top-k next-token logits (the page's temperature slider
reshapes them), and optionally a short greedy generation with each step's top candidates. Values are rounded so
that the file stays small: attention weights to 1e-4 (stored as integers, lower triangle only, since the causal
mask zeroes the rest), other floats to a fixed number of decimals. It draws nothing and writes no file;
trace_page.py turns the dict into HTML.
"""

from __future__ import annotations

import torch

from llmviz.names import every_layer, residual_stream_names
from llmviz.tokenization.bytelevel import readable_bytes

FORMAT = "llmviz-trace/1"
ATTENTION_SCALE = 10_000  # attention weights are stored as round(weight * 10000): integers, resolution 1e-4
DECIMALS = 4              # embedding values, logits and probabilities keep 4 decimals (error at most 5e-5)
NORM_DECIMALS = 3
MAX_TOKENS = 128          # every head's pattern grows with the square of the prompt: 128 tokens on SmolLM2 is 6.7 MB
CANDIDATES = 5            # top candidates kept per generated step


def _round(values: torch.Tensor, decimals: int = DECIMALS) -> list:
    """A float tensor as nested lists of Python floats rounded to `decimals`. Python's round on float64 gives the
    shortest repr (2.066, not float32's 2.065999984741211), which is what keeps the JSON small."""
    def walk(x):
        return [walk(v) for v in x] if isinstance(x, list) else round(x, decimals)
    return walk(values.detach().double().cpu().tolist())


def _readable(lm, ids) -> list[str]:
    """Readable token strings ('␣cat') for any number of ids; lm.to_str_tokens would refuse more than n_ctx."""
    return [readable_bytes(lm.token_bytes(int(i))) for i in ids]


def check_trace_request(lm, prompt: str, generate_tokens: int, top_k: int) -> torch.Tensor:
    """The prompt's ids [1, pos], or a ValueError/TypeError saying what is wrong and what to do."""
    if not isinstance(prompt, str):
        raise TypeError(f"The prompt must be a string, not {type(prompt).__name__}.")
    ids = lm.to_tokens(prompt)  # clear errors for an empty or over-long prompt
    if ids.shape[-1] > MAX_TOKENS:
        raise ValueError(f"The prompt is {ids.shape[-1]} tokens long; a trace keeps every head's attention "
                         f"pattern, which grows with the square of its length, so it takes at most {MAX_TOKENS} "
                         "tokens. Shorten the prompt.")
    if not isinstance(generate_tokens, int) or not 0 <= generate_tokens <= 64:
        raise ValueError(f"generate_tokens must be an int in 0..64, not {generate_tokens!r}.")
    if not isinstance(top_k, int) or not 2 <= top_k <= lm.d_vocab:
        raise ValueError(f"top_k must be an int in 2..{lm.d_vocab} (the vocabulary), not {top_k!r}.")
    if ids.shape[-1] + generate_tokens > lm.n_ctx:
        raise ValueError(f"{ids.shape[-1]} prompt tokens and {generate_tokens} generated ones exceed {lm.name}'s "
                         f"context of {lm.n_ctx}; generate fewer tokens.")
    return ids


def attention_rows(pattern: torch.Tensor) -> list[list[list[int]]]:
    """One layer's pattern [head, query_pos, key_pos] -> [head][query][key <= query] integers weight * 10000.
    The causal mask makes every key after the query 0, so only the lower triangle is kept."""
    scaled = torch.round(pattern.float() * ATTENTION_SCALE).to(torch.int32)  # [head, q, k]
    return [[row[: q + 1] for q, row in enumerate(head)] for head in scaled.tolist()]


def generation_steps(lm, ids: torch.Tensor, generate_tokens: int) -> tuple[list[dict], str]:
    """A greedy continuation of `generate_tokens` tokens: (steps, the generated text). Each step holds the chosen
    token and the top CANDIDATES of softmax(logits) at temperature 1 (the model's own distribution, before greedy
    picks its argmax). It may stop early, at the end-of-text token."""
    if generate_tokens == 0:
        return [], ""
    trace = lm.generate(ids, max_new_tokens=generate_tokens, temperature=0, capture=None)
    steps = []
    for step in trace.steps:
        probs = torch.softmax(step.sample.logits.float(), dim=-1)  # [vocab]
        top = probs.topk(CANDIDATES)
        steps.append(dict(token_id=step.token_id, token=_readable(lm, [step.token_id])[0],
                          candidate_ids=top.indices.tolist(), candidates=_readable(lm, top.indices),
                          candidate_probs=_round(top.values)))
    return steps, trace.text


def trace_data(lm, prompt: str, generate_tokens: int = 0, top_k: int = 200) -> dict:
    """Everything the trace page shows, from one `run_with_cache` of `prompt`, as a JSON-able dict:

    tokens [pos], token_ids [pos]; embedding [pos][d_model] (hook_embed, the token embedding rows);
    attention [layer][head][query][key <= query] (integers, weight * attention_scale);
    residual_norm [n_layers + 1][pos] (L2 norm of blocks.0.hook_resid_pre, then each blocks.{L}.hook_resid_post);
    lens_tokens / lens_ids / lens_probs [n_layers + 1][pos] (the logit lens's top-1 token and its probability);
    next_token: ids, tokens, logits of the top_k highest last-position logits (highest first) and top_k_mass, the
    full-vocabulary probability those top_k hold at temperature 1; generation and generated_text: a greedy
    continuation (generation_steps), empty unless generate_tokens > 0.
    """
    ids = check_trace_request(lm, prompt, generate_tokens, top_k)
    names = ["hook_embed", *every_layer("blocks.{L}.attn.hook_pattern", lm.n_layers),
             *residual_stream_names(lm.n_layers)]
    logits, cache = lm.run_with_cache(ids, names=sorted(set(names)))
    last = logits[0, -1].float()  # [vocab]
    top = last.topk(top_k)
    lens = lm.logit_lens(cache, top_k=1)
    steps, generated_text = generation_steps(lm, ids, generate_tokens)
    resid = torch.stack([cache[name][0] for name in residual_stream_names(lm.n_layers)])  # [n_layers + 1, pos, d]
    return dict(
        format=FORMAT, model=lm.name, architecture=lm.architecture, prompt=prompt,
        n_layers=lm.n_layers, n_heads=lm.n_heads, d_model=lm.d_model, d_vocab=lm.d_vocab,
        tokens=_readable(lm, ids[0]), token_ids=ids[0].tolist(),
        embedding=_round(cache["hook_embed"][0]),
        attention_scale=ATTENTION_SCALE,
        attention=[attention_rows(cache["pattern", L][0]) for L in range(lm.n_layers)],
        depth_labels=lens.labels,
        residual_norm=_round(torch.linalg.vector_norm(resid.float(), dim=-1), NORM_DECIMALS),
        lens_ids=lens.top_ids[..., 0].tolist(), lens_tokens=[[p[0] for p in d] for d in lens.top_tokens],
        lens_probs=_round(lens.top_probs[..., 0]),
        next_token=dict(ids=top.indices.tolist(), tokens=_readable(lm, top.indices), logits=_round(top.values),
                        top_k_mass=round(float(torch.softmax(last, -1)[top.indices].sum()), 6)),
        generation=steps, generated_text=generated_text,
    )
