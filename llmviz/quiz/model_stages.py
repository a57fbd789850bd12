"""The quizzes at the end of notebooks 00 to 06 (the tour, and the stages from text to the residual stream), built
from a loaded model: every right answer is read from it or computed with it when the quiz is built.

`QUIZZES[notebook](lm)` returns three to five questions (questions.MultipleChoice, questions.Numeric) about the
notebook's own prompt, so a learner can check an answer against the figures above the quiz. Choices come in an
order seeded by the question's id (bank._choice), so the same model gives the same quiz on every machine. Notebooks
03 to 06 read a GPT-2 style model (the tiny one); 00 also runs on SmolLM2. Nothing here draws, and nothing is sent
anywhere; the grading and the export live in questions.py and answers.py.
"""

from __future__ import annotations

import re

import torch

from llmviz.course import RUNNING_PROMPT
from llmviz.quiz.bank import _choice, _pieces, _tokens
from llmviz.quiz.questions import Numeric
from llmviz.stages import embeddings, positional

# The notebooks' prompts, so each quiz asks about what its notebook shows: the course's running example
# (llmviz.RUNNING_PROMPT), which 00 to 06 all follow, on every model.
TOUR_PROMPT = RUNNING_PROMPT       # notebook 00
EMBEDDING_PROMPT = RUNNING_PROMPT  # notebook 02: its ␣a, three times, is one row of W_E three times
POSITION_PROMPT = RUNNING_PROMPT   # notebook 03: the same ␣a at three positions
STORY_PROMPT = RUNNING_PROMPT      # notebooks 04, 05 and 06


def _top_tokens(lm, logits: torch.Tensor, k: int = 4) -> tuple[list[str], torch.Tensor]:
    """logits [vocab] -> (the k most likely tokens, readable, and their probabilities [k])."""
    top = torch.topk(torch.softmax(logits.float(), -1), k)
    return lm.to_str_tokens(top.indices), top.values


def tour_quiz(lm) -> list:
    logits, _ = lm.run_with_cache(TOUR_PROMPT)  # [1, pos, vocab]
    n = logits.shape[1]
    names, probs = _top_tokens(lm, logits[0, -1])
    return [
        Numeric("tour-prompt-tokens", "tokenization", f"How many tokens does '{TOUR_PROMPT}' become?",
                lm.to_tokens(TOUR_PROMPT).shape[1], f"It is cut into {_pieces(lm, TOUR_PROMPT)}."),
        Numeric("tour-blocks", "attention",
                "How many blocks (each one attention, then an MLP) does this model stack between the embeddings "
                "and the next-token probabilities?", lm.n_layers,
                f"{lm.n_layers} blocks; panel 3 of the tour draws the residual stream after each of them."),
        _choice("tour-top-token", "softmax", f"Which token does this model rank first after '{TOUR_PROMPT}'?",
                names, names[0], "Its top four: " + ", ".join(
                    f"{t} {float(p):.1%}" for t, p in zip(names, probs, strict=True))
                + ". Next token ▶ appends the first one: that is greedy decoding."),
        Numeric("tour-distributions", "softmax",
                f"One run over '{TOUR_PROMPT}' gives next-token probabilities at how many positions?", n,
                f"{n}, one per input token: the logits have shape [1, {n}, {lm.d_vocab}]. The model predicts the "
                "token after every position at once; generation reads only the last row."),
    ]


SAME, DIFFER = "Yes, exactly the same", "No, they differ"  # the choices of 02's and 03's repeated-token questions


def _repeated(lm, prompt: str, rows: torch.Tensor) -> tuple[str, list[int], bool]:
    """The first token of `prompt` that occurs more than once, readable, every position it stands at, and whether
    `rows` [pos, d_model] (a capture of that prompt) are exactly equal at those positions."""
    tokens = lm.to_str_tokens(prompt)
    token = next(t for t in tokens if tokens.count(t) > 1)
    at = [i for i, t in enumerate(tokens) if t == token]
    return token, at, all(torch.equal(rows[at[0]], rows[i]) for i in at)


def _positions(positions: list[int]) -> str:
    """[2, 5, 9] -> '2, 5 and 9'."""
    return ", ".join(map(str, positions[:-1])) + f" and {positions[-1]}"


