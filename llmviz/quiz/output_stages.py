"""The per-notebook quizzes of the output stages, notebooks 07 to 12: three to five questions each, built live from the
notebook's own model and prompts.

`QUIZZES` maps a notebook's name to a builder `(lm, **models) -> list[Question]`; `llmviz.quiz.notebook_quiz(lm,
notebook)` looks it up. Every right answer is read from or computed with the model when the quiz is built (a rank-0
token, a count of kept candidates, a cache size from a generation trace, a seeded draw), everything is greedy or seeded,
and choices are put in an order seeded by the question's id (bank._choice), so the same model always gives the same
quiz. The speculative-decoding quiz also needs the draft model: `notebook_quiz(lm, "10_speculative_decoding",
draft=draft)`. Nothing here draws, and nothing is sent anywhere; the course-level questions live in bank.py.
"""

from __future__ import annotations

import torch

from llmviz.course import RUNNING_PROMPT
from llmviz.decoding.forward import next_token_logits
from llmviz.decoding.sampling import SamplingSettings, distribution, sample
from llmviz.quiz.bank import _choice
from llmviz.quiz.questions import Numeric
from llmviz.stages import interventions
from llmviz.tokenization import Utf8Stream, token_bytes

# the prompts the notebooks themselves use, so the quiz asks about what the learner has just seen
LOGITS_PROMPT = RUNNING_PROMPT                                         # notebook 07
STORY = RUNNING_PROMPT                                                 # notebooks 08 and 09
SPECULATIVE_PROMPT, SPECULATIVE_TOKENS, DRAFT_TOKENS = RUNNING_PROMPT, 24, 4      # notebook 10
EMOJI = "🐱"                                                           # notebook 11
ABLATION_PROMPT, ABLATED_LAYER, ABLATED_HEAD = "Tom and Lily went to the park. Lily gave the ball to", 3, 5  # 12
REFERENCE_TEXT = "Once upon a time there was a girl named Mia. The dog ran to the big red ball in the park."
LOOP_TOKENS = 8


def _listing(lm, ids, probs) -> str:
    return ", ".join(f"{t} {float(probs[i]):.1%}" for t, i in zip(lm.to_str_tokens(ids), ids, strict=True))


def logits_quiz(lm) -> list:
    """Notebook 07: the top token, the vocabulary's size, weight tying, temperature 2 and a logit gap."""
    logits = next_token_logits(lm, LOGITS_PROMPT)                          # [d_vocab]
    probs = logits.softmax(-1)
    top = probs.topk(4).indices.tolist()
    names = lm.to_str_tokens(top)
    tied = torch.equal(lm.model.get_output_embeddings().weight, lm.model.get_input_embeddings().weight)
    p1, hot = float(probs[top[0]]), float(distribution(logits, SamplingSettings(temperature=2.0)).probs[top[0]])
    change = "higher" if hot > p1 else "lower" if hot < p1 else "the same"
    a, b = float(logits[top[0]]), float(logits[top[1]])
    ratio = float(probs[top[0]] / probs[top[1]])
    tied_yes, tied_no = "Yes: the same matrix", "No: two different matrices"
    return [
        _choice("07-top-token", "softmax", f"Which token does the model find most likely after '{LOGITS_PROMPT}'?",
                names, names[0], f"The model's top four: {_listing(lm, top, probs)}. Greedy decoding picks the first."),
        Numeric("07-vocabulary-logits", "softmax",
                f"How many logits does the model output for the token after '{LOGITS_PROMPT}'?", logits.shape[-1],
                f"One per token of the vocabulary: the unembedding maps the final vector ({lm.d_model} numbers) to "
                f"{logits.shape[-1]:,} scores, and softmax turns them into as many probabilities."),
        _choice("07-weight-tying", "softmax",
                "Does this model score the next token with its embedding matrix, the one that turned ids into "
                "vectors (weight tying)?", [tied_yes, tied_no], tied_yes if tied else tied_no,
                f"{'The same' if tied else 'Different'}: the output layer's weight and the embedding are "
                f"{'one tensor' if tied else 'two tensors'}, as the cell comparing them showed "
                f"(config: tie_word_embeddings = {lm.model.config.tie_word_embeddings})."),
        _choice("07-temperature-two", "softmax",
                f"At temperature 2, is the probability of {names[0]} after '{LOGITS_PROMPT}' higher or lower than at "
                "temperature 1?", ["higher", "lower", "the same"], change,
                f"{change.capitalize()}: {p1:.1%} at temperature 1, {hot:.1%} at 2. Dividing the logits by 2 halves "
                "every gap, so the mass spreads into the long tail of the vocabulary; the order stays the same."),
        Numeric("07-logit-gap", "softmax",
                f"The top two logits are {a:.2f} ({names[0]}) and {b:.2f} ({names[1]}). At temperature 1, how many "
                f"times more probable is {names[0]}? (within 1%)", ratio,
                f"{ratio:.2f} = e^({a:.2f} − {b:.2f}): softmax turns a difference of logits into a ratio of "
                "probabilities, whatever the other logits are.", tolerance=round(0.01 * ratio, 3)),
    ]


