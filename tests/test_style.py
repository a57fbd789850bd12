"""House style that a machine can check: ruff's rules from pyproject.toml, and the ~300-line module budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "llmviz", "tests", "benchmarks"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_modules_stay_small():
    """DESIGN.md: split a module when it grows past about 300 lines (we allow a little slack, not a second module)."""
    too_long = {str(p.relative_to(ROOT)): n for p in (ROOT / "llmviz").rglob("*.py")
                if (n := len(p.read_text().splitlines())) > 360}
    assert not too_long, too_long
