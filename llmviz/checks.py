"""Argument checks shared by the decoding loops (generation, beam search, speculative rounds).

It sits at the bottom of the import graph, so any module can check its integers without importing a loop. Each
check raises a ValueError that names the argument, the value given and what the argument means.
"""

from __future__ import annotations


def check_int(name: str, value, low: int, what: str) -> int:
    """`value` if it is an int (not a bool) >= low, else a ValueError saying what `name` is for."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}={value!r} is invalid; {name} must be an integer >= {low} ({what}).")
    return value