def sampling_quiz(lm) -> list:
    """Notebook 08: greedy, the top-p count, top-k's renormalised probability, a penalty's pick and a seeded draw."""
    logits = next_token_logits(lm, STORY)
    probs = logits.softmax(-1)
    top = probs.topk(5)
    names = lm.to_str_tokens(top.indices[:4])
    top_p = distribution(logits, SamplingSettings(top_p=0.9))
    # as if greedy's token had been generated twice: frequency 0.5 × 2 + presence 0.8 lower its logit by 1.8
    penalised = distribution(logits, SamplingSettings(frequency_penalty=0.5, presence_penalty=0.8),
                             generated_ids=[int(top.indices[0])] * 2)
    pick = lm.to_str_tokens([int(penalised.scaled_logits.argmax())])[0]
    a, b = float(logits[top.indices[0]]), float(logits[top.indices[1]])
    renormalised = float(top.values[0] / top.values.sum())
    first, again, other = (sample(logits, seed=s).token_id for s in (0, 0, 1))
    same = "The same token both times"
    return [
        _choice("08-greedy-token", "sampling", f"Which token does greedy decoding choose after '{STORY}'?", names,
                names[0], f"Greedy takes the argmax. The top four: {_listing(lm, top.indices[:4], probs)}."),
        Numeric("08-top-p-survivors", "sampling",
                f"With top-p 0.9 (temperature 1), how many tokens can be drawn after '{STORY}'?",
                len(top_p.kept_ids), f"Top-p keeps the most likely tokens until their total reaches 0.9: here "
                f"{len(top_p.kept_ids)} tokens, holding {float(probs[top_p.kept_ids].sum()):.1%}. No candidate "
                "stands out after this open prompt, so the head is long."),
        _choice("08-penalty-pick", "sampling",
                f"Greedy picks '{names[0]}' after '{STORY}'. Suppose the text generated so far already holds "
                f"'{names[0]}' twice. With frequency_penalty 0.5 and presence_penalty 0.8, which token does greedy "
                "pick?", names, pick,
                f"The logit of '{names[0]}' falls by 2 × 0.5 + 0.8 = 1.8, from {a:.2f} to {a - 1.8:.2f}; that of "
                f"'{names[1]}' stays {b:.2f}, so greedy picks '{pick}'. The penalties lower only the tokens already "
                "generated."),
        Numeric("08-top-k-renormalised", "sampling",
                f"Top-k with k = 5 keeps five tokens and renormalises them. What probability does {names[0]} have "
                "among the five? (two decimals)", round(renormalised, 2),
                f"{renormalised:.2f} = {float(top.values[0]):.4f} / {float(top.values.sum()):.4f}: its probability "
                "divided by the five kept tokens' total.", tolerance=0.01),
        _choice("08-same-seed", "sampling",
                f"A token is drawn after '{STORY}' at temperature 1 with seed 0, then again with seed 0. What comes "
                "out?", [same, "Usually a different token"], same if first == again else "Usually a different token",
                f"Both draws gave {lm.to_str_tokens([first])[0]}; seed 1 gives {lm.to_str_tokens([other])[0]}. "
                "The generator is seeded per call, so a seeded draw can be graded."),
    ]


