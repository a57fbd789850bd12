"""Speculative decoding: greedy output identical to the target alone; sampled output follows the target's law."""

import itertools
from collections import Counter
from dataclasses import replace

import pytest
import torch
from conftest import make_random_lm
from scipy.stats import chisquare
from transformers import GPT2Tokenizer

from llmviz.decoding import speculative
from llmviz.decoding.generation import generate
from llmviz.decoding.sampling import SamplingSettings, distribution

PROMPT = "Hello there"


@pytest.fixture
def pair(gpt2_tokenizer):
    """A target and a draft that agrees with it often but not always, so both verify branches run.

    An independent random draft over 50,257 tokens never matches the target's argmax (nothing is ever accepted and
    the bonus token is never given), so the draft is the target with small noise on its blocks' weights. Measured
    on PROMPT, greedy: acceptance 0.64, 0.50, 0.33, 0.31 for k = 1, 2, 3, 5, with some rounds fully accepted.
    """
    target = make_random_lm("gpt2", gpt2_tokenizer, initializer_range=0.3)
    draft = make_random_lm("gpt2", gpt2_tokenizer, initializer_range=0.3)
    noise = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for weight in draft.model.transformer.h.parameters():
            weight.add_(0.01 * torch.randn(weight.shape, generator=noise))
    return target, draft


@pytest.fixture(scope="module")
def letters():
    return GPT2Tokenizer(vocab={c: i for i, c in enumerate("abcdefgh")}, merges=[])


@pytest.fixture(scope="module")
def four_letters():
    """5 token ids (a-d and <|endoftext|>): 125 sequences of three tokens, few enough to enumerate and count."""
    return GPT2Tokenizer(vocab={c: i for i, c in enumerate("abcd")}, merges=[])


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_greedy_identical_to_target_alone(pair, k):
    target, draft = pair
    alone = generate(target, PROMPT, max_new_tokens=17, temperature=0, capture=None)
    for proposer in (draft, target):  # a partial draft (some accepted, some rejected) and a perfect one (all accepted)
        trace = generate(target, PROMPT, max_new_tokens=17, temperature=0, capture=None, draft=proposer,
                         draft_tokens=k)
        assert trace.tokens == alone.tokens and trace.stop_reason == "max_new_tokens"
        if proposer is draft:  # the identity must hold through rejections, replacements and bonus tokens alike
            rounds = [step.speculation for step in trace.steps]
            assert 0 < trace.acceptance_rate < 1
            assert any(r.rejected is not None for r in rounds) and any(r.bonus is not None for r in rounds)
    assert trace.acceptance_rate == 1.0
    assert trace.target_passes == -(-17 // (k + 1))  # k accepted + 1 bonus per target forward


def test_greedy_identical_with_repetition_penalty_and_stop(pair):
    target, draft = pair
    kwargs = dict(max_new_tokens=15, temperature=0, capture=None, repetition_penalty=1.4)
    alone = generate(target, PROMPT, **kwargs)
    assert generate(target, PROMPT, draft=draft, draft_tokens=3, **kwargs).tokens == alone.tokens
    stop = alone.steps[6].text
    alone = generate(target, PROMPT, stop=stop, **kwargs)
    trace = generate(target, PROMPT, stop=stop, draft=target, draft_tokens=4, **kwargs)
    assert trace.tokens == alone.tokens and trace.stop_reason == alone.stop_reason == "stop_string"


def test_round_records(pair):
    target, draft = pair
    trace = generate(target, PROMPT, max_new_tokens=12, temperature=0, capture=None, draft=draft, draft_tokens=3)
    total = 0
    for step in trace.steps:
        r = step.speculation
        assert len(r.proposed) == 3 and r.draft_passes == 3 and r.target_passes == 1
        assert r.accepted == sorted(r.accepted, reverse=True)  # an accepted prefix, then rejections
        if r.rejected is not None:
            assert r.rejected == r.proposed[r.n_accepted] and r.replacement != r.rejected
            assert r.replacement == int(torch.argmax(r.target_records[r.n_accepted].probs))
        else:
            assert r.bonus is not None and r.n_accepted == 3
            assert r.bonus == int(torch.argmax(r.target_records[3].probs))  # the target's choice after d_1..d_3
        assert step.token_ids == r.new_tokens[:len(step.token_ids)]
        total += len(step.token_ids)
    assert total == len(trace.tokens) == 12
    # every kind of round occurred: the first proposal rejected, a partial prefix accepted, all three plus the bonus
    n_accepted = [step.speculation.n_accepted for step in trace.steps]
    assert 0 in n_accepted and any(0 < n < 3 for n in n_accepted) and 3 in n_accepted
    proposed = sum(len(s.speculation.proposed) for s in trace.steps)
    assert trace.acceptance_rate == sum(s.speculation.n_accepted for s in trace.steps) / proposed
    assert trace.target_passes_per_token == len(trace.steps) / 12


def test_verify_rule_gives_the_target_distribution():
    """The acceptance rule alone, many rounds: output token 1 ~ p_1, and token 2 (after acceptance) ~ p_2."""
    vocab, n = 6, 4000
    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(3, vocab, generator=g) * 1.5, -1)  # target p_1..p_3
    q = torch.softmax(torch.randn(2, vocab, generator=g) * 1.5, -1)  # draft q_1..q_2
    settings = SamplingSettings()
    targets = [distribution(p[i].log(), settings) for i in range(3)]
    draft_laws = [distribution(q[i].log(), settings) for i in range(2)]
    first, second = torch.zeros(vocab), torch.zeros(vocab)
    for trial in range(n):
        g = torch.Generator().manual_seed(trial)
        drafts = [replace(law, token_id=int(torch.multinomial(q[i], 1, generator=g)))
                  for i, law in enumerate(draft_laws)]
        accepted, rejected, replacement, bonus = speculative.verify(targets, drafts, False, g)
        out = [d.token_id for d in drafts][:sum(accepted)] + [replacement if rejected is not None else bonus]
        first[out[0]] += 1
        if len(out) > 1:
            second[out[1]] += 1
    for counts, probs in ((first, targets[0].probs), (second, targets[1].probs)):
        expected = probs.double() / probs.double().sum() * counts.sum()
        assert chisquare(counts.double().numpy(), expected.numpy()).pvalue > 1e-3


