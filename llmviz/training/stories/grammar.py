"""A small phrase-structure grammar of plain past-tense English, the "everyday" part of the generated stories.

`passage(rng)` writes 5 to 10 sentences about one subject from rules such as "Time, Subj Verb Det Adj Noun Prep
Noun." or "Subj was Feel because Reason.", with verbs taking objects of the right category (lexicon.py).
It trades the plot coherence of generator.py for breadth of vocabulary and sentence shapes, so that the model learns
plain English beyond the plot templates. It does not make stories with a beginning and an end (generator.py does).
"""

from __future__ import annotations

import random
import re

from llmviz.training.stories import lexicon as L
from llmviz.training.stories.words import PEOPLE
from llmviz.training.stories.zipf import zipf_choice

_ANY = [n for cat in ("thing", "food", "animal", "nature", "clothes", "vehicle") for n in L.NOUNS[cat]]


def _z(rng: random.Random, items: list, s: float = 0.7):
    """Zipf-weighted choice, flatter (s=0.7) than the generator's default."""
    return zipf_choice(rng, items, s)


def _obj(rng: random.Random, category: str, poss: str) -> str:
    noun = _z(rng, _ANY if category == "any" else L.NOUNS[category], 0.5)
    det = rng.choice(["the", "the", "a", "a", poss, "her", "his", "my", "one"] if category != "person"
                     else ["the", "a", "her", "his", "my", "their"])
    adj = f"{_z(rng, L.ADJS, 0.5)} " if rng.random() < 0.4 else ""
    return f"{det} {adj}{noun}"


def _vp(rng: random.Random, poss: str, base: bool = False) -> str:
    """A verb phrase in the past tense (or the base form), with its object and sometimes a place or adverb."""
    verb, past, category = _z(rng, L.VERBS, 0.6)
    words = [verb if base else past]
    if category is not None:
        words.append(_obj(rng, category, poss))
    roll = rng.random()
    if roll < 0.35:
        words.append(f"{_z(rng, L.PREPS, 0.6)} {_z(rng, L.NOUNS['place'], 0.5)}")
    elif roll < 0.55:
        words.append(_z(rng, L.ADVS, 0.5))
    return " ".join(words)


def _sentence(rng: random.Random, subj: str, pron: str, poss: str, other: str, speaker: str) -> str:
    was = "were" if pron in ("they", "we", "I") and pron != "I" else "was"
    rules = [
        lambda: f"{subj} {_vp(rng, poss)}.",
        lambda: f"{_z(rng, L.TIMES, 0.4)}, {subj} {_vp(rng, poss)}.",
        lambda: f"{pron} {_vp(rng, poss)} and {_vp(rng, poss)}.",
        lambda: f"{subj} {was} {_z(rng, L.FEELS, 0.6)} because {_z(rng, L.REASONS, 0.4)}.",
        lambda: f"{pron} wanted to {_vp(rng, poss, base=True)}.",
        lambda: f"There was a {_z(rng, L.ADJS)} {_z(rng, _ANY, 0.5)} {_z(rng, L.PREPS)} {_z(rng, L.NOUNS['place'])}.",
        lambda: f"{subj} and {other} {_vp(rng, poss)} together.",
        lambda: f"{pron} could not {_vp(rng, poss, base=True)}, so {pron} {_vp(rng, poss)}.",
        lambda: f"When {_z(rng, L.REASONS, 0.4)}, {pron} {_vp(rng, poss)}.",
        lambda: f"\"Can we {_vp(rng, poss, base=True)}?\" asked {speaker}.",
        lambda: f"\"I {_vp(rng, 'my')},\" said {speaker}.",
        lambda: f"\"Look at the {_z(rng, L.ADJS)} {_z(rng, _ANY, 0.5)}!\" said {other}.",
        lambda: f"{pron} {_vp(rng, poss)}, but {other} {_vp(rng, poss)}.",
        lambda: f"The {_z(rng, _ANY, 0.5)} was {_z(rng, L.ADJS)} and {_z(rng, L.ADJS)}.",
        lambda: f"After {pron} {_vp(rng, poss)}, {pron} {was} {_z(rng, L.FEELS)}.",
        lambda: f"{subj} asked {other} to {_vp(rng, poss, base=True)}.",
    ]
    text = _z(rng, rules, 0.3)()
    text = re.sub(r"\b([Aa]) ([aeiou])", r"\1n \2", text)
    return text[0].upper() + text[1:]


def passage(rng: random.Random) -> str:
    """5 to 10 plain past-tense sentences about one subject, with a second person or animal around."""
    if rng.random() < 0.5:
        name, pron, _, poss = _z(rng, PEOPLE, 0.8)
        subj = name
    else:
        subj, pron = _z(rng, L.SUBJECTS, 0.5)
        poss = {"he": "his", "she": "her", "it": "its", "they": "their", "we": "our", "I": "my"}[pron]
    other = rng.choice([f"the {_z(rng, L.NOUNS['person'], 0.6)}", _z(rng, PEOPLE, 0.8)[0],
                        f"the {_z(rng, L.NOUNS['animal'], 0.6)}"])
    sentences = []
    for i in range(rng.randint(5, 10)):
        use_name = i == 0 or rng.random() < 0.3
        speaker = subj if subj not in ("I", "we", "they") else other
        sentences.append(_sentence(rng, subj if use_name else pron, pron, poss, other, speaker))
    return " ".join(sentences)
