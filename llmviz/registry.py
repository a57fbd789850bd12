"""Where llmviz's data lives, the named models, and the one error a failed load raises.

The lowest module of the library: it imports nothing from llmviz, so the tokenizers (which find their files here),
the loader (models.py) and the training scripts can all use it without importing each other. It holds names and
paths only; it loads nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("LLMVIZ_DATA", REPO_ROOT / "data"))
# Where SmolLM2's converted copy lives. LLMVIZ_CACHE moves it, e.g. to one read-only folder that every learner on a
# shared server reads (docs/classroom.md): each learner has a HOME of their own, so ~/.cache would miss the teacher's.
CACHE_ENV = "LLMVIZ_CACHE"
CACHE_DIR = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "llmviz").expanduser()

# Named models: the shipped pair lives in the repository; SmolLM2 is converted once by set-up (smollm2.py).
MODELS = {
    "tiny": DATA_DIR / "models" / "tiny",
    "tiny-draft": DATA_DIR / "models" / "tiny-draft",
    "smollm2-135m": CACHE_DIR / "smollm2-135m",
}
DEFAULT_MODEL = "tiny"
SUPPORTED_MODEL_TYPES = ("gpt2", "llama")


class ModelLoadError(ValueError):
    """A model could not be loaded; the message says what was wrong and what to do."""

HELDOUT_DIR = DATA_DIR / "heldout"


def heldout_texts() -> list[str]:
    """The shipped held-out texts (plain stories and a classics excerpt) that no shipped model was trained on.

    Split into the stories and paragraphs they hold (stories are separated by lines of '---').
    """
    texts = []
    for path in sorted(HELDOUT_DIR.glob("*.txt")):
        texts += [part.strip() for part in path.read_text(encoding="utf-8").split("\n---\n") if part.strip()]
    return texts
