"""llmviz.quiz: grading, the question bank's answers against an independent recomputation from the shipped model,
and the answer export (JSON, CSV, file names) with hostile learner names."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime, timezone

import pytest
import torch

import llmviz
from llmviz.quiz import OBJECTIVES, AnswerSheet, MultipleChoice, Numeric, course_quiz, parse_number, question_bank
from llmviz.quiz.answers import clean_name, file_stem
from llmviz.quiz.bank import DRAFT_TOKENS, PROMPT, SPECULATIVE_PROMPT


# ---- grading ------------------------------------------------------------------------------------------------------
def mc():
    return MultipleChoice("q", "softmax", "Which?", ("a", "b", "c"), 1, "because b")


def test_multiple_choice_grades_by_index_and_by_text():
    assert mc().grade(1).correct and mc().grade("b").correct
    wrong = mc().grade(2)
    assert not wrong.correct and wrong.response == "c" and wrong.expected == "b" and wrong.explanation == "because b"


@pytest.mark.parametrize("bad, message", [(None, "No answer chosen"), ("", "No answer chosen"), (3, "not a choice"),
                                          (True, "not a choice"), ("d", "not one of the choices")])
def test_multiple_choice_refuses_missing_or_unknown_answers(bad, message):
    with pytest.raises(ValueError, match=message):
        mc().grade(bad)


def test_numeric_tolerance_is_inclusive_and_no_wider():
    q = Numeric("n", "softmax", "How many?", 1.27, "e^x", tolerance=0.02)
    assert q.grade("1.29").correct and q.grade(1.25).correct and q.grade(" 1.27 ").correct
    assert not q.grade("1.30").correct and not q.grade("1.24").correct
    exact = Numeric("e", "loop", "Bytes?", 89600, "formula", unit="bytes")
    assert exact.grade("89,600").correct and exact.grade("89600").correct and not exact.grade("89601").correct
    assert exact.expected == "89,600 bytes" and q.expected == "1.27 (± 0.02)"


@pytest.mark.parametrize("typed, value", [("12", 12.0), ("-0.5", -0.5), ("2,048", 2048.0), ("1 000 000", 1e6),
                                          ("3.4e2", 340.0), (7, 7.0)])
def test_parse_number_reads_what_learners_type(typed, value):
    assert parse_number(typed) == value


@pytest.mark.parametrize("typed, message", [("", "No answer typed"), ("abc", "not a number"),
                                            ("3,5", "not a number"), ("nan", "not a finite number"),
                                            ("inf", "not a finite number"), (True, "not True or False")])
def test_parse_number_says_what_to_type(typed, message):
    with pytest.raises(ValueError, match=message):
        parse_number(typed)


def test_questions_refuse_to_be_built_wrong():
    with pytest.raises(ValueError, match="objective"):
        MultipleChoice("q", "poetry", "Which?", ("a", "b"), 0, "x")
    with pytest.raises(ValueError, match="not an index"):
        MultipleChoice("q", "mlp", "Which?", ("a", "b"), 2, "x")
    with pytest.raises(ValueError, match="two different choices"):
        MultipleChoice("q", "mlp", "Which?", ("a", "a"), 0, "x")
    with pytest.raises(ValueError, match="tolerance"):
        Numeric("n", "mlp", "How many?", 1.0, "x", tolerance=-1)


# ---- the bank against an independent recomputation ------------------------------------------------------------------
@pytest.fixture(scope="module")
def models():
    return llmviz.load("tiny"), llmviz.load("tiny-draft")


@pytest.fixture(scope="module")
def bank(models):
    lm, draft = models
    return {q.id: q for questions in question_bank(lm, draft).values() for q in questions}


def count(lm, text):
    return len(lm.tokenizer(text, add_special_tokens=False)["input_ids"])


def hf_logits(lm, text):
    ids = torch.tensor([lm.tokenizer(text, add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        return lm.model(input_ids=ids).logits[0, -1]  # [vocab], a plain HF forward: no llmviz capture involved


def test_every_objective_has_questions_and_the_quiz_is_the_same_each_time(models, bank):
    lm, draft = models
    again = question_bank(lm, draft)
    assert list(again) == list(OBJECTIVES) and all(len(qs) >= 2 for qs in again.values())
    assert [q for qs in again.values() for q in qs] == list(bank.values())  # same texts, answers, choice order
    assert len(course_quiz(lm, draft)) == 2 * len(OBJECTIVES)
    assert {q.objective for q in course_quiz(lm, draft, per_objective=1)} == set(OBJECTIVES)
    assert list(question_bank(lm, objectives="sampling")) == ["sampling"]
    with pytest.raises(ValueError, match="choose from"):
        question_bank(lm, objectives=["poetry"])


def test_tokenization_answers_come_from_the_tokenizer(models, bank):
    lm, _ = models
    assert bank["tokens-in-a-word"].answer == count(lm, "unbelievable")
    english, german = count(lm, " butterfly"), count(lm, " Schmetterling")
    assert german > english  # the fact the question teaches, on this tokenizer
    assert bank["tokens-across-languages"].expected == "'Schmetterling' takes more"


def test_embedding_answers_come_from_the_weights(models, bank):
    lm, _ = models
    wte, wpe = lm.model.transformer.wte.weight, lm.model.transformer.wpe.weight  # [vocab, d], [n_ctx, d]
    assert bank["embedding-width"].answer == wte.shape[1]
    dog = lm.tokenizer(" dog", add_special_tokens=False)["input_ids"][0]
    same = torch.allclose(wte[dog] + wpe[0], wte[dog] + wpe[2])
    assert bank["same-token-two-positions"].expected == ("Yes, exactly the same" if same else "No, they differ")


def test_attention_answers_match_a_hand_recomputed_pattern(models, bank):
    lm, _ = models
    n = count(lm, PROMPT)
    assert bank["causal-mask-zeros"].answer == n * (n - 1) // 2
    assert bank["heads-per-layer"].answer == lm.model.config.n_head
    q = bank["most-attended-token"]
    layer, head = (int(w) for w in q.text.split("In layer ")[1].split(", which")[0].split(", head "))
    _, cache = lm.run_with_cache(PROMPT)
    qh, kh = cache["q", layer][0, :, head], cache["k", layer][0, :, head]  # [pos, d_head] each
    scores = qh @ kh.T / math.sqrt(qh.shape[-1])
    scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), -math.inf)
    top = int(scores.softmax(-1)[-1].argmax())
    assert q.expected == f"{lm.to_str_tokens(PROMPT)[top]} (position {top})"


def test_a_rope_model_reads_the_same_vector_at_both_positions(random_llama_lm):
    """Llama adds no position vector: block 0 reads the token's embedding row alone, so the answer flips to yes."""
    lm = random_llama_lm
    [question] = [q for q in question_bank(lm, objectives="embeddings")["embeddings"]
                  if q.id == "same-token-two-positions"]
    assert not [n for n, _ in lm.model.named_parameters() if "position" in n or "wpe" in n]  # no position vectors
    assert question.expected == "Yes, exactly the same" and "RoPE" in question.explanation


