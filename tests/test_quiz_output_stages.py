"""llmviz.quiz.output_stages: every right answer of notebooks 07-12's quizzes against an independent recomputation.

The recomputations use the Hugging Face model directly (plain forwards, argmax loops, forward pre-hooks on GPT-2's
attention output projection), not llmviz's sampling, generation or capture code. 07-09 show SmolLM2 in the
notebooks, so they are also checked on a random Llama (untied weights, grouped-query attention); 10-12 show the tiny
model.
"""

from __future__ import annotations

import pytest
import torch
from conftest import make_random_lm

import llmviz
from llmviz.quiz import OUTPUT_STAGE_QUIZZES, MultipleChoice, notebook_quiz
from llmviz.quiz.output_stages import (
    ABLATED_HEAD,
    ABLATED_LAYER,
    ABLATION_PROMPT,
    DRAFT_TOKENS,
    EMOJI,
    LOGITS_PROMPT,
    LOOP_TOKENS,
    REFERENCE_TEXT,
    SPECULATIVE_PROMPT,
    SPECULATIVE_TOKENS,
    STORY,
)
from llmviz.tokenization import unicode_to_bytes


@pytest.fixture(scope="module")
def draft_lm():
    return llmviz.load("tiny-draft")


@pytest.fixture(params=["tiny", "random-llama"])
def prompt_lm(request, tiny_lm, gpt2_tokenizer):
    """The notebooks 07-09 model: the shipped tiny GPT-2, or a random Llama standing in for SmolLM2."""
    return tiny_lm if request.param == "tiny" else make_random_lm("llama", gpt2_tokenizer)


def answers(questions) -> dict:
    """{id: the right answer}: a choice's text, or a number."""
    return {q.id: q.choices[q.answer] if isinstance(q, MultipleChoice) else q.answer for q in questions}


def hf_logits(lm, ids) -> torch.Tensor:
    """[pos, vocab] from a plain Hugging Face forward."""
    with torch.no_grad():
        return lm.model(input_ids=torch.as_tensor(ids).reshape(1, -1)).logits[0]


def greedy(lm, ids: list[int], n: int) -> list[int]:
    """n greedy tokens after ids, recomputing the whole sequence each step (no cache)."""
    ids = list(ids)
    for _ in range(n):
        ids.append(int(hf_logits(lm, ids)[-1].argmax()))
    return ids[-n:]


def token(lm, i) -> str:
    return lm.to_str_tokens([int(i)])[0]


def test_logits_quiz(prompt_lm):
    got = answers(notebook_quiz(prompt_lm, "07_logits_and_softmax"))
    logits = hf_logits(prompt_lm, prompt_lm.to_tokens(LOGITS_PROMPT)[0])[-1]
    probs = (logits - logits.max()).exp() / (logits - logits.max()).exp().sum()
    first, second = probs.topk(2).indices
    hot = (logits / 2 - logits.max() / 2).exp()
    tied = prompt_lm.model.lm_head.weight.data_ptr() == prompt_lm.model.get_input_embeddings().weight.data_ptr()
    assert got["07-top-token"] == token(prompt_lm, first)
    assert got["07-vocabulary-logits"] == prompt_lm.model.config.vocab_size
    assert got["07-weight-tying"] == ("Yes: the same matrix" if tied else "No: two different matrices")
    assert got["07-temperature-two"] == ("lower" if hot[first] / hot.sum() < probs[first] else "higher")
    gap = next(q for q in notebook_quiz(prompt_lm, "07_logits_and_softmax") if q.id == "07-logit-gap")
    ratio = float((logits[first] - logits[second]).exp())
    assert got["07-logit-gap"] == pytest.approx(ratio, rel=1e-4) and gap.grade(f"{ratio * 1.009:.4f}").correct
    assert gap.grade(gap.expected.split()[0]).correct and not gap.grade(f"{ratio * 1.011:.4f}").correct


def test_sampling_quiz(prompt_lm):
    got = answers(notebook_quiz(prompt_lm, "08_sampling"))
    logits = hf_logits(prompt_lm, prompt_lm.to_tokens(STORY)[0])[-1].double()     # [vocab]
    probs = logits.softmax(-1)
    ordered = probs.sort(descending=True).values
    assert got["08-greedy-token"] == token(prompt_lm, probs.argmax())
    assert got["08-top-p-survivors"] == int((ordered.cumsum(0) < 0.9).sum()) + 1   # the shortest head reaching 0.9
    penalised = logits.clone()
    penalised[probs.argmax()] -= 2 * 0.5 + 0.8          # greedy's token generated twice: frequency × 2 + presence
    assert got["08-penalty-pick"] == token(prompt_lm, penalised.argmax())
    assert got["08-top-k-renormalised"] == pytest.approx(float(ordered[0] / ordered[:5].sum()), abs=0.005)
    assert got["08-same-seed"] == "The same token both times"


