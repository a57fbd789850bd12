"""The quiz questions of the course, built from a loaded model: every right answer is read from or computed with it.

`question_bank(lm)` runs the model a few times (one capture of PROMPT, a few greedy generations, seeded samples) and
returns questions grouped by the course's learning objectives (questions.OBJECTIVES). A rank-0 token, a count read
from a capture, a cache size read from a trace: if the model changes, the answers change with it, and nothing typed
here can contradict it. Everything is greedy or seeded, so the same model always gives the same quiz, choices in the
same order (shuffled by a seed taken from the question id, so the right answer is not always first).
`course_quiz(lm)` takes the first questions of each group. Nothing here draws, and nothing is sent anywhere.
"""

from __future__ import annotations

import random
import zlib

import torch

from llmviz.course import RUNNING_PROMPT
from llmviz.decoding.sampling import SamplingSettings, distribution, sample
from llmviz.quiz.questions import OBJECTIVES, MultipleChoice, Numeric

# A sure prompt: a review asks which token is likeliest, and the running example's top two are close on the tiny
# model. The speculative question runs notebook 10's prompt, the running example.
PROMPT = "The cat sat on the"
SPECULATIVE_PROMPT, DRAFT_TOKENS = RUNNING_PROMPT, 4


def _choice(id, objective, text, choices, right, explanation) -> MultipleChoice:
    """A MultipleChoice whose choices are put in an order seeded by its id; `right` is the right choice's text."""
    order = list(choices)
    random.Random(zlib.crc32(id.encode())).shuffle(order)
    return MultipleChoice(id, objective, text, tuple(order), order.index(right), explanation)


def _tokens(n: int) -> str:
    return f"{n} token" if n == 1 else f"{n} tokens"


def _pieces(lm, text: str) -> str:
    return " · ".join(lm.to_str_tokens(text))


def tokenization_questions(lm) -> list:
    word, english, german = "unbelievable", " butterfly", " Schmetterling"
    n = lm.to_tokens(word).shape[1]
    n_en, n_de = lm.to_tokens(english).shape[1], lm.to_tokens(german).shape[1]
    more = {n_en > n_de: "'butterfly' takes more", n_de > n_en: "'Schmetterling' takes more"}.get(True, "the same")
    return [
        Numeric("tokens-in-a-word", "tokenization",
                f"How many tokens does this model's tokenizer split the word '{word}' into?", n,
                f"It splits into {_pieces(lm, word)}. BPE keeps a word whole only when it was frequent in the "
                "tokenizer's training text; rarer words are built from pieces."),
        _choice("tokens-across-languages", "tokenization",
                "'butterfly' (English) and 'Schmetterling' (German) mean the same. Which one takes more tokens here "
                "(each with a space before it, as inside a sentence)?",
                ["'butterfly' takes more", "'Schmetterling' takes more", "the same"], more,
                f"' butterfly' is {_tokens(n_en)} ({_pieces(lm, english)}); ' Schmetterling' is "
                f"{_tokens(n_de)} ({_pieces(lm, german)}). A tokenizer trained mostly on English text cuts other "
                "languages into more pieces, so the same meaning costs more tokens: more compute and less of the "
                "context window."),
    ]


def embedding_questions(lm, cache, ids_repeat, cache_repeat) -> list:
    d_model = cache["hook_embed"].shape[-1]
    token = lm.to_str_tokens(ids_repeat[:, :1])[0]
    # [pos, d_model] what block 0 reads: the token embedding, plus the position embedding where the model has one
    block_input = cache_repeat["blocks.0.hook_resid_pre"][0]
    same = torch.allclose(block_input[0], block_input[2])
    has_positions = "hook_pos_embed" in cache_repeat.keys()
    why = ("the token embeddings of the two are identical, and the learned position embedding added to them "
           "differs by position" if has_positions else
           "this model adds no position vector to the input: it rotates queries and keys by position inside "
           "attention instead (RoPE), so block 0's input is the same and attention sees the difference")
    return [
        Numeric("embedding-width", "embeddings",
                "How many numbers make up one token's embedding vector in this model (its d_model)?", d_model,
                f"The captured `hook_embed` has shape [batch, pos, {d_model}]. Every token id selects "
                f"one row of a [{lm.d_vocab} × {d_model}] embedding matrix."),
        _choice("same-token-two-positions", "embeddings",
                f"In ' dog chased dog', the token {token} appears at positions 0 and 2. Is the vector that block 0 "
                "reads the same at both places?",
                ["Yes, exactly the same", "No, they differ"], "Yes, exactly the same" if same else "No, they differ",
                f"{'The same' if same else 'They differ'}: {why}."),
    ]