def loop_quiz(lm) -> list:
    """Notebook 09: positions fed with the cache, attention work, the cache's bytes and why the loop stopped."""
    trace = lm.generate(STORY, max_new_tokens=LOOP_TOKENS, temperature=0, capture=None)
    prompt_length, last, width = len(trace.prompt_ids), trace.steps[-1], lm.model.dtype.itemsize
    reasons = {"eos": "the end-of-sequence token", "max_new_tokens": "the token budget (max_new_tokens)",
               "stop_string": "a stop string"}
    return [
        Numeric("09-prompt-positions", "loop",
                f"Greedy generation after '{STORY}', with the KV cache: how many positions does the model process "
                "at step 0?", trace.steps[0].input_positions,
                f"The whole prompt, {prompt_length} tokens: nothing is cached yet. Every later step feeds one."),
        Numeric("09-step-three-work", "loop",
                f"This model has {lm.n_layers} layers of {lm.n_heads} heads. With the cache, how many query·key dot "
                "products does step 3 compute?", trace.steps[3].attention_dot_products,
                f"{trace.steps[3].attention_dot_products:,} = {lm.n_layers} × {lm.n_heads} × {prompt_length + 3}: "
                f"one new query per layer and head, dotted with the keys of all {prompt_length + 3} positions."),
        Numeric("09-cache-bytes", "loop",
                f"The run generates {LOOP_TOKENS} tokens. With {lm.n_layers} layers of {lm.n_kv_heads} key-value "
                f"heads of {lm.d_head} numbers and {width} bytes per number, how many bytes does the KV cache hold "
                "at the last step?", last.kv_cache_bytes,
                f"{last.kv_cache_bytes:,} = 2 × {lm.n_layers} × {lm.n_kv_heads} × {lm.d_head} × "
                f"{last.kv_cache_length} × {width}: the prompt and every generated token but the last "
                f"({prompt_length} + {LOOP_TOKENS - 1} positions).", unit="bytes"),
        _choice("09-stop-reason", "loop", f"The run asked for max_new_tokens = {LOOP_TOKENS}. What stopped it?",
                list(reasons.values()), reasons.get(trace.stop_reason, reasons["eos"]),
                f"The trace says {trace.stop_reason!r}; it made {len(trace.tokens)} tokens: {trace.text!r}."),
    ]


def speculative_quiz(lm, draft=None) -> list:
    """Notebook 10: round 1's accepted proposals, the target passes, the same text, a draft that is the target,
    and the chance that speculative sampling accepts the draft's likeliest first proposal."""
    if draft is None:
        raise ValueError("The speculative-decoding quiz needs the draft model: "
                         "notebook_quiz(lm, '10_speculative_decoding', draft=draft).")
    settings = dict(temperature=0, max_new_tokens=SPECULATIVE_TOKENS, capture=None)
    spec = lm.generate(SPECULATIVE_PROMPT, draft=draft, draft_tokens=DRAFT_TOKENS, **settings)
    alone = lm.generate(SPECULATIVE_PROMPT, **settings)
    itself = lm.generate(SPECULATIVE_PROMPT, draft=lm, draft_tokens=DRAFT_TOKENS, **settings)
    first = spec.steps[0].speculation
    same = "Identical, token for token"
    rate = f"{itself.acceptance_rate:.0%}"
    rates = [rate] + [other for other in ("about half", "none") if other != rate]
    return [
        Numeric("10-round-one-accepted", "speculative",
                f"After '{SPECULATIVE_PROMPT}', the draft proposes {DRAFT_TOKENS} tokens in round 1. How many does the "
                "target accept (greedy)?", first.n_accepted,
                f"{first.n_accepted}: it proposed {lm.to_str_tokens(first.proposed)}; the target accepts from the left "
                "while its own greedy choice agrees, and stops at the first disagreement."),
        Numeric("10-target-passes", "speculative",
                f"Greedy speculative decoding with k = {DRAFT_TOKENS} makes {SPECULATIVE_TOKENS} tokens. How many "
                "target forward passes does it take?", spec.target_passes,
                f"{spec.target_passes} rounds, one target pass each, accepting {spec.acceptance_rate:.0%} of the "
                f"proposals; each round adds its accepted tokens plus one of the target's. The target alone needs "
                f"{len(alone.tokens)}."),
        _choice("10-same-text", "speculative",
                "How does the greedy speculative output compare with the target's own greedy output?",
                [same, "Close, but the draft's mistakes show", "Different"],
                same if spec.tokens == alone.tokens else "Different",
                f"Both gave {alone.text!r}. The target replaces the first proposal it disagrees with by its own "
                "choice, so the draft changes only the number of target passes."),
        _choice("10-target-as-draft", "speculative",
                f"If the target is its own draft (draft=lm, k = {DRAFT_TOKENS}), what share of proposals does it "
                "accept (greedy)?", rates, rate,
                f"{rate}: a greedy draft identical to the target proposes exactly the target's choices, so each "
                f"round adds {DRAFT_TOKENS + 1} tokens and {SPECULATIVE_TOKENS} tokens take {itself.target_passes} "
                "target passes."),
        _acceptance_question(lm, draft),
    ]


