"""Streaming detokenization: token bytes in, complete UTF-8 characters out, never half a character.

Byte-level BPE splits an emoji or a CJK character across tokens (🙂 is four bytes, often two or three tokens).
`Utf8Stream` holds the partial bytes until the character is complete, so a streaming display never shows a broken
character, and it exposes the held bytes so notebook 11 can show them. Special tokens (e.g. <|endoftext|>) add no
text. This module does not tokenize and does not run a model.
"""

from __future__ import annotations

import codecs


class Utf8Stream:
    """Feed token bytes one token at a time; get back only the characters that are complete."""

    def __init__(self):
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""  # everything emitted so far

    @property
    def pending(self) -> bytes:
        """Bytes held back because they start a character that is not complete yet."""
        return self._decoder.getstate()[0]

    def feed(self, data: bytes) -> str:
        """Add one token's bytes; return the new complete characters (possibly '')."""
        out = self._decoder.decode(data, final=False)
        self.text += out
        return out

    def finish(self) -> str:
        """End of stream: bytes still held cannot become a character, so they come out as U+FFFD, as in HF's decode."""
        out = self._decoder.decode(b"", final=True)
        self.text += out
        return out


def token_text_bytes(lm, token_id: int, special_ids: set[int] | None = None) -> bytes:
    """The bytes a token adds to the generated text: its raw bytes, or nothing for a special token."""
    if special_ids is None:
        special_ids = set(lm.tokenizer.all_special_ids)
    if int(token_id) in special_ids:
        return b""
    return lm.token_bytes(int(token_id))