def attention_questions(lm, cache, tokens) -> list:
    n = len(tokens)
    patterns = cache.stack("pattern")[:, 0]  # [layer, head, query_pos, key_pos]
    zeros = int((patterns[0, 0] == 0).sum())
    # the most focused head: the one whose last query puts the largest weight on a single key
    last_row = patterns[:, :, -1]  # [layer, head, key_pos]
    layer, head = divmod(int(last_row.amax(-1).flatten().argmax()), patterns.shape[1])
    weights = last_row[layer, head]
    labels = [f"{t} (position {i})" for i, t in enumerate(tokens)]
    top = int(weights.argmax())
    return [
        Numeric("causal-mask-zeros", "attention",
                f"The prompt '{PROMPT}' has {n} tokens, so one head's attention pattern is a grid of {n} × {n} "
                "cells (query × key). How many of its cells are exactly 0?", zeros,
                f"{zeros} = {n}·{n - 1}/2: the causal mask lets a token attend only to itself and earlier tokens, "
                "so every cell above the diagonal is 0 after the softmax."),
        _choice("most-attended-token", "attention",
                f"In layer {layer}, head {head}, which token does the last token ({tokens[-1]}) attend to most?",
                labels, labels[top],
                "Its weights: " + ", ".join(f"{t} {float(w):.0%}" for t, w in zip(tokens, weights, strict=True))
                + ". Each head has its own pattern; this is the most focused head of the model on this prompt."),
        Numeric("heads-per-layer", "attention", "How many attention heads does each layer of this model have?",
                patterns.shape[1],
                f"The captured `hook_pattern` has shape [batch, head, query_pos, key_pos] = "
                f"{list(cache['pattern', 0].shape)}. Each head attends on its own, then their outputs are "
                "concatenated and projected."),
    ]


def mlp_questions(lm, cache) -> list:
    d_mlp = cache["blocks.0.mlp.hook_post"].shape[-1]
    lowest = min(float(cache[f"blocks.{layer}.mlp.hook_post"].min()) for layer in range(lm.n_layers))
    can = "Yes, it can be negative"
    return [
        Numeric("mlp-width", "mlp", "How many neurons does one MLP layer of this model have (its hidden width)?",
                d_mlp, f"{d_mlp} = {d_mlp / lm.d_model:.3g} × d_model ({lm.d_model}): the MLP expands each token's "
                "vector, applies the activation, and projects back."),
        _choice("activation-sign", "mlp", "After the MLP's activation function, can a neuron's output be negative?",
                ["No, like ReLU it is 0 or more", can], can if lowest < 0 else "No, like ReLU it is 0 or more",
                f"The smallest activation in any layer on '{PROMPT}' is {lowest:.3f}. GELU (GPT-2) dips to about "
                "-0.17 for small negative inputs; SwiGLU (Llama) multiplies two branches, so either sign occurs, "
                "at any size. Only ReLU is never negative."),
    ]


def softmax_questions(lm, logits) -> list:
    probs = torch.softmax(logits, -1)  # [vocab]
    top = torch.topk(probs, 4)
    names = lm.to_str_tokens(top.indices)
    hot = distribution(logits, SamplingSettings(temperature=0.5)).probs.max()
    p1 = float(top.values[0])
    change = "higher" if hot > p1 else "lower" if hot < p1 else "the same"
    ratio = float(top.values[0] / top.values[1])
    a, b = (float(logits[i]) for i in top.indices[:2])
    return [
        _choice("top-token", "softmax", f"Which token does the model find most likely after '{PROMPT}'?", names,
                names[0], "The model's top four: " + ", ".join(
                    f"{t} {float(p):.1%}" for t, p in zip(names, top.values, strict=True))
                + ". Greedy decoding (temperature 0) always picks the first."),
        _choice("temperature-half", "softmax",
                f"After '{PROMPT}', is the top token's probability higher or lower at temperature 0.5 than at 1?",
                ["higher", "lower", "the same"], change,
                f"{change.capitalize()}: {p1:.1%} at temperature 1, {float(hot):.1%} at 0.5. Dividing the logits by "
                "a temperature below 1 stretches their gaps, so the top token gains; above 1 flattens them. "
                "Temperature reshapes the same ranking; it adds no new ideas."),
        Numeric("logit-gap", "softmax",
                f"After '{PROMPT}' the top two logits are {a:.2f} ({names[0]}) and {b:.2f} ({names[1]}). At "
                f"temperature 1, how many times more probable is {names[0]} than {names[1]}? (two decimals)",
                round(ratio, 2), f"{ratio:.2f} = e^({a:.2f} - {b:.2f}): softmax turns a difference of logits into "
                "a ratio of probabilities; the other logits do not matter for the ratio.", tolerance=0.02),
    ]