def test_mlp_answers_come_from_the_weights(models, bank):
    lm, _ = models
    assert bank["mlp-width"].answer == lm.model.transformer.h[0].mlp.c_fc.weight.shape[1]  # Conv1D: (in, out)
    x = torch.linspace(-3, 0, 301)
    negative = bool((torch.nn.functional.gelu(x, approximate="tanh") < 0).any())  # GPT-2's gelu_new
    assert bank["activation-sign"].expected.startswith("Yes") == negative


def test_softmax_answers_match_a_plain_forward(models, bank):
    lm, _ = models
    logits = hf_logits(lm, PROMPT)
    probs = torch.softmax(logits, -1)
    top = lm.to_str_tokens([int(probs.argmax())])[0]
    assert bank["top-token"].expected == top
    hotter = torch.softmax(logits / 0.5, -1).max() > probs.max()
    assert bank["temperature-half"].expected == ("higher" if hotter else "lower")
    best, second = torch.topk(logits, 2).values
    assert bank["logit-gap"].answer == pytest.approx(math.exp(float(best - second)), abs=0.006)


def test_sampling_answers_match_an_independent_filter_and_draw(models, bank):
    lm, _ = models
    probs = torch.softmax(hf_logits(lm, PROMPT), -1)
    mass = probs.sort(descending=True).values.cumsum(-1)
    assert bank["top-p-survivors"].answer == int((mass < 0.9).sum()) + 1  # the smallest top set with mass >= 0.9
    draws = [int(torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(0))) for _ in range(2)]
    assert bank["same-seed"].expected == ("The same token both times" if draws[0] == draws[1] else
                                          "Usually a different token")
    assert f"gave {lm.to_str_tokens([draws[0]])[0]};" in bank["same-seed"].explanation


