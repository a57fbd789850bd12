"""Smoke run of benchmarks/capture_table.py (`--smoke`: tiny only, no TransformerLens): the table parses, every ratio
is sane, and the goal line names each miss it counts. No speed goal is asserted; the benchmark prints those."""

import importlib.util
import re
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_capture_table_smoke(capsys):
    sys.path.insert(0, str(BENCHMARKS))  # it imports its sibling `capture`
    try:
        spec = importlib.util.spec_from_file_location("benchmark_capture_table", BENCHMARKS / "capture_table.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        capsys.readouterr()
        assert module.main(["--smoke"]) == 0
    finally:
        sys.path.remove(str(BENCHMARKS))
    out = capsys.readouterr().out
    assert re.search(r"^\s+16 tokens$", out, flags=re.MULTILINE), out
    row = re.search(r"^llmviz, tiny\s+(\d+\.\d+)x$", out, flags=re.MULTILINE)
    at44 = re.search(r"^llmviz, tiny\s+(\d+\.\d+)x at 44 tokens", out, flags=re.MULTILINE)
    assert row and at44, out
    ratios = [float(row.group(1)), float(at44.group(1))]
    assert all(0.5 < r < 20 for r in ratios), out
    goal = re.search(r"^goals .*: (met|missed: .*)$", out, flags=re.MULTILINE).group(1)
    assert (goal == "met") == (ratios[1] <= module.GOAL_TINY), out  # the 16-token row has no goal of its own