def _acceptance_question(lm, draft) -> Numeric:
    """Speculative sampling at temperature 1: min(1, p/q) for the draft's likeliest first token after the prompt."""
    q = next_token_logits(draft, SPECULATIVE_PROMPT).softmax(-1)      # [d_vocab], the draft's distribution
    p = next_token_logits(lm, SPECULATIVE_PROMPT).softmax(-1)         # [d_vocab], the target's, same tokenizer
    d = int(q.argmax())
    name, p_d, q_d = lm.to_str_tokens([d])[0], float(p[d]), float(q[d])
    accept = min(1.0, p_d / q_d)
    why = (f"the draft offers {name} more often than the target wants it, so the surplus is turned away; a rejection "
           f"is replaced by a draw from norm(max(0, p − q)), which gives {name} nothing, so it comes out with "
           "probability exactly p." if q_d > p_d else
           f"the target wants {name} at least as much as the draft offers it, so it is always accepted.")
    return Numeric("10-acceptance-probability", "speculative",
                   f"Speculative sampling at temperature 1 after '{SPECULATIVE_PROMPT}': the draft draws {name}, its "
                   f"likeliest first token, with q = {q_d:.3f}; the target gives {name} p = {p_d:.3f}. With what "
                   "probability does the target accept it? (two decimals)", accept,
                   f"{accept:.2f} = min(1, p/q) = min(1, {p_d:.3f} / {q_d:.3f}): {why}", tolerance=0.01)


def detokenization_quiz(lm) -> list:
    """Notebook 11: an emoji's tokens, decoding one of them alone, the space marker and the stream's held bytes."""
    ids = lm.to_tokens(EMOJI)[0].tolist()
    alone = lm.tokenizer.decode(ids[:1])
    stream = Utf8Stream()
    for i in ids[:2]:
        stream.feed(lm.token_bytes(i))
    replacement, nothing = "�, the replacement character", "nothing at all"
    shown = {"\ufffd": replacement, "": nothing}.get(alone, EMOJI)
    space = token_bytes("Ġ")
    marker = {b" ": "a space (byte 0x20)", b"\n": "a newline (byte 0x0A)"}.get(space, "no byte: it marks a word start")
    return [
        Numeric("11-emoji-tokens", "tokenization", f"How many tokens does this model's tokenizer need for {EMOJI}?",
                len(ids), f"{len(ids)} (ids {ids}) for the {len(EMOJI.encode())} UTF-8 bytes "
                f"{EMOJI.encode().hex(' ')}: " + ("one token per byte, because the vocabulary has no token for any "
                "part of the emoji." if len(ids) == len(EMOJI.encode()) else "the vocabulary holds some of its "
                "bytes merged.")),
        _choice("11-first-token-alone", "tokenization",
                f"Decode only the first of {EMOJI}'s tokens, on its own. What do you get?",
                [replacement, EMOJI, nothing], shown,
                f"{alone!r}: one byte ({lm.token_bytes(ids[0]).hex()}) is not a whole character, so the decoder puts "
                "U+FFFD in its place."),
        _choice("11-space-marker", "tokenization", "In GPT-2's byte alphabet, what does Ġ stand for?",
                ["a space (byte 0x20)", "a newline (byte 0x0A)", "no byte: it marks a word start"], marker,
                f"token_bytes('Ġ') = {space!r}: Ġ is only how the vocabulary spells the space byte, and the text "
                "gets the space back."),
        Numeric("11-bytes-held-back", "tokenization",
                f"A streaming display has received the first two of {EMOJI}'s tokens. How many bytes does the "
                "Utf8Stream hold back?", len(stream.pending),
                f"{len(stream.pending)} ({stream.pending.hex(' ')}): {EMOJI} needs {len(EMOJI.encode())} bytes, so "
                "the stream shows nothing until the last one arrives, instead of printing �."),
    ]