def test_loop_quiz(prompt_lm):
    got = answers(notebook_quiz(prompt_lm, "09_autoregressive_loop"))
    n = prompt_lm.to_tokens(STORY).shape[1]
    config = prompt_lm.model.config
    layers, heads = config.num_hidden_layers, config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    width = next(prompt_lm.model.parameters()).element_size()
    tokens = greedy(prompt_lm, prompt_lm.to_tokens(STORY)[0].tolist(), LOOP_TOKENS)
    assert got["09-prompt-positions"] == n
    assert got["09-step-three-work"] == layers * heads * (n + 3)                     # one query, n + 3 keys
    assert got["09-cache-bytes"] == 2 * layers * kv_heads * (config.hidden_size // heads) * (n + 7) * width
    eos = prompt_lm.tokenizer.eos_token_id
    assert got["09-stop-reason"] == ("the end-of-sequence token" if eos in tokens[:-1] else
                                     "the token budget (max_new_tokens)")


def test_speculative_quiz_replays_the_rounds_by_hand(tiny_lm, draft_lm):
    got = answers(notebook_quiz(tiny_lm, "10_speculative_decoding", draft=draft_lm))
    prompt = tiny_lm.to_tokens(SPECULATIVE_PROMPT)[0].tolist()
    target = greedy(tiny_lm, prompt, SPECULATIVE_TOKENS)          # what greedy speculative decoding must produce
    position, accepted_per_round = 0, []
    while position < SPECULATIVE_TOKENS:
        proposed = greedy(draft_lm, prompt + target[:position], DRAFT_TOKENS)
        accepted = next((i for i, (p, t) in enumerate(zip(proposed, target[position:], strict=False)) if p != t),
                        min(DRAFT_TOKENS, SPECULATIVE_TOKENS - position))
        accepted_per_round.append(accepted)
        position += accepted + 1                                   # the accepted ones, then the target's own token
    assert got["10-round-one-accepted"] == accepted_per_round[0]
    assert got["10-target-passes"] == len(accepted_per_round)
    assert tiny_lm.generate(SPECULATIVE_PROMPT, temperature=0, max_new_tokens=SPECULATIVE_TOKENS,
                            capture=None).tokens == target
    assert got["10-same-text"] == "Identical, token for token" and got["10-target-as-draft"] == "100%"



def test_speculative_acceptance_question_is_min_one_p_over_q_from_plain_forwards(tiny_lm, draft_lm):
    questions = {q.id: q for q in notebook_quiz(tiny_lm, "10_speculative_decoding", draft=draft_lm)}
    ids = tiny_lm.to_tokens(SPECULATIVE_PROMPT)[0]
    q = hf_logits(draft_lm, ids)[-1].double().softmax(-1)           # the draft's next-token distribution
    p = hf_logits(tiny_lm, ids)[-1].double().softmax(-1)            # the target's
    d = int(q.argmax())
    question = questions["10-acceptance-probability"]
    assert question.answer == pytest.approx(min(1.0, float(p[d] / q[d])), abs=1e-5)
    assert f"draws {token(tiny_lm, d)}," in question.text and f"q = {float(q[d]):.3f}" in question.text
    assert question.grade(f"{question.answer + 0.009:.4f}").correct and not question.grade(f"{p[d]:.4f}").correct

def test_detokenization_quiz(tiny_lm):
    got = answers(notebook_quiz(tiny_lm, "11_detokenization"))
    ids = tiny_lm.tokenizer.encode(EMOJI)
    first_two = bytes(unicode_to_bytes()[c] for piece in tiny_lm.tokenizer.convert_ids_to_tokens(ids[:2])
                      for c in piece)
    complete = first_two.decode("utf-8", errors="ignore").encode("utf-8")  # the whole characters among them
    assert got["11-emoji-tokens"] == len(ids) == len(EMOJI.encode("utf-8"))
    assert got["11-first-token-alone"] == "�, the replacement character"
    assert got["11-space-marker"] == "a space (byte 0x20)" and unicode_to_bytes()["Ġ"] == 0x20
    assert got["11-bytes-held-back"] == len(first_two) - len(complete) == 2


def ablated_probs(lm, prompt, layer, head, position=None, replacement=None, hidden=False):
    """Next-token probabilities [vocab] with one head's output replaced (zero, or `replacement` [d_head]) before
    GPT-2's attention output projection, whose input is the heads' outputs side by side: [batch, pos, heads·d_head].
    With hidden=True, the hidden states of every layer instead."""
    d_head = lm.model.config.n_embd // lm.model.config.n_head
    columns = slice(head * d_head, (head + 1) * d_head)
    rows = slice(None) if position is None else slice(position, position + 1)

    def replace(module, inputs):
        z = inputs[0].clone()
        z[:, rows, columns] = 0 if replacement is None else replacement
        return (z,)
    handle = lm.model.transformer.h[layer].attn.c_proj.register_forward_pre_hook(replace)
    try:
        with torch.no_grad():
            out = lm.model(input_ids=lm.to_tokens(prompt), output_hidden_states=hidden)
    finally:
        handle.remove()
    return torch.stack(out.hidden_states)[:, 0] if hidden else out.logits[0, -1].softmax(-1)


def test_interventions_quiz_with_hooks_on_the_hugging_face_modules(tiny_lm):
    got = answers(notebook_quiz(tiny_lm, "12_interventions"))
    config = tiny_lm.model.config
    with torch.no_grad():
        clean = tiny_lm.model(input_ids=tiny_lm.to_tokens(ABLATION_PROMPT), output_hidden_states=True)
    answer = int(clean.logits[0, -1].argmax())
    drops = {(layer, head): float(ablated_probs(tiny_lm, ABLATION_PROMPT, layer, head)[answer])
             for layer in range(config.n_layer) for head in range(config.n_head)}
    layer, head = min(drops, key=drops.get)
    assert got["12-most-important-head"] == f"layer {layer}, head {head}"
    position = tiny_lm.to_tokens(ABLATION_PROMPT).shape[1] - 5
    edited = ablated_probs(tiny_lm, ABLATION_PROMPT, ABLATED_LAYER, ABLATED_HEAD, position, hidden=True)
    changed = ((edited - torch.stack(clean.hidden_states)[:, 0]).abs().amax(-1) > 0).any(0)   # [pos]
    assert got["12-cone-columns"] == int(changed.sum()) and not changed[:position].any()
    d_head = config.n_embd // config.n_head
    captured = []
    handle = tiny_lm.model.transformer.h[0].attn.c_proj.register_forward_pre_hook(
        lambda module, inputs: captured.append(inputs[0][0, :, 4 * d_head:5 * d_head].clone()))
    try:
        with torch.no_grad():
            tiny_lm.model(input_ids=tiny_lm.to_tokens(REFERENCE_TEXT))
    finally:
        handle.remove()
    zero = float(ablated_probs(tiny_lm, ABLATION_PROMPT, 0, 4)[answer])
    mean = float(ablated_probs(tiny_lm, ABLATION_PROMPT, 0, 4, replacement=captured[0].mean(0))[answer])
    assert got["12-zero-or-mean"] == ("zeroing it" if zero < mean else "replacing it with its mean")


def test_every_output_stage_notebook_has_three_to_five_questions_with_unique_ids(tiny_lm, draft_lm):
    assert list(OUTPUT_STAGE_QUIZZES) == ["07_logits_and_softmax", "08_sampling", "09_autoregressive_loop",
                                          "10_speculative_decoding", "11_detokenization", "12_interventions"]
    ids = []
    for name in OUTPUT_STAGE_QUIZZES:
        questions = notebook_quiz(tiny_lm, name, **({"draft": draft_lm} if name.startswith("10") else {}))
        assert 3 <= len(questions) <= 5, f"{name} has {len(questions)} questions"
        assert all(q.id.startswith(name[:2] + "-") for q in questions)
        ids += [q.id for q in questions]
    assert len(ids) == len(set(ids))


def test_notebook_quiz_says_what_was_wrong(tiny_lm):
    with pytest.raises(ValueError, match="No quiz for '99_nothing'.*07_logits_and_softmax"):
        notebook_quiz(tiny_lm, "99_nothing")
    with pytest.raises(ValueError, match="needs the draft model"):
        notebook_quiz(tiny_lm, "10_speculative_decoding")


def test_the_quizzes_of_08_and_09_ask_about_the_series_running_example():
    from llmviz.course import RUNNING_PROMPT
    assert STORY == RUNNING_PROMPT