def tokenization_quiz(lm) -> list:
    word, emoji = " unbelievable", "🐱"
    spaced, bare = lm.to_tokens(" cat")[0].tolist(), lm.to_tokens("cat")[0].tolist()
    same, differ = "Yes, the same ids", "No, different ids"
    return [
        Numeric("tok-unbelievable", "tokenization", f"How many tokens does '{word}' (with its space) become?",
                lm.to_tokens(word).shape[1], f"{_pieces(lm, word)}: the merges stop where no adjacent pair of "
                "pieces is on the merge list."),
        _choice("tok-space", "tokenization", "Does 'cat' without a leading space get the same ids as ' cat'?",
                [same, differ], same if spaced == bare else differ,
                f"' cat' is {_tokens(len(spaced))} {spaced} ({_pieces(lm, ' cat')}); 'cat' is "
                f"{_tokens(len(bare))} {bare} ({_pieces(lm, 'cat')}). The space belongs to the token after it."),
        Numeric("tok-emoji", "tokenization", f"How many tokens does this model's tokenizer use for {emoji}?",
                lm.to_tokens(emoji).shape[1],
                f"{emoji} is {len(emoji.encode())} UTF-8 bytes, here {_pieces(lm, emoji)}. A byte-level BPE "
                "spells a character it has no merged piece for byte by byte."),
        Numeric("tok-vocabulary", "tokenization", "How many tokens are in this model's vocabulary?",
                len(lm.tokenizer), f"{len(lm.tokenizer):,}: ids run from 0 to {len(lm.tokenizer) - 1:,}, and "
                "the embedding matrix has one row per id."),
    ]


def embeddings_quiz(lm) -> list:
    _, cache = lm.run_with_cache(EMBEDDING_PROMPT)
    embedded = cache["hook_embed"][0]  # [pos, d_model]
    token, at, alike = _repeated(lm, EMBEDDING_PROMPT, embedded)
    unit = embeddings.unit_rows(embeddings.embedding_matrix(lm))  # [d_vocab, d_model]
    cat, dog = embeddings.word_token_id(lm, "cat"), embeddings.word_token_id(lm, "dog")
    nearest = embeddings.nearest_neighbours(unit, cat, 1)
    top = embeddings.token_strings(lm, nearest.ids)[0]
    others = [w for w in ("␣happy", "␣red", "␣ran", "␣mom", "␣tree") if w != top][:3]
    cosine = float(unit[cat] @ unit[dog])
    return [
        Numeric("emb-width", "embeddings", "How many numbers make up one token's embedding vector (d_model)?",
                embedded.shape[-1], f"`hook_embed` is [batch, pos, {embedded.shape[-1]}]: one row of the "
                f"[{lm.d_vocab} × {lm.d_model}] matrix W_E per token."),
        _choice("emb-repeated-token", "embeddings",
                f"'{EMBEDDING_PROMPT}' holds {token} at positions {_positions(at)}. Are their rows of "
                "`hook_embed` the same?", [SAME, DIFFER], SAME if alike else DIFFER,
                ("The same" if alike else "They differ")
                + f": `hook_embed` is row {token} of W_E at each of them. The embedding knows nothing about position "
                "or context yet."),
        _choice("emb-nearest-cat", "embeddings", "Over the whole vocabulary, which token's row is closest "
                "(highest cosine similarity) to ␣cat's?", [top, *others], top,
                f"{top}, at cosine {float(nearest.similarities[0]):.3f}. Tokens used in similar places in the "
                "training text get rows pointing in similar directions."),
        Numeric("emb-cosine-cat-dog", "embeddings",
                "What is the cosine similarity of the rows of ␣cat and ␣dog? (two decimals)", round(cosine, 2),
                f"{cosine:.3f} = a·b / (|a| |b|): 1 would be the same direction, 0 unrelated.", tolerance=0.01),
    ]