def interventions_quiz(lm) -> list:
    """Notebook 12 (tiny model): the head that matters most, the cone of one edit, and zero against mean ablation."""
    logits, clean = lm.run_with_cache(ABLATION_PROMPT)
    clean_probs = logits[0, -1].softmax(-1)
    answer = int(clean_probs.argmax())
    word = lm.to_str_tokens([answer])[0]
    swept = interventions.head_ablation_sweep(lm, ABLATION_PROMPT)                # [layer, head, d_vocab]
    effect = swept.log_softmax(-1)[..., answer] - clean_probs.log()[answer]       # [layer, head]
    heads = [divmod(int(i), lm.n_heads) for i in effect.flatten().argsort()[:4]]   # the four largest drops first
    labels = [f"layer {layer}, head {head}" for layer, head in heads]
    position = len(lm.to_tokens(ABLATION_PROMPT)[0]) - 5                         # five positions from the end
    edit = interventions.ablation(f"blocks.{ABLATED_LAYER}.attn.hook_z", head=ABLATED_HEAD, position=position)
    cone = interventions.causal_cone(clean, lm.run_with_cache(ABLATION_PROMPT, fwd_hooks=[edit])[1])  # [depth, pos]
    columns = int((cone.amax(0) > 0).sum())
    reference = lm.run_with_cache(REFERENCE_TEXT)[1]
    zero, mean = (float(lm.run_with_hooks(ABLATION_PROMPT, fwd_hooks=[e])[0, -1].softmax(-1)[answer]) for e in
                  (interventions.ablate_head(0, 4), interventions.ablate_head(0, 4, mean_from=reference)))
    lower = "zeroing it" if zero < mean else "replacing it with its mean"
    return [
        _choice("12-most-important-head", "attention",
                f"After '{ABLATION_PROMPT}' the model answers {word}. Removing which head lowers its probability most?",
                labels, labels[0], "Change in log p of the answer: " + ", ".join(
                    f"{label} {float(effect[h]):+.2f}" for label, h in zip(labels, heads, strict=True))
                + ". Every other head changes it by less."),
        Numeric("12-cone-columns", "attention",
                f"Remove layer {ABLATED_LAYER}'s head {ABLATED_HEAD} at position {position} only (of "
                f"{cone.shape[1]}). At how many positions does the residual stream change anywhere?", columns,
                f"{columns}: position {position} and the later ones, which attend to it; attention is causal, so the "
                "earlier positions never see the edit."),
        _choice("12-zero-or-mean", "attention",
                f"Layer 0's head 4, removed two ways: which lowers p({word}) more?",
                ["zeroing it", "replacing it with its mean"], lower,
                f"p({word}) is {float(clean_probs[answer]):.3f} clean, {zero:.3f} zeroed and {mean:.3f} "
                "mean-ablated. How much a head matters depends on what you replace it with."),
    ]


QUIZZES = {
    "07_logits_and_softmax": logits_quiz,
    "08_sampling": sampling_quiz,
    "09_autoregressive_loop": loop_quiz,
    "10_speculative_decoding": speculative_quiz,
    "11_detokenization": detokenization_quiz,
    "12_interventions": interventions_quiz,
}