def test_sampled_first_token_follows_target(letters):
    target = make_random_lm("gpt2", letters, seed=0, initializer_range=0.5)
    draft = make_random_lm("gpt2", letters, seed=7, n_layer=1, initializer_range=0.5)
    prompt = [1, 2, 3]
    with torch.no_grad():
        p = torch.softmax(target.model(torch.tensor([prompt])).logits[0, -1].double(), -1)
    n, counts, accepted = 600, torch.zeros(len(p)), 0
    for seed in range(n):
        trace = generate(target, prompt, max_new_tokens=1, temperature=1.0, seed=seed, capture=None, draft=draft,
                         draft_tokens=2)
        counts[trace.tokens[0]] += 1
        accepted += trace.steps[0].speculation.accepted[0]
    assert 0 < accepted < n  # both branches ran: accepted drafts and rejected ones replaced from the residual
    assert chisquare(counts.double().numpy(), (p * n).numpy()).pvalue > 1e-3


def test_sampled_first_three_tokens_follow_target_joint(four_letters):
    """Whole runs, not just token 1: the law of (t1, t2, t3) is the target's p(t1) p(t2 | t1) p(t3 | t1, t2).

    Two proposals a round and three tokens reach every branch of a run: a rejection replaced from the residual
    (then a second round), a partial prefix, and a fully accepted round whose bonus token is t3.
    """
    target = make_random_lm("gpt2", four_letters, seed=0, initializer_range=0.3)
    draft = make_random_lm("gpt2", four_letters, seed=1, n_layer=1, initializer_range=0.3)
    prompt, temperature, n = [1, 2, 3], 1.3, 600  # this pair accepts about half the proposals at temperature 1.3
    vocab = len(four_letters)
    # the exact joint law from the target's own forwards: one batch holding every (t1, t2) after the prompt; its last
    # three positions give p(t1), p(t2 | t1), p(t3 | t1, t2). The random config's EOS id (50256) is not among
    # these ids, so no run ends early and all 125 sequences have three tokens.
    prefixes = list(itertools.product(range(vocab), repeat=2))
    with torch.no_grad():
        logits = target.model(torch.tensor([prompt + list(ab) for ab in prefixes])).logits  # [25, 5, vocab]
    p = torch.softmax(logits[:, -3:].double() / temperature, -1)  # [25, 3, vocab]
    law = {(a, b, c): float(p[i, 0, a] * p[i, 1, b] * p[i, 2, c]) for i, (a, b) in enumerate(prefixes)
           for c in range(vocab)}
    counts, rounds = Counter(), []
    for seed in range(n):
        trace = generate(target, prompt, max_new_tokens=3, temperature=temperature, seed=seed, capture=None,
                         draft=draft, draft_tokens=2)
        counts[tuple(trace.tokens)] += 1
        rounds += [step.speculation for step in trace.steps]
    n_accepted = [r.n_accepted for r in rounds]
    assert 0 in n_accepted and 1 in n_accepted and 2 in n_accepted  # rejected at once, partial, all + bonus
    assert set(counts) <= set(law)
    # chi-square over the sequences; those expected fewer than 5 times are pooled into one cell, the usual rule
    # for the test's approximation to hold
    common = [s for s in law if law[s] * n >= 5]
    observed = [counts[s] for s in common] + [n - sum(counts[s] for s in common)]
    expected = [law[s] * n for s in common] + [n * (1 - sum(law[s] for s in common))]
    assert chisquare(observed, expected).pvalue > 1e-3


