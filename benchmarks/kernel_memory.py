"""Peak memory of a notebook kernel, against a bare kernel measured in the same run (Binder guarantees 1 GB).

    OMP_NUM_THREADS=1 python benchmarks/kernel_memory.py [notebooks/00_tour.ipynb ...] [--repeats 3] [--smoke]

For each notebook it starts a fresh kernel, runs every cell with nbclient, and reads the kernel's peak resident
set size (VmHWM in /proc/<pid>/status, Linux). The baseline is a kernel that only runs `import llmviz`. It prints
the medians in MB and the ratio; the goal is a peak under 700 MB on the default model. `--smoke`, for the test suite,
measures once a one-cell notebook that loads the tiny model and captures a prompt instead of real notebooks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SMOKE_CELL = 'import llmviz\nlm = llmviz.load("tiny")\nlogits, cache = lm.run_with_cache("The cat sat on the")'


def peak_rss_mb(notebook: nbformat.NotebookNode, cwd: Path) -> float:
    """Run the notebook in a fresh kernel and return the kernel's peak RSS in MB."""
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
        pid = client.km.provisioner.process.pid
        status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", default=[str(ROOT / "notebooks" / "00_tour.ipynb")])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="once, on a one-cell notebook: for the test suite")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
