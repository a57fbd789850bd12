"""Smoke run of benchmarks/cold_start.py: two fresh interpreters, a report that parses, a ratio that agrees with the
figures beside it. No speed goal is asserted (the benchmark prints that); the machine is shared and noisy."""

import importlib.util
import re
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "cold_start.py"


@pytest.mark.slow  # two fresh interpreters importing torch: 5-40 s on a loaded 2-core machine
def test_cold_start_benchmark_smoke(capsys):
    spec = importlib.util.spec_from_file_location("benchmark_cold_start", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^  (\S.*?)\s+(\d+\.\d+) s\s+(\d+\.\d+)x", out, flags=re.MULTILINE)
    assert [label for label, *_ in rows] == ["python -c 'import torch' (floor)",
                                             "import, load('tiny'), first capture"], out
    (_, floor, one), (_, cold, ratio) = rows
    floor, cold = float(floor), float(cold)
    # The ratio is computed from the unrounded times; the seconds beside it are rounded to 0.01 s, so recomputing
    # it from them can differ by up to ratio * (0.005 / floor + 0.005 / cold), plus the ratio's own rounding.
    slack = cold / floor * (0.005 / floor + 0.005 / cold) + 0.005
    assert float(one) == 1.0 and float(ratio) == pytest.approx(cold / floor, abs=slack), out
    assert cold > floor, out  # loading a model and capturing costs more than importing torch alone
