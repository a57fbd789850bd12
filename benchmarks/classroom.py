"""A class on one server: N learners on the hub of `make hub`, all running the same lesson at once.

    OMP_NUM_THREADS=1 python benchmarks/classroom.py --learners 1 4 8 [--models tiny smollm2-135m] [--write-sizing]
    python benchmarks/classroom.py --smoke        # tiny, one learner, a short lesson: for the test suite

For each N it starts the hub (deploy/hub/jupyterhub_config.py, simple spawner) on 127.0.0.1, creates N learners
through the REST API, starts their servers together (timing until every one is up), and opens a kernel for each.
Then every kernel runs the lesson at the same time, one call per request over the kernel websocket: load the model
and build the tour; tour re-runs on new 64-token prompts; index-only moves of the tour's sliders; a 20-token
`generate` with its full trace. Each call is timed from sending it until the kernel's reply, as a learner waits for
it. Memory per learner is their server's plus their kernel's PSS and USS (psutil's memory_full_info), after the
lesson, with the kernel's peak RSS beside it; CPU per learner is the kernel's CPU seconds over the lesson's time.
Goals (per call kind, issue 18): index-only p95 <= 50 ms, re-run p95 <= 300 ms; the largest class meeting both is
printed per model. Ratios are against one learner measured in the same run. SmolLM2 runs only where memory allows.
Everything stops by pid, also on failure; every loop is bounded in count and time. Exit status 0, or 1 on an error.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import psutil  # noqa: E402

from llmviz.classroom import Hub, Kernel  # noqa: E402
from llmviz.classroom.sizing import PACE, SIZING_FILE, guide_rows, round_up  # noqa: E402

GOALS_MS = {"index": 50, "rerun": 300}
STORY = ("{name} had a small red kite. One windy morning {name} ran to the park with {friend}. The kite went up and "
         "up, over the trees and the pond. {friend} laughed and clapped. Then the string broke, and the kite flew "
         "away. {name} was sad, but {friend} said, \"We can make a new one together.\" They went home, found some "
         "paper and sticks, and built a bigger kite with a long blue tail.")
NAMES = ["Lily", "Tom", "Sara", "Ben", "Mia", "Sam", "Anna", "Max", "Lucy", "Jack", "Zoe", "Leo"]
# What one learner's kernel runs first: the model, the tour, and this learner's own 64-token prompts.
SETUP = """import llmviz
from llmviz.viz.widgets.tour import Tour
lm = llmviz.load({model!r})
names = {names!r}
stories = [{story!r}.format(name=a, friend=b) for a in names for b in names if a != b][{offset}:{offset} + {count}]
prompts = [lm.to_string(lm.to_tokens(s)[0, :64]) for s in stories]
tour = Tour(lm, prompts[0])
assert not tour.output.outputs
"""
RERUN = "tour.prompt.value = prompts[{i}]\nassert not tour.output.outputs, tour.output.outputs"
# Each move changes the value (a move to the same value would redraw nothing and time nothing).
MOVES = ["tour.layer.value = (tour.layer.value + 1) % lm.n_layers",
         "tour.position.value = (tour.position.value - 1) % (tour.position.max + 1)"]
CHECK = "\nassert not tour.output.outputs, tour.output.outputs"
GENERATE = "trace = lm.generate(prompts[{i}], max_new_tokens=20, temperature=0)\nassert trace.steps"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def lesson(kernel: Kernel, model: str, learner: int, size: dict, times: dict, barrier: threading.Barrier,
           deadline: float) -> None:
    """One learner's lesson, every call timed into times[kind] (ms), and the kernel's own CPU time for the call,
    which contention from other processes does not inflate, into times[kind + " cpu"] (ms)."""
    def timed(kind, code):
        if time.monotonic() > deadline:
            raise TimeoutError("the lesson ran past --max-seconds")
        start = time.perf_counter()
        printed = kernel.execute(f"import time as _clock\n_cpu = _clock.process_time()\n{code}\n"
                                 "print(_clock.process_time() - _cpu)", timeout=max(1.0, deadline - time.monotonic()))
        times.setdefault(kind, []).append((time.perf_counter() - start) * 1e3)
        times.setdefault(kind + " cpu", []).append(float(printed.split()[-1]) * 1e3)

    barrier.wait(timeout=600)
    timed("load", SETUP.format(model=model, names=NAMES, story=STORY, offset=learner * 7, count=size["reruns"] + 2))
    for i in range(size["reruns"]):
        timed("rerun", RERUN.format(i=i + 1))
        for move in range(size["moves"]):
            timed("index", MOVES[move % 2] + CHECK)
    for _ in range(size["generates"]):
        timed("generate", GENERATE.format(i=size["reruns"] + 1))


def learner_processes(hub: Hub, name: str) -> tuple[psutil.Process, list[psutil.Process]]:
    """A learner's single-user server and its kernels, found by the JUPYTERHUB_USER the hub gave the server."""
    hub._remember_processes()
    for process in hub.started.values():
        try:
            if process.environ().get("JUPYTERHUB_USER") == name and "jupyterhub-singleuser" in " ".join(
                    process.cmdline()):
                return process, [child for child in process.children(recursive=True)
                                 if "ipykernel" in " ".join(child.cmdline())]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    raise RuntimeError(f"no server process found for {name}")