def positional_quiz(lm) -> list:
    _, cache = lm.run_with_cache(POSITION_PROMPT)
    block_input = cache["blocks.0.hook_resid_pre"][0]  # [pos, d_model]
    token, at, alike = _repeated(lm, POSITION_PROMPT, block_input)
    n_positions = lm.model.config.max_position_embeddings
    similarity = positional.learned(lm).similarity[30].clone()  # [n_positions]: position 30 against every row
    similarity[30] = -2.0  # a position is not its own neighbour
    nearest = similarity.topk(2).indices.tolist()
    choices = list(dict.fromkeys([29, 31, *nearest]))
    return [
        Numeric("pos-table-rows", "embeddings", "How many positions does this model have a vector for (the "
                "longest input it can read)?", n_positions,
                f"{n_positions}: the position table wpe has shape [{n_positions}, {lm.d_model}], one learned row "
                "per position."),
        _choice("pos-repeated-token", "embeddings",
                f"In '{POSITION_PROMPT}', {token} stands at positions {_positions(at)}. Is the vector block 0 "
                "receives the same at all of them?", [SAME, DIFFER], SAME if alike else DIFFER,
                f"{'The same' if alike else 'They differ'}: the token vectors are identical, and rows "
                f"{_positions(at)} of wpe are added to them."),
        _choice("pos-nearest-learned", "embeddings", "In this model's learned position table, which position's "
                "vector is most like position 30's (highest cosine similarity)?",
                [f"position {p}" for p in choices], f"position {nearest[0]}",
                f"Position {nearest[0]} ({float(similarity[nearest[0]]):.3f}), then {nearest[1]} "
                f"({float(similarity[nearest[1]]):.3f}); 29 has {float(similarity[29]):.3f}. Sinusoidal vectors "
                "are most like their neighbours; learned ones have whatever structure training gave them."),
    ]


def attention_quiz(lm) -> list:
    _, cache = lm.run_with_cache(STORY_PROMPT)
    tokens = lm.to_str_tokens(STORY_PROMPT)
    n = len(tokens)
    patterns = cache.stack("pattern")[:, 0]  # [layer, head, query_pos, key_pos]
    zeros = int((patterns[0, 0] == 0).sum())
    self_only = bool((patterns[:, :, 0, 0] == 1).all() and (patterns[:, :, 0, 1:] == 0).all())
    row0 = ["1 on itself, 0 elsewhere", "spread evenly over the prompt", "different in every head"]
    layer, head = lm.n_layers - 1, min(2, lm.n_heads - 1)
    weights = patterns[layer, head, -1]  # [key_pos]
    labels = [f"{t} (position {i})" for i, t in enumerate(tokens)]
    shortlist = [labels[int(i)] for i in weights.topk(min(4, n)).indices]  # the four keys it weighs most
    return [
        Numeric("att-heads", "attention", "How many attention heads does each layer of this model have?",
                patterns.shape[1], f"`hook_pattern` is [batch, head, query_pos, key_pos] = "
                f"{list(cache['pattern', 0].shape)}."),
        Numeric("att-mask-zeros", "attention",
                f"The prompt has {n} tokens. How many cells of one head's {n} × {n} pattern are exactly 0?", zeros,
                f"{zeros} = {n}·{n - 1}/2: every cell above the diagonal, where a query would look at a later "
                "token; the causal mask sets their scores to −∞ and softmax turns −∞ into 0."),
        _choice("att-row-0", "attention", "What is row 0 (where the first token looks) of every head's pattern?",
                row0, row0[0] if self_only else row0[2],
                "1 on itself, 0 elsewhere, in all heads: the first token has nothing earlier to look at, and a "
                "softmax over one finite score is 1." if self_only else "It differs between heads."),
        _choice("att-last-token", "attention",
                f"In layer {layer}, head {head}, which token does the last token ({tokens[-1]}) attend to most?",
                shortlist, shortlist[0], "Its weights: " + ", ".join(
                    f"{t} {float(w):.0%}" for t, w in zip(tokens, weights, strict=True))
                + ". Move Layer and Head in the explorer to read any head's row."),
    ]


def _block_parameters(lm, block: int, parts: tuple[str, ...]) -> int:
    """Parameters of block `block`'s sub-modules named `parts` (GPT-2's h.1.mlp, Llama's layers.1.mlp, ...)."""
    pattern = re.compile(rf"\.{block}\.({'|'.join(parts)})\.")
    return sum(p.numel() for name, p in lm.model.named_parameters() if pattern.search(name))


