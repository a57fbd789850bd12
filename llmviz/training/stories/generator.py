"""A seeded generator of simple children's stories, the training text of the shipped tiny model.

`story(seed)` returns one short story in plain English (TinyStories-like): a hero (a child or an animal), a friend,
a place and a thing; an opening ("Once upon a time, ..." about half the time), a problem, dialogue in quotes,
feelings, a resolution and sometimes a moral. Every choice is drawn with Zipf-like weights from the ordered
lists in words.py, so that a trained model has peaked next-token distributions with a long tail
("The cat sat on the" -> mat >> rug > bed > ...). The same seed always gives the same story. This module does
not tokenize or train (train.py does), and it makes no claim to be good literature: its text is template-like.
"""

from __future__ import annotations

import random
import re

from llmviz.training.stories import templates as P
from llmviz.training.stories import words as W
from llmviz.training.stories.grammar import passage
from llmviz.training.stories.zipf import zipf_choice

_SLOT = re.compile(r"\{(\w+)\}")


class _Story:
    """One story being written: its random source, its cast and a slot filler for templates."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.hero = self._character(allow_family=False)
        self.friend = self._character(allow_family=True, avoid=self.hero["name"])
        self.fixed = {"T": zipf_choice(rng, W.TOYS), "P": zipf_choice(rng, W.PLACES),
                      "FOOD": zipf_choice(rng, W.FOODS), "TH": zipf_choice(rng, W.THINGS),
                      "A": zipf_choice(rng, W.ANIMALS)}

    def _character(self, allow_family: bool, avoid: str = "") -> dict:
        """A cast member: a named child, a (named or unnamed) animal, or a family member."""
        rng = self.rng
        roll = rng.random()
        if allow_family and roll < 0.25:
            kind, he, him, his = zipf_choice(rng, W.FAMILY)
            return {"name": f"{'Mom' if kind == 'mom' else 'Dad' if kind == 'dad' else 'the ' + kind}",
                    "kind": kind, "he": he, "him": him, "his": his, "named": False}
        if roll < 0.6:
            for _ in range(5):
                name, he, him, his = zipf_choice(rng, W.PEOPLE, 0.8)
                if name != avoid:
                    break
            kind = "girl" if he == "she" else "boy"
            return {"name": name, "kind": kind, "he": he, "him": him, "his": his, "named": True}
        animal = zipf_choice(rng, W.ANIMALS)
        he, him, his = rng.choice([("he", "him", "his"), ("she", "her", "her")])
        if rng.random() < 0.5:
            name = zipf_choice(rng, W.ANIMAL_NAMES)
            if name == avoid:
                name = "Bob"
            return {"name": name, "kind": animal, "he": he, "him": him, "his": his, "named": True}
        return {"name": f"the {animal}", "kind": animal, "he": he, "him": him, "his": his, "named": False}

    def fill(self, template: str) -> str:
        """Replace every {slot}; hero slots are N/he/him/his, friend slots F/fhe/fhim/fhis; others are drawn."""
        rng, h, f = self.rng, self.hero, self.friend
        fresh = {
            "toy": W.TOYS, "food": W.FOODS, "thing": W.THINGS, "place": W.PLACES, "adj": W.ADJS,
            "tadj": W.THING_ADJS, "act": W.ACTS, "tverb": W.TVERBS, "base": W.BASE_ACTS, "feel": W.FEELINGS,
            "color": W.COLORS, "time": W.TIMES, "greet": W.GREETINGS, "say": W.SAY_VERBS,
            "surface": W.SURFACES, "animal": W.ANIMALS, "weather": W.WEATHER, "adult": W.ADULTS,
            "moral": W.MORALS, "vgreet": W.VOC_GREETINGS, "padj": W.PLACE_ADJS,
            "pname": W.ANIMAL_NAMES, "family": [p[0] for p in W.FAMILY],
        }
        known = {"Nv": h["name"] if h["named"] else f"little {h['kind']}",
                 "Fv": f["name"] if f["named"] else (f["kind"].title() if f["kind"] in ("mom", "dad") else
                                                     f"little {f['kind']}"),
                 "N": h["name"], "he": h["he"], "him": h["him"], "his": h["his"], "kind": h["kind"],
                 "F": f["name"], "fhe": f["he"], "fhim": f["him"], "fhis": f["his"], "fkind": f["kind"],
                 **self.fixed}

        def one(match: re.Match) -> str:
            key = match.group(1)
            if key in known:
                return known[key]
            return zipf_choice(rng, fresh[key])

        text = _SLOT.sub(one, template)
        text = re.sub(r"\b([Aa]) ([aeiou])", r"\1n \2", text)  # "a old zoo" -> "an old zoo"
        # Capitalise each sentence start, including "the cat" at the start and after a full stop or quote.
        return re.sub(r'(^|[.!?]\s+"?|^")([a-z])', lambda m: m.group(1) + m.group(2).upper(), text)

    def pick(self, templates: list[str], s: float = 0.6) -> str:
        return self.fill(zipf_choice(self.rng, templates, s))


OPENINGS_NAMED = [
    "Once upon a time, there was a {adj} {kind} named {N}.",
    "Once upon a time, there was a {kind} called {N}.",
    "Once upon a time, in a {padj} {place}, there lived a {kind} named {N}.",
    "Once upon a time, {N} lived in a small house near the {P}.",
    "One day, {N} went to the {P}.",
    "There was once a {adj} {kind} named {N}.",
    "{N} was a {adj} {kind}.",
    "{N} was {adj} and {adj}.",
    "Once upon a time, a {adj} {kind} named {N} lived by the {place}.",
    "Long ago, there was a {kind} named {N}.",
    "This is a story about a {kind} named {N}.",
    "It was a {weather} day, and {N} was {feel}.",
]
OPENINGS_PLAIN = [
    "Once upon a time, there was a {adj} {kind}.",
    "Once upon a time, in a {padj} {place}, there lived a {kind}.",
    "There was once a {adj} {kind} who lived in the {P}.",
    "Once upon a time, a {kind} lived near the {place}.",
    "It was a {weather} day in the {P}.",
]
DESCRIBE = [
    "{he} liked to {base}.", "{he} had a {tadj} {T}.", "{he} loved {food} very much.",
    "Every day, {he} {act} in the {P}.", "{his} favorite color was {color}.",
    "{he} lived with {his} mom and dad.", "{he} had a friend, {F}.", "{he} was always {feel}.",
    "{his} best friend was {F}.", "{he} liked to play with {his} {T}.", "{he} did not like {food}.",
    "{he} was very good at sharing.", "{he} wanted to {base} more than anything.",
    "{he} had many toys, but {his} favorite was a {tadj} {T}.", "{he} was only three years old.",
    "The {animal} sat on the {surface}.", "{he} often sat on the {surface} and looked at the sky.",
]
SCENES = [
    "The cat sat on the {surface}.", "The dog sat on the {surface}.", "The {animal} sat on the {surface}.",
    "{N} sat on the {surface}.", "The sun was hot, and the sky was blue.", "The wind was blowing.",
    "Birds were singing in the trees.", "It started to rain.", "There were {color} flowers everywhere.",
    "The cat sat on the {surface} and {act}.", "A {adj} {animal} was sleeping on the {surface}.",
    "The {place} was quiet.", "It was {weather} outside.", "The cat sat on the {surface} all day.",
]
DIALOGUE = [
    '"{greet}!" said {N}.', '{N} said, "{vgreet}, {Fv}!"', '"{vgreet}, {Nv}!" said {F}.',
    '"Can I play with your {T}?" asked {N}.', '"Yes, you can," said {F}.', '"Let\'s {base}!" said {F}.',
    '"I am {feel}," {N} said.', '"Why are you {feel}?" asked {F}.', '"Thank you!" said {N}.',
    '"Look at this {tadj} {thing}!" {he} said.', '"What is that?" asked {F}.', '"I don\'t know," said {N}.',
    '"Do you want to {base} with me?" asked {N}.', '"Yes, please!" said {F}.', '"Come with me," said {F}.',
    '"Wow!" said {N}. "It is so {tadj}!"', '"Be careful!" {F} {say}.', '"I will help you," said {F}.',
    '"We can do it together," {F} said.', '"{greet}!" {N} {say}. "How are you?"',
    '"I am fine, thank you," said {F}.', '"Where are you going?" asked {N}.',
    '"I am going to the {place}," said {F}.', '"Can I come too?" asked {N}.', '"Of course!" said {F}.',
]
RESOLVE = [
    "{N} felt {feel}.", "{N} and {F} hugged.", "{N} said sorry, and {F} smiled.",
    "They played together all day.", "{N} was very happy.", "{N} smiled and said thank you.",
    "They laughed and had fun.", "Now {N} was not {feel} anymore.", "Everyone was happy again.",
    "{N} and {F} became good friends.", "{he} gave {F} a big hug.", "They shared the {FOOD}.",
]
MORAL_LEADS = ["{N} learned that", "The moral of the story is:", "From that day on, {N} knew that",
               "{N} learned a lesson that day."]


def _problem(st: _Story) -> list[str]:
    """The middle of the story: one of several small plots, each a list of sentence templates."""
    plot = zipf_choice(st.rng, P.PLOTS, 0.3)
    out = []
    for sentence in plot:
        out.append(st.fill(sentence))
        if st.rng.random() < 0.25:
            out.append(st.pick(DIALOGUE + SCENES))
    return out


def story(seed: int) -> str:
    """One story, deterministic in `seed` (any int). About 80 to 250 words of plain English."""
    rng = random.Random(seed)
    st = _Story(rng)
    mode = rng.random()
    if mode < 0.07:
        return _greeting_snippet(st)
    if mode < 0.22:
        return _passage(st, P.EVERYDAY, 0.15)
    if mode < 0.28:
        return _passage(st, P.FIRST_PERSON, 0.2)
    if mode < 0.43:
        return passage(rng)
    lines = [st.pick(OPENINGS_NAMED if st.hero["named"] else OPENINGS_PLAIN, 0.5)]
    for _ in range(rng.randint(1, 3)):
        lines.append(st.pick(DESCRIBE + SCENES, 0.4))
    if rng.random() < 0.5:
        lines.append(st.pick(DIALOGUE, 0.4))
    lines.extend(_problem(st))
    for _ in range(rng.randint(0, 2)):
        lines.append(st.pick(RESOLVE, 0.5))
    if rng.random() < 0.35:
        lead = st.fill(zipf_choice(rng, MORAL_LEADS))
        if lead.endswith("day."):
            lines.append(lead)
        else:
            moral = st.fill("{moral}")
            lines.append(f"{lead} {moral[0].lower() + moral[1:]}" if lead.endswith("that") else f"{lead} {moral}")
    if rng.random() < 0.4:
        lines.append(zipf_choice(rng, W.ENDINGS, 0.7))
    return _paragraphs(rng, lines)


def _passage(st: _Story, pool: list[str], s: float) -> str:
    """A loosely connected everyday passage: 4 to 10 sentences drawn from `pool`, with some dialogue."""
    lines = []
    for _ in range(st.rng.randint(4, 10)):
        lines.append(st.pick(DIALOGUE if st.rng.random() < 0.15 else pool, s))
    return _paragraphs(st.rng, lines)


def _greeting_snippet(st: _Story) -> str:
    """A short exchange of greetings, so that prompts like "Hello world" stay in the story domain."""
    lines = [st.pick(['"{greet}!" said {N}.', '{greet}! said the little {animal}.', '"{greet}!" {N} {say}.',
                      "{greet}! My name is {N}.", "{vgreet}, {Fv}! It is a {weather} day."], 0.5)]
    for _ in range(st.rng.randint(2, 5)):
        lines.append(st.pick(DIALOGUE, 0.4))
    return " ".join(lines)


def _paragraphs(rng: random.Random, lines: list[str]) -> str:
    """Join sentences, with a paragraph break every few sentences, as TinyStories does."""
    out, para = [], []
    for line in lines:
        para.append(line)
        if len(para) >= 3 and rng.random() < 0.35:
            out.append(" ".join(para))
            para = []
    if para:
        out.append(" ".join(para))
    return "\n\n".join(out)


def stories(n: int, seed: int = 0) -> list[str]:
    """`n` stories, the i-th from seed (seed * 1_000_003 + i), so two seeds never share a story sequence."""
    if n < 0:
        raise ValueError(f"n={n} must be >= 0 (the number of stories to generate).")
    return [story(seed * 1_000_003 + i) for i in range(n)]