def test_loop_answers_match_hf_generate_and_the_cache_formula(models, bank):
    lm, _ = models
    ids = torch.tensor([lm.tokenizer(PROMPT, add_special_tokens=False)["input_ids"]])
    runs = [lm.model.generate(ids, max_new_tokens=8, do_sample=False, use_cache=cache, pad_token_id=0)
            for cache in (True, False)]
    assert bank["cache-same-text"].expected.startswith("No") == torch.equal(*runs)
    config = lm.model.config
    positions = ids.shape[1] + 5
    assert bank["cache-bytes"].answer == 2 * config.n_layer * config.n_embd * positions * 4  # heads × d_head = d
    assert f"at {positions} positions" in bank["cache-bytes"].text
    assert bank["positions-fed"].answer == 1


def test_speculative_answers_match_the_target_alone_and_a_geometric_sum(models, bank):
    lm, draft = models
    spec = lm.generate(SPECULATIVE_PROMPT, draft=draft, draft_tokens=DRAFT_TOKENS, temperature=0, max_new_tokens=24,
                       capture=None)
    rounds = [s.speculation for s in spec.steps]
    alpha = round(sum(r.n_accepted for r in rounds) / sum(len(r.proposed) for r in rounds), 2)
    assert f"α = {alpha:g}" in bank["tokens-per-round"].text
    assert bank["tokens-per-round"].answer == pytest.approx(sum(alpha ** i for i in range(DRAFT_TOKENS + 1)),
                                                            abs=0.006)
    ids = torch.tensor([lm.tokenizer(SPECULATIVE_PROMPT, add_special_tokens=False)["input_ids"]])
    alone = lm.model.generate(ids, max_new_tokens=24, do_sample=False, pad_token_id=0)[0, ids.shape[1]:].tolist()
    assert bank["speculative-same-text"].expected == ("Identical, token for token" if spec.tokens == alone
                                                      else "Different")
    no_draft = question_bank(lm, objectives="speculative")["speculative"]
    assert [q.id for q in no_draft] == ["tokens-per-round"] and no_draft[0].answer == pytest.approx(3.36, abs=0.001)


# ---- the export -------------------------------------------------------------------------------------------------
HOSTILE = 'Ann,"<script>alert(1)</script>\n=cmd'
NOW = datetime(2026, 11, 30, 9, 5, 0, tzinfo=timezone.utc)


def sheet(learner=HOSTILE):
    answers = AnswerSheet("Course quiz", "tiny", ("q", "n"), {"q": "softmax", "n": "loop"}, learner=learner)
    answers.record(mc().grade("c"))
    answers.record(mc().grade("b"))  # a second answer to the same question does not replace the first
    return answers


def test_json_export_parses_and_keeps_the_first_answer():
    data = json.loads(sheet().to_json("2026-11-30T09:05:00+00:00"))
    assert data["score"] == {"right": 0, "answered": 1, "questions": 2}
    assert data["learner"] == 'Ann,"<script>alert(1)</script> =cmd'  # the line break is gone, the rest is data
    first, second = data["answers"]
    assert (first["question"], first["response"], first["correct"], first["expected"]) == ("q", "c", "no", "b")
    assert (second["question"], second["response"], second["correct"]) == ("n", "", "")


def test_csv_export_keeps_a_hostile_name_in_one_cell():
    rows = list(csv.reader(io.StringIO(sheet().to_csv("t"))))
    assert rows[0][0] == "learner" and len(rows) == 3 and all(len(row) == 9 for row in rows)
    assert rows[1][0] == 'Ann,"<script>alert(1)</script> =cmd'
    formula = list(csv.reader(io.StringIO(sheet("=HYPERLINK(1)").to_csv("t"))))
    assert formula[1][0] == "'=HYPERLINK(1)"  # a spreadsheet shows it instead of running it


def test_write_names_files_safely_and_never_overwrites(tmp_path):
    first = sheet("../../etc/passwd").write(tmp_path, "csv", now=NOW)
    second = sheet("../../etc/passwd").write(tmp_path, "csv", now=NOW)
    assert first.parent == second.parent == tmp_path and first != second
    assert first.name == "quiz-answers-etc-passwd-20261130-090500.csv" and second.name.endswith("-2.csv")
    assert json.loads(sheet("").write(tmp_path, "json", now=NOW).read_text())["learner"] == ""
    assert file_stem("") == file_stem("   ") == "anonymous" and clean_name("a\u2028b\x00c") == "a b c"
    with pytest.raises(ValueError, match="format"):
        sheet().write(tmp_path, "xlsx")
    with pytest.raises(ValueError, match="does not exist"):
        sheet().write(tmp_path / "missing")
    with pytest.raises(ValueError, match="not a question"):
        sheet().record(Numeric("other", "mlp", "?", 1, "x").grade(1))
