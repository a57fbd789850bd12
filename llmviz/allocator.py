"""A steady allocator: memory a capture frees is kept for the next capture instead of being returned and faulted in
again.

A capture keeps every intermediate tensor (SmolLM2 at 128 tokens: about 300 MB) where a plain forward frees each one
as soon as the next layer has read it. On Linux, glibc's malloc serves blocks above its mmap threshold (dynamic, at
most 32 MiB) with fresh mappings and gives the top of its heap back to the system above a trim threshold (at most
64 MiB), so every capture touches new pages, and a page fault per 4 KiB made a SmolLM2 capture at 128 tokens cost
1.13-1.17x a plain forward. With the thresholds fixed at 64 MiB (mmap) and 256 MiB (trim) it cost 1.00-1.03x
(benchmarks/capture_table.py, three runs; LLMVIZ_STEADY_MALLOC=0 in the same session read 1.13x). The price is at
most 256 MiB of freed memory kept per process for the next capture; a SmolLM2 tour kernel's peak went from 1061 to
1064 MB (benchmarks/kernel_memory.py). At 512 tokens a capture keeps 1.2 GB, more than the trim threshold lets stay,
so there it is still faulted in (1.11-1.28x); keeping that much for reuse would cost a Binder kernel its memory.

llmviz sets this once per process when it wraps its first model (LM()), like torch's thread count in load(). It
changes nothing where a user already chose: `MALLOC_MMAP_THRESHOLD_` or `MALLOC_TRIM_THRESHOLD_` set, or
`LLMVIZ_STEADY_MALLOC=0`; nor off glibc (macOS, Windows, musl), where mallopt does not exist.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping

MMAP_THRESHOLD = 64 * 2 ** 20   # blocks up to this size come from the heap, and are reused from it
TRIM_THRESHOLD = 256 * 2 ** 20  # freed memory kept at the top of the heap, for the next capture
STEADY_ENV = "LLMVIZ_STEADY_MALLOC"
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h> parameter numbers
_applied: bool | None = None  # None: not tried yet in this process


def wanted(environ: Mapping[str, str]) -> bool:
    """Whether llmviz may set the thresholds: not when the user set glibc's own variables or turned it off."""
    if environ.get(STEADY_ENV, "").strip() in ("0", "false", "no"):
        return False
    return not any(environ.get(name, "").strip() for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"))


def keep_steady() -> bool:
    """Fix glibc's mmap and trim thresholds for this process, once; True when they are set (now or before)."""
    global _applied
    if _applied is None:
        _applied = wanted(os.environ) and _mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) \
            and _mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    return _applied


def is_steady() -> bool:
    """Whether keep_steady has set the thresholds in this process (without trying to)."""
    return _applied is True


def _mallopt(parameter: int, value: int) -> bool:
    """glibc's mallopt, looked up among the symbols this process already has (no search for libc on disk: that ran
    ldconfig, about 1.6 ms a call); False where there is none (macOS, musl; Windows has no CDLL(None)). mallopt
    returns 1 on success."""
    try:
        return ctypes.CDLL(None).mallopt(ctypes.c_int(parameter), ctypes.c_int(value)) == 1
    except (OSError, AttributeError, TypeError):
        return False