def sampling_questions(lm, logits) -> list:
    record = distribution(logits, SamplingSettings(top_p=0.9))
    kept = record.kept_ids
    mass = float(torch.softmax(logits, -1)[kept].sum())
    first, again = sample(logits, seed=0).token_id, sample(logits, seed=0).token_id
    other = sample(logits, seed=1).token_id
    same = "The same token both times"
    return [
        Numeric("top-p-survivors", "sampling",
                f"With top-p 0.9 at temperature 1, how many tokens can be sampled after '{PROMPT}'?", len(kept),
                "Top-p keeps the most likely tokens until their probabilities add up to at least 0.9 (here "
                f"{len(kept)} tokens hold {mass:.1%}); the rest are removed and the kept ones renormalised."),
        _choice("same-seed", "sampling",
                f"A token is sampled after '{PROMPT}' at temperature 1 with seed 0, and then again with seed 0. "
                "What comes out?", [same, "Usually a different token"],
                same if first == again else "Usually a different token",
                (f"Both draws gave {lm.to_str_tokens([first])[0]}" if first == again else "The draws differed")
                + f"; seed 1 gives {lm.to_str_tokens([other])[0]}. A seeded generator makes a sample reproducible, "
                "which is how a class can grade a sampled answer."),
    ]


def loop_questions(lm) -> list:
    cached = lm.generate(PROMPT, max_new_tokens=8, temperature=0, capture=None)
    uncached = lm.generate(PROMPT, max_new_tokens=8, temperature=0, capture=None, use_cache=False)
    positions = lm.to_tokens(PROMPT).shape[1] + 5
    step = next(s for s in cached.steps if s.kv_cache_length == positions)  # the step whose cache holds them
    width = lm.model.dtype.itemsize
    same = "No, the same text"
    return [
        _choice("cache-same-text", "loop",
                f"Greedy generation after '{PROMPT}', once with the KV cache and once without: does the text differ?",
                [same, "Yes, the cache changes it"], same if cached.tokens == uncached.tokens else
                "Yes, the cache changes it", f"Both gave {cached.text!r}. The cache stores keys and values already "
                "computed; it saves work and changes nothing the model sees."),
        Numeric("cache-bytes", "loop",
                f"This model has {lm.n_layers} layers, {lm.n_kv_heads} key-value heads of {lm.d_head} numbers each, "
                f"and stores {width} bytes per number. How many bytes does its KV cache hold at {positions} "
                "positions?", step.kv_cache_bytes,
                f"{step.kv_cache_bytes:,} = 2 (keys and values) × {lm.n_layers} × {lm.n_kv_heads} × {lm.d_head} × "
                f"{positions} × {width}, read from the generation trace.", unit="bytes"),
        Numeric("positions-fed", "loop",
                f"With the KV cache, how many positions does the model process at step 3 of generating after "
                f"'{PROMPT}' (step 0 read the prompt)?", cached.steps[3].input_positions,
                "Only the newest token; the keys and values of every earlier position come from the cache."),
    ]


def expected_tokens_per_round(acceptance: float, draft_tokens: int) -> float:
    """(1 - α^(k+1)) / (1 - α): accepted draft tokens plus the target's own, when each is accepted with chance α."""
    if acceptance == 1:
        return draft_tokens + 1.0
    return (1 - acceptance ** (draft_tokens + 1)) / (1 - acceptance)


