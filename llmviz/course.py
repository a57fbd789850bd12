"""The course as data: one record per notebook, the single source of the "where am I" frame every notebook opens with.

Each `Stage` names its notebook file, its title, the short label drawn in the pipeline diagram, what it turns into
what, the captures (or pseudo-tensors such as `ids`) whose shapes the frame lists for the running prompt, which
model it shows, a time estimate and three learning objectives. The pipeline diagram (`llmviz.viz.pipeline`, SVG, and
`llmviz.viz.pipeline_figure`, matplotlib), the frame's shape line (`llmviz.viz.widgets.frame`) and the markdown
header at the top of each notebook (`frame_markdown`) are all drawn from `STAGES`, so they cannot drift apart; the
tests check that every notebook's header equals `frame_markdown` and that the model named here is the one the
notebook loads. This module only describes: it imports nothing from llmviz, runs no model and draws nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

GLOSSARY = "../docs/glossary.md"  # relative to notebooks/, where the headers link it

# The running example: one sentence the learner follows from notebook to notebook wherever the stage allows (a
# tokenizer's pieces, its vectors, its attention, its next token, its continuation, its text again). A story opening,
# because the tiny model was trained on stories and SmolLM2 continues it too; open-ended, so the next token is a real
# choice (both models spread it over several words). Notebooks that need a second prompt (a sure one to contrast,
# a pair to patch) add it beside this one.
RUNNING_PROMPT = "Once upon a time, a little cat saw a big dog"
# The stage notebooks that do not follow it, and why (tests/test_course.py checks every other one runs it).
OWN_PROMPTS = {
    "12_interventions": "an edit is measured on a prompt with one sure answer (a name to copy, a capital to patch) "
                        "and patching needs two prompts that differ in one fact; the running example's next token "
                        "is an open choice",
}

# What the frame calls the model a notebook shows. "smollm2" notebooks use llmviz.model_choice.prompt_model:
# SmolLM2 when it is set up and memory allows, else the tiny model with a one-line notice.
MODEL_LINES = {
    "tiny": "the tiny story model shipped with llmviz (GPT-2 architecture)",
    "smollm2": "SmolLM2-135M-Instruct (a 30-layer Llama) when it is set up, else the tiny story model",
}
MODEL_NAMES = {"tiny": "the tiny model", "smollm2": "SmolLM2-135M (when it is set up)"}

# Shapes of the pseudo-tensors that are not captures, in names.py's dimension words ('pos' is T, the number of
# tokens of the running prompt; 'k' the draft's proposals). None: not a tensor (text).
SPECIAL_SHAPES = {
    "text": None,
    "ids": "batch pos",
    "next_probs": "d_vocab",        # softmax of the last position's logits
    "next_id": "",                  # one token id
    "ids_next": "batch pos+1",      # the prompt with the chosen id appended
    "draft_ids": "batch k",         # the draft's k proposals
    "verify_logits": "batch pos+k d_vocab",  # one target pass over the prompt and the proposals
}


@dataclass(frozen=True)
class Stage:
    """One notebook of the course. `role`: 'pipeline' (a stage of text -> text, drawn in order), 'overview' (00),
    'alternative' (10, another way to run the loop) or 'edit' (12). `shapes`: capture templates from names.py or
    keys of SPECIAL_SHAPES, in the order the running prompt passes through them."""
    notebook: str
    title: str
    short: str
    turns: str
    role: str
    shapes: tuple[str, ...]
    model: str
    minutes: int
    objectives: tuple[str, str, str]

    @property
    def number(self) -> str:
        return self.notebook[:2]


STAGES: tuple[Stage, ...] = (
    Stage("00_tour", "The tour", "tour", "every stage at once", "overview",
          ("text", "ids", "hook_embed", "blocks.{L}.attn.hook_pattern", "hook_logits", "next_id"), "smollm2", 15,
          ("name the stages that turn a prompt into a next token, in order",
           "follow one token of a real prompt through embeddings, attention, the residual stream and the output",
           "predict the next token, then run one step of the loop and see it appended")),
    Stage("01_tokenization", "Tokenization", "tokens", "text → ids", "pipeline", ("text", "ids"), "tiny", 40,
          ("turn a text into pieces and ids with five real tokenizers, say why they disagree, and measure what one "
           "sentence costs in other languages",
           "replay byte pair encoding merge by merge, and train a small BPE on your own paragraph",
           "recognise WordPiece `##` pieces, SentencePiece `▁`, special tokens, byte fallback and what a chat "
           "template makes the model read")),
    Stage("02_embeddings", "Embeddings", "embed", "ids → vectors", "pipeline", ("ids", "hook_embed"), "tiny", 20,
          ("look a token's vector up in the embedding matrix and match the model's capture exactly",
           "measure how alike two tokens are with cosine similarity, and find a word's nearest neighbours",
           "read a 2-D map of the vocabulary and say what it can and cannot show")),
    Stage("03_positional_encoding", "Positional encoding", "positions", "+ where each token stands", "pipeline",
          ("hook_embed", "hook_pos_embed", "blocks.{L}.attn.hook_rot_q", "blocks.{L}.hook_resid_pre"), "tiny", 30,
          ("recompute what block 0 receives: the token's vector plus its position's vector",
           "compare learned, sinusoidal, RoPE and ALiBi positions side by side, and say what each does past the "
           "context it was trained on",
           "explain why attention without positions cannot tell \"dog bites man\" from \"man bites dog\"")),
    Stage("04_attention", "Attention", "attention", "tokens gather from earlier tokens", "pipeline",
          ("blocks.{L}.ln1.hook_normalized", "blocks.{L}.attn.hook_q", "blocks.{L}.attn.hook_pattern",
           "blocks.{L}.attn.hook_z", "blocks.{L}.hook_attn_out"), "tiny", 40,
          ("recompute one head's queries x·W_Q, its scores QKᵀ/√d_head (and why √d_head), the causal mask and the "
           "softmax, and match the capture",
           "read the attention pattern of every head in every layer, and say why a pattern is not an explanation",
           "explain how the heads' outputs are concatenated and projected back into the residual stream")),
    Stage("05_feed_forward", "Feed-forward (MLP)", "MLP", "each token on its own: expand, activate, project",
          "pipeline", ("blocks.{L}.ln2.hook_normalized", "blocks.{L}.mlp.hook_pre", "blocks.{L}.mlp.hook_post",
                       "blocks.{L}.hook_mlp_out"), "tiny", 20,
          ("recompute the MLP of one block by hand: the 4× expansion, GELU, and the projection back",
           "compare ReLU, GELU and SwiGLU, and find which neurons fire on which tokens",
           "measure what the MLP adds to the residual stream")),
    Stage("06_layer_norm_and_residuals", "Layer norm and residuals", "norm + residual", "the stream across depth",
          "pipeline", ("blocks.{L}.hook_resid_pre", "blocks.{L}.ln1.hook_scale", "blocks.{L}.hook_resid_post",
                       "ln_final.hook_normalized"), "tiny", 25,
          ("recompute LayerNorm by hand and see each token rescaled to mean 0 and variance 1",
           "check that every block adds to the residual stream, and watch the stream grow with depth",
           "decode the stream after every layer with the logit lens and watch the guess form")),
    Stage("07_logits_and_softmax", "Logits and softmax", "logits", "last vector → a probability per token",
          "pipeline", ("ln_final.hook_normalized", "hook_logits", "next_probs"), "smollm2", 15,
          ("recompute the logits from the final vector and the unembedding, and check for weight tying",
           "turn logits into probabilities with softmax and say what it preserves",
           "predict what temperature does to a distribution, then check it")),
    Stage("08_sampling", "Sampling", "sample", "probabilities → one id", "pipeline", ("next_probs", "next_id"),
          "smollm2", 35,
          ("choose a token greedily, or by a seeded draw, reproduce the draw, and say why temperature is not "
           "creativity",
           "say which candidates top-k, top-p and min-p keep, how penalties break a greedy loop, and in which order "
           "they all apply",
           "follow beam search as a tree and recompute how it ranks its finished hypotheses")),
    Stage("09_autoregressive_loop", "The autoregressive loop", "loop", "append the id, run again", "pipeline",
          ("ids", "next_id", "ids_next", "blocks.{L}.attn.hook_v"), "smollm2", 30,
          ("step through generation one token at a time (prefill, then decode) and name why it stopped",
           "compute the KV cache's size by hand, watch it grow, and size it for larger models",
           "compare the work with and without the cache, and check the cache changes nothing of the answer")),
    Stage("10_speculative_decoding", "Speculative decoding", "speculative", "a draft proposes, the target verifies",
          "alternative", ("ids", "draft_ids", "verify_logits"), "tiny", 35,
          ("follow a round: the draft's proposals, the ones the target accepts, and the token it puts instead",
           "compute the acceptance rate, the tokens per round the formula predicts, and why checking k + 1 "
           "positions costs about one pass",
           "check that greedy speculative decoding gives exactly the target's text, and that sampling with "
           "min(1, p/q) follows the target's distribution")),
    Stage("11_detokenization", "Detokenization", "text", "ids → text", "pipeline", ("ids", "text"), "tiny", 15,
          ("turn ids back into bytes and the bytes into text",
           "hold back half a character while streaming, so the display never shows �",
           "say which markers and special tokens are removed before the user sees the text")),
    Stage("12_interventions", "Interventions", "edit", "change a tensor, watch the output move", "edit",
          ("blocks.{L}.attn.hook_z", "blocks.{L}.hook_resid_post", "hook_logits"), "tiny", 35,
          ("ablate a head and follow the change through the later layers (the causal cone)",
           "patch an activation from another prompt and find where the answer turns",
           "split a logit difference into what each head and MLP wrote, and steer generation with a vector")),
)

BY_NOTEBOOK = {stage.notebook: stage for stage in STAGES}
# Notebooks of the course that are not a stage: the course quiz reviews every stage (a pre-test and a post-test), so
# it has no place in the pipeline and opens with its own introduction instead of the frame.
REVIEW_NOTEBOOKS = ("13_course_quiz",)
ROLES = ("overview", "pipeline", "alternative", "edit")


def stage(notebook: str) -> Stage:
    """The stage of a notebook name such as '04_attention' (a '.ipynb' suffix is ignored). ValueError, naming the
    notebooks, for any other name."""
    found = BY_NOTEBOOK.get(notebook.removesuffix(".ipynb"))
    if found is None:
        raise ValueError(f"{notebook!r} is not a notebook of the course; use one of {', '.join(BY_NOTEBOOK)}.")
    return found


def previous(notebook: str) -> Stage | None:
    """The notebook before this one in the course, or None for the first."""
    index = STAGES.index(stage(notebook))
    return STAGES[index - 1] if index else None


def model_change(notebook: str) -> str | None:
    """The one visible line a notebook shows when its model differs from the previous notebook's, else None."""
    here, before = stage(notebook), previous(notebook)
    if before is None or before.model == here.model:
        return None
    return (f"**Model change:** notebook {before.number} showed {MODEL_NAMES[before.model]}; this one shows "
            f"{MODEL_NAMES[here.model]}.")


def frame_markdown(notebook: str) -> str:
    """The markdown cell above a notebook's title: where it sits in the course, the time, the glossary link, the
    model (and a model-change line), and three objectives. The notebooks hold exactly this text; a test checks it."""
    here = stage(notebook)
    lines = [f"**Notebook {here.number} of {STAGES[0].number}–{STAGES[-1].number} · {here.title}** ({here.turns}) · "
             f"about {here.minutes} minutes · terms in the [glossary]({GLOSSARY})", "",
             f"**Model:** {MODEL_LINES[here.model]}."]
    change = model_change(notebook)
    if change:
        lines += ["", change]
    lines += ["", "**By the end you can:**", ""]
    lines += [f"{i}. {objective[0].upper()}{objective[1:]}." for i, objective in enumerate(here.objectives, 1)]
    return "\n".join(lines)
