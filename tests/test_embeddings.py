"""Tests for llmviz.stages.embeddings: the lookup equals the captured hook_embed, cosine similarity and neighbours agree
with a brute-force recomputation, the frequency count agrees with counting by hand, and PCA agrees with the
covariance matrix's eigenvectors. Bad input raises clear errors."""

from collections import Counter

import pytest
import torch

from llmviz.stages import embeddings


def test_lookup_is_the_captured_hook_embed(random_gpt2_lm, random_llama_lm):
    for lm in (random_gpt2_lm, random_llama_lm):
        _, cache = lm.run_with_cache("The cat sat on the mat.")
        ids = lm.to_tokens("The cat sat on the mat.")[0]
        assert torch.equal(embeddings.embedding_matrix(lm)[ids], cache["hook_embed"][0])


def test_word_token_id_adds_a_space_and_rejects_several_tokens(random_gpt2_lm):
    lm = random_gpt2_lm
    assert embeddings.word_token_id(lm, "cat") == lm.tokenizer(" cat")["input_ids"][0]
    assert embeddings.word_token_id(lm, "cat", leading_space=False) == lm.tokenizer("cat")["input_ids"][0]
    with pytest.raises(ValueError, match="splits into .* tokens"):
        embeddings.word_token_id(lm, "xylophonezz")
    with pytest.raises(ValueError, match="empty"):
        embeddings.word_token_id(lm, "  ")
    with pytest.raises(TypeError, match="word"):
        embeddings.word_token_id(lm, 3)


def test_token_strings_have_no_context_limit(random_gpt2_lm):
    lm = random_gpt2_lm  # n_positions is 64: to_str_tokens would refuse 100 ids
    ids = torch.arange(100)
    assert embeddings.token_strings(lm, ids)[:5] == lm.to_str_tokens(ids[:5])
    assert len(embeddings.token_strings(lm, ids)) == 100


def test_cosine_similarity_matches_the_formula():
    torch.manual_seed(0)
    x = torch.randn(6, 10)
    sim = embeddings.cosine_similarity(x)
    expected = torch.tensor([[float(a @ b / (a.norm() * b.norm())) for b in x] for a in x])
    torch.testing.assert_close(sim, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.diagonal(sim), torch.ones(6), atol=1e-6, rtol=0)


def test_nearest_neighbours_match_brute_force_and_exclude_the_token():
    torch.manual_seed(1)
    x = torch.randn(200, 16)
    unit = embeddings.unit_rows(x)
    near = embeddings.nearest_neighbours(unit, 7, 5)
    scores = [(float(torch.nn.functional.cosine_similarity(x[7], x[j], dim=0)), j) for j in range(200) if j != 7]
    best = sorted(scores, reverse=True)[:5]
    assert near.ids.tolist() == [j for _, j in best] and near.token_id == 7
    torch.testing.assert_close(near.similarities, torch.tensor([s for s, _ in best]), atol=1e-5, rtol=0)
    for position, j in enumerate(near.ids.tolist()):
        assert embeddings.rank_among_neighbours(unit, 7, j) == (position + 1, pytest.approx(best[position][0],
                                                                                             abs=1e-5))


def test_ties_and_bad_arguments():
    unit = embeddings.unit_rows(torch.tensor([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 1.0]]))
    assert embeddings.nearest_neighbours(unit, 0, 3).ids.tolist() == [1, 2, 3]  # equal rows: lower id first
    assert embeddings.rank_among_neighbours(unit, 0, 2)[0] == 2
    with pytest.raises(ValueError, match="k"):
        embeddings.nearest_neighbours(unit, 0, 4)
    with pytest.raises(ValueError, match="token_id"):
        embeddings.nearest_neighbours(unit, 9, 1)
    with pytest.raises(ValueError, match="itself"):
        embeddings.rank_among_neighbours(unit, 1, 1)
    with pytest.raises(ValueError, match="matrix"):
        embeddings.unit_rows(torch.zeros(3))


def test_common_token_ids_count_like_a_counter(random_gpt2_lm):
    lm = random_gpt2_lm
    texts = ["the cat and the dog", "the cat ran", "a bird"]
    counts = Counter(i for t in texts for i in lm.tokenizer(t)["input_ids"])
    expected = [i for i, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    assert embeddings.common_token_ids(lm, texts, 3).tolist() == expected[:3]
    assert embeddings.common_token_ids(lm, texts, 100).tolist() == expected  # fewer than asked for
    with pytest.raises(ValueError, match="n"):
        embeddings.common_token_ids(lm, texts, 0)
    with pytest.raises(ValueError, match="no tokens"):
        embeddings.common_token_ids(lm, [""], 5)


def test_pca_matches_the_covariance_eigenvectors():
    torch.manual_seed(2)
    x = torch.randn(300, 3) @ torch.tensor([[3.0, 0, 0], [0, 1.0, 0], [0, 0, 0.2]]) + torch.tensor([5.0, -1, 2])
    x = torch.cat([x, torch.randn(300, 5) * 0.01], dim=1)  # [300, 8]
    p = embeddings.pca(x)
    centred = (x - x.mean(0)).double()
    values, vectors = torch.linalg.eigh(centred.T @ centred)  # ascending
    top = vectors[:, [-1, -2]].T.float()  # [2, d], strongest first
    # Same directions up to sign; the explained share is eigenvalue / trace.
    torch.testing.assert_close((p.components @ top.T).abs(), torch.eye(2), atol=1e-4, rtol=0)
    torch.testing.assert_close(p.explained, (values[[-1, -2]] / values.sum()).float(), atol=1e-5, rtol=0)
    torch.testing.assert_close(p.points, (x - x.mean(0)) @ p.components.T, atol=1e-4, rtol=0)
    torch.testing.assert_close(p.project(x[:4]), p.points[:4], atol=1e-5, rtol=0)
    assert (p.components.gather(1, p.components.abs().argmax(1, keepdim=True)) > 0).all()  # fixed sign
    with pytest.raises(ValueError, match="n_components"):
        embeddings.pca(x, n_components=0)
    with pytest.raises(ValueError, match="rows"):
        embeddings.pca(x[:1])