def speculative_questions(lm, draft=None) -> list:
    k, alpha, questions = DRAFT_TOKENS, 0.8, []
    if draft is not None:
        spec = lm.generate(SPECULATIVE_PROMPT, draft=draft, draft_tokens=k, temperature=0, max_new_tokens=24,
                           capture=None)
        alone = lm.generate(SPECULATIVE_PROMPT, temperature=0, max_new_tokens=24, capture=None)
        alpha = round(spec.acceptance_rate, 2)
        same = "Identical, token for token"
        questions.append(_choice(
            "speculative-same-text", "speculative",
            f"Greedy speculative decoding (the draft proposes {k} tokens a round) against the target alone on "
            f"'{SPECULATIVE_PROMPT}': how do their outputs compare?",
            [same, "Close, but the draft's mistakes show", "Different"],
            same if spec.tokens == alone.tokens else "Different",
            f"Both gave {alone.text!r}. The target checks every proposal and replaces the first one it disagrees "
            f"with, so the draft only changes the speed: {spec.target_passes} target passes instead of "
            f"{len(alone.tokens)}."))
    expected = expected_tokens_per_round(alpha, k)
    source = (f"measured for {draft.name} on '{SPECULATIVE_PROMPT}'" if draft is not None
              else "a value for illustration")
    questions.insert(0, Numeric(
        "tokens-per-round", "speculative",
        f"A draft proposes k = {k} tokens per round, and the target accepts each with chance α = {alpha:g} ({source})"
        ", stopping at the first rejection. How many tokens does a round add on average? (two decimals)",
        round(expected, 2), f"{expected:.2f} = (1 - α^(k+1)) / (1 - α): the accepted draft tokens plus the one "
        "token the target adds itself (a replacement, or a bonus when all are accepted).", tolerance=0.02))
    return questions


def _repeated_word(lm):
    """ids [1, 3] and the capture of ' dog chased dog', whose positions 0 and 2 hold the same token."""
    ids = lm.to_tokens(" dog chased dog")  # one token per word in GPT-2's, the tiny model's and SmolLM2's BPE
    if ids.shape[1] != 3 or ids[0, 0] != ids[0, 2]:
        raise ValueError(f"{lm.name}'s tokenizer splits ' dog chased dog' into {lm.to_str_tokens(ids)}; the "
                         "embeddings question needs the same one-token word at positions 0 and 2.")
    return ids, lm.run_with_cache(ids)[1]


def question_bank(lm, draft=None, objectives=None) -> dict[str, list]:
    """{objective: [question, ...]} for `objectives` (default: all of OBJECTIVES, in course order), built from `lm`
    (and `draft`, if given, for speculative decoding). Only what the asked objectives need is run. The same model
    always gives the same questions, answers and choice order. A notebook's own quiz asks for its objectives."""
    objectives = list(OBJECTIVES) if objectives is None else [objectives] if isinstance(objectives, str) \
        else list(objectives)
    unknown = [o for o in objectives if o not in OBJECTIVES]
    if unknown or not objectives:
        raise ValueError(f"objectives={unknown or objectives!r}: choose from {', '.join(OBJECTIVES)}.")
    logits, cache = lm.run_with_cache(PROMPT)  # [1, pos, vocab]: shared by five objectives, and small
    builders = {
        "tokenization": lambda: tokenization_questions(lm),
        "embeddings": lambda: embedding_questions(lm, cache, *_repeated_word(lm)),
        "attention": lambda: attention_questions(lm, cache, lm.to_str_tokens(PROMPT)),
        "mlp": lambda: mlp_questions(lm, cache),
        "softmax": lambda: softmax_questions(lm, logits[0, -1]),
        "sampling": lambda: sampling_questions(lm, logits[0, -1]),
        "loop": lambda: loop_questions(lm),
        "speculative": lambda: speculative_questions(lm, draft),
    }
    return {objective: builders[objective]() for objective in OBJECTIVES if objective in objectives}


def course_quiz(lm, draft=None, per_objective: int = 2) -> list:
    """The course-level quiz (a pre-test and post-test): the first `per_objective` questions of every objective."""
    if isinstance(per_objective, bool) or not isinstance(per_objective, int) or per_objective < 1:
        raise ValueError(f"per_objective={per_objective!r} is invalid; ask for 1 or more questions per objective.")
    return [q for questions in question_bank(lm, draft).values() for q in questions[:per_objective]]
