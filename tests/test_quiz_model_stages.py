"""llmviz.quiz.model_stages: every quiz of notebooks 00 to 06 has 3 to 5 questions, and each right answer equals an
independent recomputation from the model (its Hugging Face forward pass, its config and weights, or the formula),
never the quiz's own capture read back."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import make_random_lm

from llmviz import course
from llmviz.quiz import MODEL_STAGE_QUIZZES, OBJECTIVES
from llmviz.quiz import model_stages as stages


def by_id(questions) -> dict:
    return {q.id: q for q in questions}


def hf_ids(lm, text: str) -> torch.Tensor:
    return torch.tensor([lm.tokenizer(text, add_special_tokens=False)["input_ids"]])  # [1, pos]


def forward(lm, text: str, **kwargs):
    with torch.no_grad():
        return lm.model(hf_ids(lm, text), **kwargs)


@pytest.fixture(scope="module")
def quizzes(tiny_lm):
    return {name: by_id(build(tiny_lm)) for name, build in MODEL_STAGE_QUIZZES.items()}


def test_every_notebook_has_a_quiz_of_three_to_five_questions(quizzes):
    assert list(quizzes) == ["00_tour", "01_tokenization", "02_embeddings", "03_positional_encoding",
                             "04_attention", "05_feed_forward", "06_layer_norm_and_residuals"]
    for name, questions in quizzes.items():
        assert 3 <= len(questions) <= 5, f"{name} has {len(questions)} questions"
        assert all(q.objective in OBJECTIVES and q.explanation for q in questions.values())


def test_the_tour_answers(tiny_lm, quizzes):
    q, lm = quizzes["00_tour"], tiny_lm
    n = hf_ids(lm, stages.TOUR_PROMPT).shape[1]
    top = int(forward(lm, stages.TOUR_PROMPT).logits[0, -1].argmax())
    assert q["tour-prompt-tokens"].answer == n == q["tour-distributions"].answer
    assert q["tour-blocks"].answer == lm.model.config.n_layer
    assert q["tour-top-token"].expected == lm.to_str_tokens([top])[0]


def test_the_tour_quiz_on_a_llama(gpt2_tokenizer):
    lm = make_random_lm("llama", gpt2_tokenizer, num_hidden_layers=3)
    q = by_id(stages.tour_quiz(lm))
    top = int(forward(lm, stages.TOUR_PROMPT).logits[0, -1].argmax())
    assert q["tour-blocks"].answer == 3 and q["tour-top-token"].expected == lm.to_str_tokens([top])[0]


def test_the_tokenization_answers(tiny_lm, quizzes):
    q, tok = quizzes["01_tokenization"], tiny_lm.tokenizer
    assert q["tok-unbelievable"].answer == len(tok.tokenize(" unbelievable"))
    assert q["tok-emoji"].answer == len(tok.tokenize("🐱")) == 4        # the tiny vocabulary has no 🐱 piece
    assert q["tok-vocabulary"].answer == len(tok.get_vocab())
    differ = tok(" cat")["input_ids"] != tok("cat")["input_ids"]
    assert q["tok-space"].expected == ("No, different ids" if differ else "Yes, the same ids")


def test_the_embedding_answers(tiny_lm, quizzes):
    q, lm = quizzes["02_embeddings"], tiny_lm
    W_E = lm.model.transformer.wte.weight.detach()                                 # [d_vocab, d_model]
    cat, dog = (lm.tokenizer(w)["input_ids"][0] for w in (" cat", " dog"))
    cosine = F.cosine_similarity(W_E[cat][None], W_E, dim=-1)                      # [d_vocab]
    cosine[cat] = -1
    assert q["emb-width"].answer == lm.model.config.n_embd
    assert q["emb-nearest-cat"].expected == lm.to_str_tokens([int(cosine.argmax())])[0]
    assert q["emb-cosine-cat-dog"].answer == pytest.approx(float(cosine[dog]), abs=0.005)
    assert stages.EMBEDDING_PROMPT == course.RUNNING_PROMPT                          # notebook 02's prompt
    assert q["emb-repeated-token"].expected == "Yes, exactly the same"            # one row of W_E, looked up 3 times
    assert "holds ␣a at positions 2, 5 and 9." in q["emb-repeated-token"].text   # 'a time', 'a little', 'a big'


def test_the_positional_answers(tiny_lm, quizzes):
    q, lm = quizzes["03_positional_encoding"], tiny_lm
    wpe = lm.model.transformer.wpe.weight.detach()                                 # [n_positions, d_model]
    cosine = F.cosine_similarity(wpe[30][None], wpe, dim=-1)
    cosine[30] = -1
    assert q["pos-table-rows"].answer == wpe.shape[0]
    assert q["pos-nearest-learned"].expected == f"position {int(cosine.argmax())}"
    block_input = forward(lm, stages.POSITION_PROMPT, output_hidden_states=True).hidden_states[0][0]
    tokens = lm.tokenizer.convert_ids_to_tokens(hf_ids(lm, stages.POSITION_PROMPT)[0])
    at = [i for i, t in enumerate(tokens) if t == "Ġa"]                            # GPT-2 writes the space as Ġ
    same = all(torch.equal(block_input[at[0]], block_input[i]) for i in at)
    assert stages.POSITION_PROMPT == course.RUNNING_PROMPT and at == [2, 5, 9] and not same
    assert q["pos-repeated-token"].expected == "No, they differ"
    assert "␣a stands at positions 2, 5 and 9." in q["pos-repeated-token"].text


def test_the_attention_answers(tiny_lm, quizzes):
    q, lm = quizzes["04_attention"], tiny_lm
    n = hf_ids(lm, stages.STORY_PROMPT).shape[1]
    block, d = lm.model.transformer.h[-1], lm.d_head
    x = forward(lm, stages.STORY_PROMPT, output_hidden_states=True).hidden_states[-2][0]  # [pos, d_model] in
    q_all, k_all, _ = block.attn.c_attn(block.ln_1(x)).split(lm.d_model, dim=-1)           # [pos, d_model] each
    scores = q_all[-1, 2 * d:3 * d] @ k_all[:, 2 * d:3 * d].T / d ** 0.5                     # head 2, last query
    last = int(scores.argmax())                                  # the last query may look at every key: no mask
    assert q["att-heads"].answer == lm.model.config.n_head
    assert q["att-mask-zeros"].answer == n * (n - 1) // 2
    assert q["att-last-token"].expected == f"{lm.to_str_tokens(stages.STORY_PROMPT)[last]} (position {last})"
    assert q["att-row-0"].expected == "1 on itself, 0 elsewhere"


def test_the_mlp_answers(tiny_lm, quizzes, story_cache):
    q, lm = quizzes["05_feed_forward"], tiny_lm
    block = lm.model.transformer.h[1]
    mlp, attention = (sum(p.numel() for p in part.parameters()) for part in (block.mlp, block.attn))
    last = lm.model.transformer.h[-1].mlp
    x = lm.model.transformer.h[-1].ln_2(story_cache["resid_mid", lm.n_layers - 1][0])  # [pos, d_model]
    post = F.gelu(x @ last.c_fc.weight + last.c_fc.bias, approximate="tanh")           # [pos, d_mlp], by hand
    assert q["mlp-width"].answer == last.c_fc.weight.shape[1] == 4 * lm.model.config.n_embd
    assert q["mlp-parameter-share"].grade(f"{100 * mlp / (mlp + attention):.1f}").correct
    assert q["mlp-firing-last"].grade(f"{100 * float((post[-1] > 0).float().mean()):.2f}").correct
    assert q["mlp-negative"].expected == ("Yes, it can be negative" if post.min() < 0 else
                                          "No, like ReLU it is 0 or more")


def test_the_layer_norm_answers(tiny_lm, quizzes):
    q, lm = quizzes["06_layer_norm_and_residuals"], tiny_lm
    kept = []  # the last block's output: the raw stream before ln_f, [1, pos, d_model]
    handle = lm.model.transformer.h[-1].register_forward_hook(lambda module, args, output: kept.append(output[0]))
    try:
        out = forward(lm, stages.STORY_PROMPT, output_hidden_states=True)
    finally:
        handle.remove()
    hidden, gpt = out.hidden_states, lm.model.transformer                      # n_layers + 1 of [1, pos, d_model]
    # HF's last hidden state has ln_f applied already; the rows before it are the raw stream
    guesses = [int(lm.model.lm_head(gpt.ln_f(h[0, -1])).argmax()) for h in hidden[:-1]]
    guesses.append(int(out.logits[0, -1].argmax()))
    settled = max(d for d in range(len(guesses)) if guesses[d] != guesses[-1]) + 1 if len(set(guesses)) > 1 else 0
    x = hidden[0][0]
    ln = F.layer_norm(10 * x, (lm.d_model,), gpt.h[0].ln_1.weight, gpt.h[0].ln_1.bias, gpt.h[0].ln_1.eps)
    assert q["ln-lens-settles"].answer == settled
    assert q["ln-count"].answer == sum(isinstance(m, torch.nn.LayerNorm) for m in lm.model.modules())
    assert q["ln-scale"].expected.startswith("the same") == bool((ln - gpt.h[0].ln_1(x)).abs().max() < 0.01)
    first, final = float(x.norm(dim=-1).mean()), float(kept[0][0].norm(dim=-1).mean())
    assert q["ln-stream-grows"].expected == ("larger" if final > 1.1 * first else "smaller" if final < first / 1.1
                                             else "about the same")


def test_notebook_quiz_finds_each_stage_notebook_quiz_and_names_the_known_ones(tiny_lm):
    from llmviz.quiz import NOTEBOOK_QUIZZES, notebook_quiz

    ids = [q.id for q in notebook_quiz(tiny_lm, "04_attention.ipynb")]
    assert ids == [q.id for q in MODEL_STAGE_QUIZZES["04_attention"](tiny_lm)] and 3 <= len(ids) <= 5
    with pytest.raises(ValueError, match="04_attention") as error:
        notebook_quiz(tiny_lm, "99_nothing")
    assert all(name in str(error.value) for name in NOTEBOOK_QUIZZES)
