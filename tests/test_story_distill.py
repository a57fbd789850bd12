"""Tests for llmviz.training.stories.distill: seeded prompts, sentence-level clean-up, and a resumable stories file,
using a tiny random Llama with a plain chat template in place of SmolLM2 (the real run takes an hour)."""

import copy
import json

import pytest

from llmviz.training.stories.distill import ADJECTIVES, NOUNS, VERBS, clean_story, distill, read_stories, story_prompts
from tests.conftest import make_random_lm


def test_prompts_are_seeded_and_name_their_words():
    first, again, other = story_prompts(20, seed=3), story_prompts(20, seed=3), story_prompts(20, seed=4)
    assert first == again and first != other
    for prompt in first:
        words = [prompt.split('"')[i] for i in (1, 3, 5)]   # verb, noun, adjective, in that order
        assert words[0] in VERBS and words[1] in NOUNS and words[2] in ADJECTIVES
    with pytest.raises(ValueError, match="n=0"):
        story_prompts(0, seed=0)


@pytest.mark.parametrize("raw, kept", [
    ("Tom ran. He fell and", "Tom ran."),
    ('Title: The Cat\nThe cat sat. "Hi!" she said. Then', 'The cat sat. "Hi!" she said.'),
    ("**A Day**\nSun.\n\n\n\nRain?", "Sun.\n\nRain?"),
    ("no sentence ends here", ""),
])
def test_clean_story_keeps_whole_sentences(raw, kept):
    assert clean_story(raw) == kept


@pytest.fixture
def chat_lm(gpt2_tokenizer):
    tok = copy.deepcopy(gpt2_tokenizer)
    tok.pad_token = tok.eos_token
    tok.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    return make_random_lm("llama", tok)


def test_distill_appends_and_resumes(chat_lm, tmp_path, monkeypatch):
    import llmviz.training.stories.distill as sd

    # A random model rarely ends a sentence, so give every generated text one full sentence to keep.
    monkeypatch.setattr(sd, "clean_story", lambda text: "The dog ran home.")
    path = tmp_path / "stories.jsonl"
    per_story = len(chat_lm.tokenizer("The dog ran home.")["input_ids"])
    have = distill(chat_lm, tokens=3 * per_story, path=path, batch=2, progress=False)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert have == sum(r["tokens"] for r in records) == 4 * per_story    # two whole batches of two
    assert [r["batch"] for r in records] == [0, 0, 1, 1] and chat_lm.tokenizer.padding_side == "right"
    have = distill(chat_lm, tokens=5 * per_story, path=path, batch=2, progress=False)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["batch"] for r in records] == [0, 0, 1, 1, 2, 2] and have == 6 * per_story
    assert read_stories(path) == ["The dog ran home."] * 6
    with pytest.raises(ValueError, match="tokens=0"):
        distill(chat_lm, tokens=0, path=path)


def test_read_stories_joins_every_parallel_file(tmp_path, monkeypatch):
    import llmviz.training.stories.distill as sd

    monkeypatch.setattr(sd, "STORIES_FILE", tmp_path / "smollm2_stories.jsonl")
    for name, text in (("smollm2_stories.jsonl", "One."), ("smollm2_stories_2.jsonl", "Two."), ("other.jsonl", "No.")):
        (tmp_path / name).write_text(json.dumps({"batch": 0, "seed": 0, "tokens": 2, "text": text}) + "\n")
    assert read_stories() == ["One.", "Two."]


def test_stories_files_summarize_each_parallel_run_and_the_card_prints_its_command(tmp_path, monkeypatch):
    import llmviz.training.stories.distill as sd
    from llmviz.training.model_card import _distill_commands

    monkeypatch.setattr(sd, "STORIES_FILE", tmp_path / "smollm2_stories.jsonl")
    runs = {"smollm2_stories.jsonl": (0, [3, 4, 5]), "smollm2_stories_2.jsonl": (1000000, [7, 0])}  # tokens per story
    for name, (seed, tokens) in runs.items():
        records = [{"batch": i // 2, "seed": seed + i // 2, "tokens": n, "text": "Hi." if n else ""}
                   for i, n in enumerate(tokens)]
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in records))
    files = sd.stories_files()
    assert files == [{"file": "smollm2_stories.jsonl", "seed": 0, "batches": 2, "stories": 3, "tokens": 12},
                     {"file": "smollm2_stories_2.jsonl", "seed": 1000000, "batches": 1, "stories": 1, "tokens": 7}]
    lines = _distill_commands(files).splitlines()[1:]
    assert "`python -m llmviz.training.stories.distill --tokens 12` (2 batches, 3 stories)" in lines[0]
    assert "--out ~/.cache/llmviz/corpus/smollm2_stories_2.jsonl --seed 1000000`" in lines[1]


def test_opening_phrase_gets_its_comma_once():
    from llmviz.training.stories.distill import comma_after_opening

    assert comma_after_opening("Once upon a time in a wood, a fox.") == "Once upon a time, in a wood, a fox."
    assert comma_after_opening("Once upon a time, there was a cat.") == "Once upon a time, there was a cat."
    assert comma_after_opening(comma_after_opening("Once upon a time there")) == "Once upon a time, there"
    assert clean_story("Once upon a time there was a dog. It") == "Once upon a time, there was a dog."
