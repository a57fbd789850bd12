"""GPT-2's byte-level alphabet: every byte gets a printable character, so BPE never sees raw control bytes.

Both the shipped tiny model and SmolLM2 use it: a space is stored as "Ġ" (byte 0x20 -> U+0120), a newline as "Ċ".
This module maps tokens back to their bytes and to the readable form llmviz shows on screen ("␣cat", never "Ġcat").
It does not tokenize; tokenizers.py replays the merges.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table: printable bytes map to themselves, the other 68 to U+0100 and up, in byte order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    shift = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + shift)
            shift += 1
    return dict(zip(printable, map(chr, chars), strict=True))


@lru_cache(maxsize=1)
def unicode_to_bytes() -> dict[str, int]:
    return {char: byte for byte, char in bytes_to_unicode().items()}


def token_bytes(token: str) -> bytes:
    """The raw bytes behind a byte-level token string such as 'Ġcat' (b' cat')."""
    table = unicode_to_bytes()
    return bytes(table[char] for char in token)


# Whitespace made visible, so a learner can see that " cat" and "cat" are different tokens.
VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


def readable(text: str) -> str:
    """Show whitespace as ␣, ↵ and ⇥ so every token is visible on screen."""
    return "".join(VISIBLE.get(char, char) for char in text)


def readable_bytes(data: bytes) -> str:
    """Readable text of a token's bytes; a partial UTF-8 character shows as its hex bytes, e.g. <E2><80>."""
    out, i = [], 0
    while i < len(data):
        for width in (4, 3, 2, 1):
            try:
                out.append(readable(data[i:i + width].decode("utf-8")))
                i += width
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(f"<{data[i]:02X}>")
            i += 1
    return "".join(out)
