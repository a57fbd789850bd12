"""Smoke runs of every benchmark at its smallest size (`--smoke`): each runs end to end and prints a report that parses.

The asserts are on ratios against a baseline measured in the same run, with loose bounds, because the machine is
shared and noisy; no speed goal is ever a timed test here (the benchmarks print those). What is exact is asserted
exactly: each printed ratio agrees with the figures printed beside it, passes per token lie in [1/(k+1), 1], float16
keeps half the bytes. The benchmarks are loaded from their files and their `main(argv)` called in this process, so
torch and llmviz are imported once, not once per benchmark.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
NUMBER = r"(\d+(?:\.\d+)?)"


def run(name: str, capsys, *argv: str) -> tuple[object, str, str]:
    """Load benchmarks/<name>.py as a module and call its main(argv); (return value, stdout, stderr)."""
    sys.path.insert(0, str(BENCHMARKS))  # capture_transformerlens imports its sibling `capture`
    try:
        spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        capsys.readouterr()
        result = module.main(list(argv))
    finally:
        sys.path.remove(str(BENCHMARKS))
    out, err = capsys.readouterr()
    return result, out, err


def rows(pattern: str, text: str) -> list[tuple[str, ...]]:
    return [m.groups() for m in re.finditer(pattern, text, flags=re.MULTILINE)]


def test_capture_benchmark_smoke(capsys):
    result, out, _ = run("capture", capsys, "--smoke")
    assert result is None
    table = rows(rf"^\s*(\d+)\s+{NUMBER}ms\s+{NUMBER}ms\s+{NUMBER}ms\s+{NUMBER}x\s+{NUMBER}x\s+{NUMBER}$", out)
    assert len(table) == 1, out  # tiny at 16 tokens
    for _tokens, sdpa, eager, capture, per_sdpa, per_eager, kept in table:
        sdpa, eager, capture, per_sdpa, per_eager = map(float, (sdpa, eager, capture, per_sdpa, per_eager))
        assert per_sdpa == pytest.approx(capture / sdpa, rel=0.05, abs=0.01), out
        assert per_eager == pytest.approx(capture / eager, rel=0.05, abs=0.01), out
        assert 0.5 < per_sdpa < 20 and 0.5 < per_eager < 20, out
        assert float(kept) > 0
    memory = dict(rows(rf"^  (\S.*?)\s+{NUMBER}$", out.split("memory kept at", 1)[1]))
    memory = {label: float(mib) for label, mib in memory.items()}
    assert len(memory) == 6, out
    assert max(memory, key=memory.get) == "everything"
    assert memory["dtype=float16"] / memory["everything"] == pytest.approx(0.5, abs=0.05)


def test_generation_benchmark_smoke(capsys):
    result, out, _ = run("generation", capsys, "--smoke")
    assert result is None
    part1 = {name: (float(rate), float(ratio))
             for name, rate, ratio in rows(rf"^  (\S.*?)\s+{NUMBER} tokens/s\s+{NUMBER}x HF$", out)}
    assert list(part1) == ["HF generate (baseline)", "llmviz, no capture", "llmviz, default trace",
                           "llmviz, use_cache=False"], out
    base = part1["HF generate (baseline)"][0]
    for name, (rate, ratio) in part1.items():
        assert ratio == pytest.approx(rate / base, rel=0.05, abs=0.01), out
        assert 0.05 < ratio < 20, f"{name}: {ratio}x HF\n{out}"
    part2 = rows(rf"^  (greedy|T=0\.8)\s+(\d+)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x$", out)
    assert [mode for mode, *_ in part2] == ["greedy", "T=0.8"], out
    for _, k, passes, acceptance, speedup in part2:
        k, passes, acceptance, speedup = int(k), float(passes), float(acceptance), float(speedup)
        assert 1 / (k + 1) - 1e-3 <= passes <= 1 + 1e-3, out  # a target pass yields 1 to k+1 tokens
        assert 0 <= acceptance <= 1, out
        assert 0.1 < speedup < 10, out


def test_widgets_benchmark_smoke(capsys):
    result, out, _ = run("widgets", capsys, "--smoke")
    assert result == 0, out  # in --smoke a missed goal is printed, not a failure
    forward = float(re.search(rf"median {NUMBER} ms", out).group(1))
    table = rows(rf"^(\d\d) \w+\s+(\S.*?)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+<= \d+ ms (ok|MISSED)$", out)
    assert sorted({notebook for notebook, *_ in table}) == [f"{n:02d}" for n in range(12)], out
    for notebook, action, p50, p95, per_forward, _ in table:
        p50, p95, per_forward = float(p50), float(p95), float(per_forward)
        assert 0 < p50 <= p95, out
        assert per_forward == pytest.approx(p95 / forward, rel=0.05, abs=0.01), out
        assert p50 / forward < 200, f"{notebook} {action}: a median action costs {p50 / forward:.0f} forward passes"


@pytest.mark.slow  # two fresh Jupyter kernels, each importing torch: about 25 s on a loaded 2-core machine
def test_kernel_memory_benchmark_smoke(capsys):
    result, out, _ = run("kernel_memory", capsys, "--smoke")
    assert result == 0
    table = rows(rf"^(\(.*?\))\s+{NUMBER}\s+{NUMBER}x", out)
    assert [label for label, *_ in table] == ["(bare kernel: import llmviz)", "(smoke: load tiny, capture a prompt)"]
    (_, bare, one), (_, peak, ratio) = table
    peak, bare = float(peak), float(bare)
    slack = peak / bare * (0.5 / peak + 0.5 / bare) + 0.005  # the MB beside the ratio are rounded to whole MB
    assert float(one) == 1.0 and float(ratio) == pytest.approx(peak / bare, abs=slack), out
    assert 1.0 < float(ratio) < 20, out  # loading a model and capturing must cost memory above a bare import


@pytest.mark.skipif(importlib.util.find_spec("transformer_lens") is not None,
                    reason="TransformerLens is installed, so its benchmark runs instead of skipping")
def test_transformerlens_benchmark_says_it_is_skipped(capsys):
    result, out, err = run("capture_transformerlens", capsys, "--smoke")
    assert result == 77, (out, err)  # make bench reads 77 as "skipped" and goes on
    assert "skipped: TransformerLens is not installed" in err and out == ""


@pytest.mark.skipif(importlib.util.find_spec("transformer_lens") is None,
                    reason="TransformerLens is not installed: an optional peer tool for this one benchmark, not an "
                           "llmviz dependency (benchmarks/capture_transformerlens.py says how to install it in a venv "
                           "of its own)")
def test_transformerlens_benchmark_smoke(capsys):
    result, out, _ = run("capture_transformerlens", capsys, "--smoke")
    assert result == 0
    assert "shape mismatches: []" in out, out
    table = rows(rf"^\s*(\d+)\s+{NUMBER}ms\s+{NUMBER}ms\s+{NUMBER}x\s+{NUMBER}\s+(\d+)$", out)
    assert len(table) == 1, out
    for _, plain, captured, ratio, kept, tensors in table:
        assert float(ratio) == pytest.approx(float(captured) / float(plain), rel=0.05, abs=0.01), out
        assert 0.5 < float(ratio) < 50 and float(kept) > 0 and int(tensors) > 0, out


def test_interventions_benchmark_smoke(capsys):
    result, out, _ = run("interventions", capsys, "--smoke")
    assert result == 0, out  # in --smoke a missed goal is printed, not a failure
    table = {label: (float(p50), float(p95)) for label, p50, p95 in rows(rf"^  (\S.*?)\s+{NUMBER}\s+{NUMBER}", out)}
    assert list(table) == ["plain capture (baseline)", "edited capture (fwd_hooks=)",
                           "edited forward (run_with_hooks)", "one plain forward (baseline)",
                           "one branching forward (the sweep)", "one cell per row, 32 rows a forward",
                           "one forward per cell", "new edit (one forward)", "new prompt (capture + edit)",
                           "every head removed (35 rows)"], out
    assert all(0 < p50 <= p95 for p50, p95 in table.values()), out
    base = table["plain capture (baseline)"][0]
    ratios = {label: float(ratio) for label, _, _, ratio in rows(rf"^  (edited .*?)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x",
                                                                  out)}
    assert len(ratios) == 2, out
    for label, ratio in ratios.items():
        assert ratio == pytest.approx(table[label][0] / base, rel=0.05, abs=0.01), out
        assert 0.3 < ratio < 5, f"{label}: {ratio}x a plain capture\n{out}"
    sweep = re.search(rf"{NUMBER}x a plain forward; {NUMBER}x faster than one cell per row", out)
    cost, faster = float(sweep.group(1)), float(sweep.group(2))
    branching = table["one branching forward (the sweep)"][0]
    assert cost == pytest.approx(branching / table["one plain forward (baseline)"][0], rel=0.05, abs=0.05), out
    assert faster == pytest.approx(table["one cell per row, 32 rows a forward"][0] / branching, rel=0.05, abs=0.05)
    # 80 cells cost more than one plain forward, and the branching forward must beat one forward per cell
    assert cost > 1 and table["one forward per cell"][0] > branching, out
    # a new edit is one forward; removing every head is one forward of 35 rows
    assert table["new edit (one forward)"][0] < table["every head removed (35 rows)"][0], out


@pytest.mark.slow  # a hub, a learner's server and kernel importing torch: about a minute on a loaded 2-core machine
def test_classroom_benchmark_smoke(capsys):
    import psutil

    result, out, _ = run("classroom", capsys, "--smoke")
    assert result == 0, out
    table = {kind: (int(count), float(p50), float(p95), float(top), float(ratio), float(cpu))
             for kind, count, p50, p95, top, ratio, cpu in
             rows(rf"^  (load|rerun|index|generate)\s+(\d+)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x\s+{NUMBER}",
                  out)}
    # The smoke lesson: one load, 2 new prompts with 2 slider moves after each, one generation.
    assert {kind: row[0] for kind, row in table.items()} == {"load": 1, "rerun": 2, "index": 4, "generate": 1}, out
    for _, p50, p95, top, ratio, cpu in table.values():
        assert 0 < p50 <= p95 <= top, out
        assert ratio == 1.0, out  # one learner is its own baseline
        assert 0 < cpu <= top * 1.1 + 5, out  # a single-threaded kernel cannot spend more CPU than the call took
    # a new prompt re-runs the model; a slider move only indexes: it must cost the kernel less CPU
    assert table["index"][5] < table["rerun"][5], out
    # Memory: USS (pages only this learner holds) <= PSS (plus a share of the rest) <= RSS <= the peaks' sum.
    memory = re.search(rf"PSS {NUMBER} GB, USS {NUMBER} GB, RSS {NUMBER} GB, peak RSS {NUMBER} GB; CPU {NUMBER} s per "
                       rf"minute of a brisk learner \({NUMBER} ms per call outside the kernel\)", out)
    pss, uss, rss, peak, per_minute, overhead = map(float, memory.groups())
    assert 0 < uss <= pss <= rss <= peak + 0.01 and 0.1 < pss < 4, out
    # CPU per minute at the pace (2 re-runs, 12 moves, 1 generation) from the per-call CPU and overhead printed
    cpu = {kind: row[5] for kind, row in table.items()}
    expected = (2 * cpu["rerun"] + 12 * cpu["index"] + cpu["generate"] + 15 * overhead) / 1e3
    assert per_minute == pytest.approx(expected, abs=0.06), out
    assert re.search(r"^largest class meeting the goals on this machine \(\d+ cores\), tiny: [01] \(measured: 1\)$",
                     out, flags=re.MULTILINE), out
    left = []
    for process in psutil.process_iter():
        try:
            if "llmviz-classroom-" in process.environ().get("HOME", ""):
                left.append(process.pid)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    assert left == [], f"processes of the benchmark's hub still alive: {left}"