def memory_of(processes: list[psutil.Process]) -> dict:
    """GB of PSS, USS and RSS summed over processes, and their peak RSS (VmHWM) summed: an upper bound of what a
    container holding them peaks at (pages they share are counted twice)."""
    info = [process.memory_full_info() for process in processes]
    peaks = [int(next(line.split()[1] for line in Path(f"/proc/{p.pid}/status").read_text().splitlines()
                      if line.startswith("VmHWM"))) / 1024**2 for p in processes]
    return {"pss": sum(i.pss for i in info) / 1e9, "uss": sum(i.uss for i in info) / 1e9,
            "rss": sum(i.rss for i in info) / 1e9, "peak_rss": sum(peaks) * 1024**3 / 1e9}


def run_class(learners: int, models: list[str], size: dict, max_seconds: float) -> list[dict]:
    """One hub, `learners` servers started together; the lesson once per model. One result per model."""
    results = []
    names = [f"learner{i:02d}" for i in range(learners)]
    with tempfile.TemporaryDirectory(prefix="llmviz-classroom-") as state, Hub(Path(state)) as hub:
        up = hub.start_servers(names, timeout=max_seconds)
        print(f"== {learners} learner(s): every server up in {up:.1f} s", flush=True)
        for model in models:
            need = learners * (1.6 if model != "tiny" else 0.7)
            if psutil.virtual_memory().available / 1e9 < need + 2:  # 2 GB kept for the machine's other work
                print(f"   {model}: skipped, {learners} learners need about {need:.0f} GB and this machine has "
                      f"{psutil.virtual_memory().available / 1e9:.0f} GB available")
                continue
            kernels = []
            try:
                kernels = [Kernel(hub, name) for name in names]
                results.append(run_lesson(hub, kernels, names, model, size, up, max_seconds))
            finally:
                for kernel in kernels:
                    kernel.close()
    return results


def run_lesson(hub, kernels, names, model, size, up, max_seconds) -> dict:
    times = [{} for _ in names]
    errors = []
    barrier = threading.Barrier(len(names))
    deadline = time.monotonic() + max_seconds
    for name in names:
        learner_processes(hub, name)  # remembers each learner's kernel among the hub's processes
    class_cpu = class_cpu_seconds(hub)

    def run(index):
        try:
            lesson(kernels[index], model, index, size, times[index], barrier, deadline)
        except Exception as err:  # reported after every thread has finished
            errors.append(f"{names[index]}: {err}")
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(names))]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + 30))
    wall = time.monotonic() - start
    if errors or any(thread.is_alive() for thread in threads):
        raise RuntimeError(f"the lesson failed: {errors or 'a learner did not finish in time'}")
    class_cpu = class_cpu_seconds(hub) - class_cpu
    per_learner = [memory_of([server, *kids]) for server, kids in (learner_processes(hub, name) for name in names)]
    merged = {kind: [t for learner in times for t in learner.get(kind, [])] for kind in times[0]}
    calls = [kind for kind in merged if not kind.endswith(" cpu")]
    in_calls = sum(sum(merged[kind + " cpu"]) for kind in calls) / 1e3
    # What the calls cost beyond the kernels' own work: servers, proxy and hub passing messages, spread per call.
    overhead_ms = max(0.0, class_cpu - in_calls) * 1e3 / sum(len(merged[kind]) for kind in calls)
    return {"model": model, "learners": len(names), "up_s": up, "times": {k: merged[k] for k in calls},
            "cpu_ms": {k: statistics.median(merged[k + " cpu"]) for k in calls}, "overhead_ms": overhead_ms,
            "wall_s": wall, "memory": {key: max(m[key] for m in per_learner) for key in per_learner[0]}}


def class_cpu_seconds(hub: Hub) -> float:
    """CPU seconds used so far by the hub and everything under it (proxy, servers, kernels, culler)."""
    hub._remember_processes()
    total = 0.0
    for process in [psutil.Process(hub.process.pid), *hub.started.values()]:
        try:
            total += sum(process.cpu_times()[:4])  # user, system, and their children's that exited
        except psutil.NoSuchProcess:
            continue
    return total


