"""Peak memory of a notebook kernel, against a bare kernel measured in the same run (Binder guarantees 1 GB).

    OMP_NUM_THREADS=1 python benchmarks/kernel_memory.py [notebooks/00_tour.ipynb ...] [--repeats 3] [--smoke]

For each notebook it starts a fresh kernel, runs every cell with nbclient, and reads the kernel's peak resident
set size (VmHWM in /proc/<pid>/status, Linux). The baseline is a kernel that only runs `import llmviz`. It prints
the medians in MB and the ratio; the goal is a peak under 700 MB on the default model. With `--together` it also
runs two kernels of each notebook at once and prints what a cgroup such as Binder's charges for them: each kernel's
USS plus the memory-mapped weights file once (its pages are clean and shared), with the PSS sum beside it; the goal
is 1.2 GB. Use `LLMVIZ_MODEL=smollm2-135m` to measure the prompt notebooks on SmolLM2. `--smoke`, for the test suite,
measures once a one-cell notebook that loads the tiny model and captures a prompt instead of real notebooks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from contextlib import ExitStack
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
MB = 2 ** 20
TWO_KERNELS_GOAL_MB = 1200
SMOKE_CELL = 'import llmviz\nlm = llmviz.load("tiny")\nlogits, cache = lm.run_with_cache("The cat sat on the")'


def kernel_mb(pid: int) -> dict[str, float]:
    """A kernel's memory in MB: peak RSS (VmHWM), and now its USS (pages only it holds), PSS (shared pages split
    between their holders) and the resident pages of memory-mapped safetensors files (clean, shared, evictable)."""
    status = Path(f"/proc/{pid}/status").read_text()
    peak = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024
    process = psutil.Process(pid)
    info = process.memory_full_info()
    weights = sum(m.rss for m in process.memory_maps() if m.path.endswith(".safetensors"))
    return {"peak": peak, "uss": info.uss / MB, "pss": info.pss / MB, "weights": weights / MB}


def run_kernels(notebooks: list[nbformat.NotebookNode], cwd: Path) -> list[dict[str, float]]:
    """Run each notebook in its own fresh kernel, all kernels alive at the end, and measure each (kernel_mb)."""
    with ExitStack() as stack:
        pids = []
        for notebook in notebooks:
            client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                                    resources={"metadata": {"path": str(cwd)}})
            stack.enter_context(client.setup_kernel())
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
            pids.append(client.km.provisioner.process.pid)
        return [kernel_mb(pid) for pid in pids]


def peak_rss_mb(notebook: nbformat.NotebookNode, cwd: Path) -> float:
    """Run the notebook in a fresh kernel and return the kernel's peak RSS in MB."""
    return run_kernels([notebook], cwd)[0]["peak"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", default=[str(ROOT / "notebooks" / "00_tour.ipynb")])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="once, on a one-cell notebook: for the test suite")
    parser.add_argument("--together", action="store_true",
                        help="also run two kernels of each notebook at once: their USS, PSS and shared weights")
    args = parser.parse_args(argv)
    if args.smoke:
        one_cell = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SMOKE_CELL)])
        cases = [("(smoke: load tiny, capture a prompt)", lambda: nbformat.from_dict(one_cell), ROOT)]
        args.repeats = 1
    else:
        cases = [(Path(path).name, lambda path=path: nbformat.read(path, as_version=4), Path(path).parent)
                 for path in args.notebooks]
    bare = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import llmviz")])
    baseline = statistics.median(peak_rss_mb(nbformat.from_dict(bare), ROOT) for _ in range(args.repeats))
    print(f"{'notebook':<40} {'peak MB':>9} {'/ bare kernel':>14}")
    print(f"{'(bare kernel: import llmviz)':<40} {baseline:9.0f} {1.0:13.2f}x")
    for name, read, cwd in cases:
        peak = statistics.median(peak_rss_mb(read(), cwd) for _ in range(args.repeats))
        flag = "" if peak < 700 else "   over the 700 MB goal"
        print(f"{name:<40} {peak:9.0f} {peak / baseline:13.2f}x{flag}")
    if args.together:  # what a cgroup (Binder) charges: each kernel's own pages, shared files once
        for name, read, cwd in cases:
            kernels = run_kernels([read(), read()], cwd)
            own, shared = sum(k["uss"] for k in kernels), max(k["weights"] for k in kernels)
            flag = "" if own + shared <= TWO_KERNELS_GOAL_MB else f" over the {TWO_KERNELS_GOAL_MB} MB goal"
            each = " + ".join(f"{k['uss']:.0f}" for k in kernels)
            print(f"two kernels on {name}: USS {each} MB + the mapped "
                  f"weights once {shared:.0f} MB = {own + shared:.0f} MB{flag}; PSS sum "
                  f"{sum(k['pss'] for k in kernels):.0f} MB, peak RSS {max(k['peak'] for k in kernels):.0f} MB each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