def test_output_stops_exactly_at_max_new_tokens(pair):
    target, draft = pair
    trace = generate(target, PROMPT, max_new_tokens=10, temperature=0.8, seed=2, capture=None, draft=target,
                     draft_tokens=4)
    assert len(trace.tokens) == 10 and trace.stop_reason == "max_new_tokens"


def test_draft_must_share_the_vocabulary(gpt2_tokenizer, letters):
    target = make_random_lm("gpt2", gpt2_tokenizer)
    other = make_random_lm("gpt2", letters)
    with pytest.raises(ValueError, match="tokenizer"):
        generate(target, PROMPT, draft=other, capture=None)
    with pytest.raises(ValueError, match="draft_tokens"):
        generate(target, PROMPT, draft=target, draft_tokens=0, capture=None)


def test_shipped_pair_greedy_identical_and_fewer_passes(tiny_lm):
    import llmviz
    draft = llmviz.load("tiny-draft")
    prompt, k, n = "Once upon a time, there was a little", 4, 40
    # k more tokens than the run keeps: its last round may compare proposals beyond token n
    alone = generate(tiny_lm, prompt, max_new_tokens=n + k, temperature=0, capture=None)
    trace = generate(tiny_lm, prompt, max_new_tokens=n, temperature=0, capture=None, draft=draft, draft_tokens=k)
    assert alone.stop_reason == "max_new_tokens" and trace.tokens == alone.tokens[:n]
    # Replay the rounds without llmviz's speculative code: from each point the target has reached, the draft's own
    # Hugging Face model proposes its k greedy tokens; they are accepted up to the first that differs from the
    # target's greedy output, and the round adds those plus one token for a single target pass.
    position, expected = 0, []
    while position < n:
        guess = []
        with torch.no_grad():
            for _ in range(k):
                context = trace.prompt_ids + alone.tokens[:position] + guess
                guess.append(int(draft.model(torch.tensor([context])).logits[0, -1].argmax()))
        truth = alone.tokens[position:position + k]
        accepted = next((i for i in range(k) if guess[i] != truth[i]), k)
        expected.append(accepted)
        position += accepted + 1
    assert [step.speculation.n_accepted for step in trace.steps] == expected
    assert trace.target_passes_per_token == len(expected) / n
    # Measured on this prompt: 18 target passes for 40 tokens (0.45 a token), 23 of 72 proposals accepted (0.32).
    # (Seven prompts: median 0.35 a token.) A bound close to it: a loop that wastes even two passes fails.
    assert trace.target_passes_per_token < 0.5


def hugging_face_assisted(target, draft, prompt, max_new_tokens):
    """Hugging Face's own speculative decoding (assisted generation), greedy: an independent implementation.

    transformers 5.23-5.39 (pyproject's range) take `assistant_model=`. HF picks its own number of proposals per
    round (a schedule that adapts), but greedy output does not depend on it. Both loops stop at the same EOS: HF at
    generation_config.eos_token_id, llmviz at the ids forward.eos_ids reads from that same field, so the callers
    also check that llmviz ran to max_new_tokens and compare whole outputs (an early EOS on either side would
    make the lengths differ and fail the test).
    """
    ids = torch.tensor([target.to_tokens(prompt)[0].tolist()])  # [1, T]
    with torch.no_grad():
        out = target.model.generate(ids, attention_mask=torch.ones_like(ids), assistant_model=draft.model,
                                    do_sample=False, max_new_tokens=max_new_tokens,
                                    pad_token_id=target.tokenizer.eos_token_id)  # [1, T + new]
    return out[0, ids.shape[1]:].tolist()


@pytest.mark.parametrize("k", [1, 3])
def test_greedy_identical_to_hugging_face_assisted_generation(pair, k):
    target, draft = pair
    trace = generate(target, PROMPT, max_new_tokens=17, temperature=0, capture=None, draft=draft, draft_tokens=k)
    assert trace.stop_reason == "max_new_tokens" and 0 < trace.acceptance_rate < 1
    assert trace.tokens == hugging_face_assisted(target, draft, PROMPT, 17)


def test_shipped_pair_greedy_identical_to_hugging_face_assisted_generation(tiny_lm):
    import llmviz
    draft = llmviz.load("tiny-draft")
    prompt = "Once upon a time, there was a little"
    trace = generate(tiny_lm, prompt, max_new_tokens=40, temperature=0, capture=None, draft=draft, draft_tokens=4)
    assert trace.stop_reason == "max_new_tokens"
    assert trace.tokens == hugging_face_assisted(tiny_lm, draft, prompt, 40)