def mlp_quiz(lm) -> list:
    _, cache = lm.run_with_cache(STORY_PROMPT)
    d_mlp = cache["blocks.0.mlp.hook_post"].shape[-1]
    mlp, attention = _block_parameters(lm, 1, ("mlp",)), _block_parameters(lm, 1, ("attn", "self_attn"))
    share = 100 * mlp / (mlp + attention)
    last = lm.n_layers - 1
    post = cache[f"blocks.{last}.mlp.hook_post"][0]  # [pos, d_mlp]
    firing = 100 * float((post[-1] > 0).float().mean())
    lowest = min(float(cache[f"blocks.{L}.mlp.hook_post"].min()) for L in range(lm.n_layers))
    can, cannot = "Yes, it can be negative", "No, like ReLU it is 0 or more"
    return [
        Numeric("mlp-width", "mlp", "How many neurons does one MLP layer of this model have (d_mlp)?", d_mlp,
                f"{d_mlp} = {d_mlp / lm.d_model:.3g} × d_model ({lm.d_model}): expand, activate, project back."),
        Numeric("mlp-parameter-share", "mlp", "What percentage of block 1's attention and MLP parameters are in "
                "its MLP? (whole percent)", round(share), f"{share:.1f}%: {mlp:,} in the MLP against "
                f"{attention:,} in attention.", tolerance=1, unit="%"),
        _choice("mlp-negative", "mlp", "After the MLP's activation function, can a neuron's output be negative?",
                [cannot, can], can if lowest < 0 else cannot,
                f"The smallest activation on the prompt is {lowest:.3f}: GELU dips below 0 for small negative "
                "inputs (to about −0.17); only ReLU is never negative."),
        Numeric("mlp-firing-last", "mlp", f"In the last layer ({last}), what percentage of the last token's "
                "neurons are above 0? (whole percent)", round(firing),
                f"{firing:.1f}% of {d_mlp}: a neuron fires only on what it detects, so most are off for any one "
                "token.", tolerance=1, unit="%"),
    ]


def _first_norm(lm) -> torch.nn.Module:
    """Block 0's first norm (GPT-2's ln_1, Llama's input_layernorm): the first norm module the model registers."""
    return next(m for m in lm.model.modules() if "Norm" in type(m).__name__)


def layer_norm_quiz(lm) -> list:
    logits, cache = lm.run_with_cache(STORY_PROMPT)
    norms = sum("Norm" in type(m).__name__ for m in lm.model.modules())
    x = cache["blocks.0.hook_resid_pre"][0]  # [pos, d_model]
    with torch.no_grad():
        change = float((_first_norm(lm)(10 * x) - _first_norm(lm)(x)).abs().max())
    scaled = ["the same as before (almost exactly)", "10 times larger", "10 times smaller"]
    stream = [x] + [cache[f"blocks.{L}.hook_resid_post"][0] for L in range(lm.n_layers)]
    first, final = (float(r.norm(dim=-1).mean()) for r in (stream[0], stream[-1]))
    grows = "larger" if final > 1.1 * first else "smaller" if final < first / 1.1 else "about the same"
    guesses = lm.logit_lens(cache, top_k=1).top_ids[:, -1, 0]  # [depth]: embed, after block 0, ...
    answer = int(logits[0, -1].argmax())
    settled = next(d for d in range(len(guesses)) if (guesses[d:] == answer).all())
    return [
        Numeric("ln-count", "mlp", "How many normalisation layers does this model have in all?", norms,
                f"{norms} = 2 per block × {lm.n_layers} blocks (one before attention, one before the MLP) + the "
                "final norm before the unembedding."),
        _choice("ln-scale", "mlp", "Multiply the residual vectors entering block 0 by 10. What does its first "
                "layer norm output then?", scaled, scaled[0] if change < 0.01 else scaled[1],
                f"The largest change is {change:.4f}: the norm divides by the vector's own spread, so scaling the "
                "input cancels out (ε makes it not quite exact)."),
        _choice("ln-stream-grows", "mlp", "Averaged over tokens, is the residual stream's norm after the last "
                "block larger or smaller than at the embedding?", ["larger", "smaller", "about the same"], grows,
                f"{final:.1f} after the last block against {first:.2f} at the embedding: every block adds to the "
                "stream, and the norms keep what each block reads at a fixed scale."),
        Numeric("ln-lens-settles", "mlp", "In the logit lens (row 0 = the embedding, row k = after block k − 1), "
                "from which row on is the last token's top guess the model's final answer?", settled,
                f"From row {settled} on, the top guess is {lm.to_str_tokens([answer])[0]}; the rows before guess "
                f"{', '.join(lm.to_str_tokens(guesses[:settled]))}."),
    ]


# notebook name -> quiz builder (lm) -> [question, ...]; llmviz.quiz looks notebooks up here.
QUIZZES = {
    "00_tour": tour_quiz,
    "01_tokenization": tokenization_quiz,
    "02_embeddings": embeddings_quiz,
    "03_positional_encoding": positional_quiz,
    "04_attention": attention_quiz,
    "05_feed_forward": mlp_quiz,
    "06_layer_norm_and_residuals": layer_norm_quiz,
}
