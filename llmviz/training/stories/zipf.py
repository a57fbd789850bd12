"""Zipf-weighted choice: the word lists (words.py, lexicon.py) are ordered from most to least common, and the
story generator and the grammar both draw from them with weight 1/rank^s. This module only chooses; it holds no words.
"""

from __future__ import annotations

import random
from functools import cache
from itertools import accumulate


@cache
def _cum_weights(n: int, s: float) -> tuple[float, ...]:
    """Cumulative Zipf weights 1/(i+1)^s for a list of n items (n >= 1)."""
    return tuple(accumulate(1.0 / (i + 1) ** s for i in range(n)))


def zipf_choice(rng: random.Random, items: list, s: float = 1.0):
    """Pick one of `items` with weight 1/(rank)^s: the first item is the most likely."""
    return rng.choices(items, cum_weights=_cum_weights(len(items), s))[0]
