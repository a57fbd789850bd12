"""What a failed browser test leaves behind, so that a flake explains itself: build/browser/<test>/.

At the moment a test fails, while its servers still run: a screenshot, the page's HTML as far as it got, every
console message, the network log (requests still pending at the failure are listed first), the Python stack of
every kernel (each kernel registers faulthandler on SIGUSR1 through `ipython_dir`'s startup file), and what the
machine holds: memory, load, the test run's processes, and each server's kernels as its REST API reports them.
The servers' own logs are files in the same folder from the start (`server_log`), never unread pipes.

Collecting evidence must never hide the failure: every step catches its own error and writes it down instead.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import traceback
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
EVIDENCE = ROOT / "build" / "browser"

# A kernel started with this IPython folder dumps every thread's Python stack to its log on SIGUSR1 (the kernel's
# stderr goes to its server's log file). faulthandler writes from the signal handler, so a stuck kernel answers too.
STARTUP = """import faulthandler, signal
faulthandler.register(signal.SIGUSR1, all_threads=True)
"""


def folder_for(nodeid: str) -> Path:
    """build/browser/<test id as a file name>/, created."""
    folder = EVIDENCE / re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1]).strip("_")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def ipython_dir(root: Path) -> Path:
    """An IPython folder for the tier's kernels: fresh, like CI's, and with the SIGUSR1 stack dump."""
    startup = root / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-stack-dump.py").write_text(STARTUP)
    return root / "ipython"


def server_log(name: str):
    """An open, line-buffered log file for a server's stdout and stderr, under build/browser/servers/."""
    folder = EVIDENCE / "servers"
    folder.mkdir(parents=True, exist_ok=True)
    return open(folder / f"{name}.log", "w", buffering=1)


class Recorder:
    """Everything a page says: console messages, page errors, and each request with its outcome."""

    def __init__(self, page):
        self.start = time.monotonic()
        self.console: list[str] = []
        self.requests: dict = {}  # Request -> [seconds since start, method, url, kind, outcome or None]
        self.sockets: list[str] = []
        page.on("console", lambda m: self.console.append(f"{self.now():7.1f} {m.type}: {m.text}  [{m.location}]"))
        page.on("pageerror", lambda e: self.console.append(f"{self.now():7.1f} pageerror: {e}"))
        page.on("request", lambda r: self.requests.__setitem__(
            r, [self.now(), r.method, r.url, r.resource_type, None]))
        page.on("response", lambda r: self._outcome(r.request, f"HTTP {r.status}"))
        page.on("requestfailed", lambda r: self._outcome(r, f"failed: {r.failure}"))
        page.on("requestfinished", lambda r: self._outcome(r, "finished", overwrite=False))
        page.on("websocket", self._socket)

    def now(self) -> float:
        return time.monotonic() - self.start

    def _outcome(self, request, outcome, overwrite=True):
        entry = self.requests.get(request)
        if entry is not None and (overwrite or entry[4] is None):
            entry[4] = f"{outcome} at {self.now():.1f}"

    def _socket(self, ws):
        self.sockets.append(f"{self.now():7.1f} open {ws.url}")
        ws.on("close", lambda _: self.sockets.append(f"{self.now():7.1f} close {ws.url}"))

    def network_log(self) -> str:
        rows = sorted(self.requests.values(), key=lambda row: (row[4] is not None, row[0]))
        lines = [f"{t:7.1f} {method} {kind} {url}  -> {outcome or 'PENDING'}" for t, method, url, kind, outcome in rows]
        return "\n".join(lines + ["", "websockets:"] + self.sockets) + "\n"


def _write(folder: Path, name: str, produce) -> None:
    try:
        content = produce()
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content)
    except Exception:  # noqa: BLE001 - evidence must never replace the test's own failure
        (folder / f"{name}.error.txt").write_text(traceback.format_exc())


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def machine(servers: dict) -> str:
    """Memory, load, this run's processes (with state, CPU and memory) and every server's kernels."""
    memory = psutil.virtual_memory()
    lines = [time.strftime("%Y-%m-%d %H:%M:%S"),
             f"memory: {memory.available / 1e9:.1f} GB available of {memory.total / 1e9:.1f} GB",
             f"load average: {os.getloadavg()}", "", "processes (this test run and everything it started):"]
    me = psutil.Process()
    for process in [me, *me.children(recursive=True)]:
        try:
            with process.oneshot():
                cpu, rss = sum(process.cpu_times()[:2]), process.memory_info().rss / 1e6
                lines.append(f"{process.pid:>7} {process.ppid():>7} {process.status():<9} cpu {cpu:7.1f} s  "
                             f"rss {rss:7.0f} MB  {' '.join(process.cmdline())[:200]}")
        except psutil.Error:
            continue
    for name, server in servers.items():
        lines += ["", f"{name} at {server['url']}:"]
        for path in ("api/kernels", "api/sessions"):
            try:
                lines.append(f"{path}: {json.dumps(_get_json(server['url'] + path + server['query']), indent=1)}")
            except Exception as err:  # noqa: BLE001 - Voilà serves no kernel list; say so and go on
                lines.append(f"{path}: {type(err).__name__}: {err}")
        for kernel_id in kernel_ids(server["pid"]):
            try:
                state = _get_json(f"{server['url']}api/kernels/{kernel_id}{server['query']}")
                lines.append(f"kernel {kernel_id}: {json.dumps(state)}")
            except Exception as err:  # noqa: BLE001
                lines.append(f"kernel {kernel_id}: {type(err).__name__}: {err}")
    return "\n".join(lines) + "\n"


def kernel_ids(server_pid: int) -> list[str]:
    """The ids of a server's kernels, from their connection files' names (kernel-<id>.json)."""
    ids = []
    try:
        children = psutil.Process(server_pid).children(recursive=True)
    except psutil.Error:
        return ids
    for child in children:
        try:
            ids += re.findall(r"kernel-([0-9a-f-]{36})\.json", " ".join(child.cmdline()))
        except psutil.Error:
            continue
    return ids


def dump_kernel_stacks(servers: dict) -> None:
    """SIGUSR1 to every kernel of every server: each writes its threads' stacks to its server's log."""
    for server in servers.values():
        try:
            children = psutil.Process(server["pid"]).children(recursive=True)
        except psutil.Error:
            continue
        for child in children:
            try:
                if "ipykernel" in " ".join(child.cmdline()):
                    os.kill(child.pid, signal.SIGUSR1)
            except (psutil.Error, OSError):
                continue
    time.sleep(1)  # let the kernels write before the logs are read


def collect(folder: Path, page, recorder: Recorder, servers: dict) -> None:
    """Everything above, into folder; called while the failed test's page and servers are still up."""
    _write(folder, "machine.txt", lambda: machine(servers))
    _write(folder, "screenshot.png", lambda: page.screenshot(full_page=True, timeout=20_000))
    _write(folder, "page.html", lambda: page.content())
    _write(folder, "console.txt", lambda: "\n".join(recorder.console) + "\n")
    _write(folder, "network.txt", recorder.network_log)
    dump_kernel_stacks(servers)
    (folder / "servers.txt").write_text("".join(f"{name}: log {server['log']}\n" for name, server in servers.items()))