def report(results: list[dict]) -> dict:
    """Print each class's table and the summary; the largest class meeting the goals, per model."""
    baseline = {r["model"]: r for r in results if r["learners"] == 1}
    largest = {}
    for r in results:
        one = baseline.get(r["model"])
        print(f"\n{r['model']}, {r['learners']} learner(s): servers up in {r['up_s']:.1f} s, "
              f"lesson {r['wall_s']:.0f} s")
        print(f"  {'call':<10}{'count':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'x one learner':>15}{'CPU ms':>8}"
              "  goal")
        ok = True
        for kind, samples in r["times"].items():
            p95 = percentile(samples, 0.95)
            ratio = f"{p95 / percentile(one['times'][kind], 0.95):14.2f}x" if one else f"{'':>15}"
            goal = GOALS_MS.get(kind)
            verdict = "" if goal is None else f"p95 <= {goal} ms {'ok' if p95 <= goal else 'MISSED'}"
            ok &= goal is None or p95 <= goal
            print(f"  {kind:<10}{len(samples):>6}{percentile(samples, 0.5):9.1f}{p95:9.1f}{max(samples):9.1f}"
                  f"{ratio}{r['cpu_ms'][kind]:8.1f}  {verdict}")
        m = r["memory"]
        print(f"  per learner (server + kernel): PSS {m['pss']:.2f} GB, USS {m['uss']:.2f} GB, RSS {m['rss']:.2f} GB,"
              f" peak RSS {m['peak_rss']:.2f} GB; CPU {cpu_per_minute(r):.1f} s per minute of a brisk learner "
              f"({r['overhead_ms']:.1f} ms per call outside the kernel)")
        if ok:
            largest[r["model"]] = max(largest.get(r["model"], 0), r["learners"])
        else:
            largest.setdefault(r["model"], 0)
    print(f"\n{'model':<14}{'learners':>9}{'up s':>7}{'index p95':>10}{'rerun p95':>10}{'gen p95':>9}"
          f"{'PSS GB':>8}{'USS GB':>8}{'CPU s/min':>10}")
    for r in results:
        t = r["times"]
        print(f"{r['model']:<14}{r['learners']:>9}{r['up_s']:7.1f}{percentile(t['index'], .95):10.1f}"
              f"{percentile(t['rerun'], .95):10.1f}{percentile(t['generate'], .95):9.0f}{r['memory']['pss']:8.2f}"
              f"{r['memory']['uss']:8.2f}{cpu_per_minute(r):10.1f}")
    for model, n in largest.items():
        measured = sorted(r["learners"] for r in results if r["model"] == model)
        print(f"largest class meeting the goals on this machine ({psutil.cpu_count()} cores), {model}: {n} "
              f"(measured: {', '.join(map(str, measured))})")
    return largest


def cpu_per_minute(result: dict) -> float:
    """CPU seconds one learner costs the server per minute at PACE: each call's own CPU time in the kernel (median)
    plus its share of the servers', proxy's and hub's work."""
    return sum(count * (result["cpu_ms"][kind] + result["overhead_ms"]) for kind, count in PACE.items()) / 1e3


def sizing_from(results: list[dict], largest: dict) -> dict:
    """deploy/sizing.json: per model, the largest per-learner figures measured, and the class that met the goals."""
    sizing = {"_measured": {"cores": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 1e9),
                            "learners": sorted({r["learners"] for r in results}), "date": time.strftime("%Y-%m-%d"),
                            "by": "benchmarks/classroom.py --write-sizing"}}
    for model in dict.fromkeys(r["model"] for r in results):
        mine = [r for r in results if r["model"] == model]
        pss = max(r["memory"]["pss"] for r in mine)
        peak = max(r["memory"]["peak_rss"] for r in mine)
        sizing[model] = {"pss_gb": round_up(pss, 0.05), "uss_gb": round_up(max(r["memory"]["uss"] for r in mine), 0.05),
                         "rss_gb": round_up(peak, 0.05),
                         "cpu_s_per_minute": round_up(max(cpu_per_minute(r) for r in mine), 0.1),
                         "learners_ok": largest.get(model, 0), "measured_cores": psutil.cpu_count(),
                         # Kubernetes: guarantee the share a learner uses; limit at their whole RSS with headroom.
                         "guarantee_gb": round_up(pss, 0.25), "limit_gb": round_up(peak * 1.25, 0.5)}
    return sizing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, nargs="+", default=[1, 4, 8], help="class sizes to measure")
    parser.add_argument("--models", nargs="+", default=["tiny", "smollm2-135m"])
    parser.add_argument("--reruns", type=int, default=5, help="new prompts per learner")
    parser.add_argument("--moves", type=int, default=6, help="index-only slider moves after each new prompt")
    parser.add_argument("--generates", type=int, default=2, help="20-token generations per learner")
    parser.add_argument("--max-seconds", type=float, default=900, help="bound on each class's start and lesson")
    parser.add_argument("--write-sizing", action="store_true", help=f"write the figures to {SIZING_FILE}")
    parser.add_argument("--smoke", action="store_true", help="tiny, one learner, a short lesson: for the test suite")
    args = parser.parse_args(argv)
    if args.smoke:
        args.learners, args.models, args.reruns, args.moves, args.generates = [1], ["tiny"], 2, 2, 1
    if min(args.learners) < 1 or max(args.learners) > 32:
        parser.error("--learners takes class sizes from 1 to 32")
    size = {"reruns": args.reruns, "moves": args.moves, "generates": args.generates}
    results = []
    for learners in args.learners:
        results += run_class(learners, args.models, size, args.max_seconds)
    largest = report(results)
    if args.write_sizing:
        SIZING_FILE.write_text(json.dumps(sizing_from(results, largest), indent=1) + "\n")
        print(f"wrote {SIZING_FILE}")
    print("\nsizing guide (docs/classroom.md):\n" + "\n".join(guide_rows(sizing_from(results, largest))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
