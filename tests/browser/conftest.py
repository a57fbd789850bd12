"""Browser tier: JupyterLab (and Voilà) from the project's venv on 127.0.0.1, driven by Debian's Chromium.

Playwright for Python drives /usr/bin/chromium through `executable_path`; it never downloads a browser. The
server runs on a copy of the notebooks in a temporary folder, so JupyterLab's autosave never writes outputs into
the repository. Servers and browsers are stopped by pid in `finally`, also when a test fails. Outside CI the tier
skips, with a message, only when Chromium is missing; under CI=true it must run. A failed test leaves its evidence
under build/browser/ (evidence.py); each server logs to a file there from the start.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from . import evidence

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BIN = Path(sys.executable).parent
SCREENSHOTS = ROOT / "build" / "screenshots"
# The servers running now, by name: what a failed test's evidence asks for kernels and logs (evidence.machine).
SERVERS: dict[str, dict] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so fixtures can tell at teardown whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"The browser tier must run under CI=true, but {CHROMIUM} is missing; "
                                ".ci/run installs Debian's chromium.")
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: `apt-get install chromium` to run the browser tier")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: str, timeout: float = 120) -> None:
    """Wait until the server answers at url; any HTTP status counts, since an error page is an answer too."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}; its log: {log}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout} s") from None
            time.sleep(0.5)


def stop(process: subprocess.Popen) -> None:
    """Stop a server and everything it started. Kernels run in sessions of their own (jupyter_client starts them
    so), out of reach of the server's process group: they are listed first and any still alive once the server has
    exited is killed by pid."""
    import psutil

    try:
        started = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        started = []
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # A server shuts its kernels down as it exits; give them the time it gives them, then make sure.
    _, alive = psutil.wait_procs(started, timeout=10)
    for child in alive:
        child.kill()
    psutil.wait_procs(alive, timeout=10)


@pytest.fixture(scope="session")
def notebook_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    return root


def _server_env(root: Path) -> dict:
    settings = root / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True, exist_ok=True)
    # Render every cell: with windowing, cells off screen are not in the page and their widgets never render.
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    return dict(os.environ, JUPYTER_RUNTIME_DIR=str(root / "runtime"), OMP_NUM_THREADS="1",
                HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", IPYTHONDIR=str(evidence.ipython_dir(root)))


def start_server(name: str, command: list[str], env: dict, url: str, query: str = "") -> subprocess.Popen:
    """Start a server in a session of its own (so `stop` reaches what it spawns), logging to a file, never a pipe
    nobody reads; register it for failed tests' evidence and wait until it answers at url."""
    with evidence.server_log(name) as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    base = url.split("/", 3)
    SERVERS[name] = dict(url="/".join(base[:3]) + "/", query=query, pid=process.pid, log=log.name)
    try:
        wait_for(url, process, log.name)
    except BaseException:
        stop(process)
        raise
    return process


@pytest.fixture(scope="session")
def lab_server(notebook_copy):
    """(base_url, token) of a JupyterLab serving the copied notebooks on 127.0.0.1."""
    port, token = free_port(), secrets.token_hex(16)
    command = [str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebook_copy}",
               f"--LabApp.user_settings_dir={notebook_copy / 'settings'}",
               f"--LabApp.workspaces_dir={notebook_copy / 'workspaces'}",
               "--LabApp.expose_app_in_browser=True"]
    if os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab exits at once as root without it
    base = f"http://127.0.0.1:{port}"
    process = start_server("lab", command, _server_env(notebook_copy), f"{base}/api/status?token={token}",
                           query=f"?token={token}")
    try:
        yield base, token
    finally:
        stop(process)
        SERVERS.pop("lab", None)


def lab_api(base: str, token: str, path: str, method: str = "GET"):
    """One call to JupyterLab's REST API (api/<path>); the JSON it answers, or None for an empty answer."""
    request = urllib.request.Request(f"{base}/api/{path}?token={token}", method=method)
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
    return json.loads(body) if body else None


@pytest.fixture
def lab(lab_server):
    """The session's JupyterLab for one test, which leaves no kernel behind.

    Closing the browser tab does not stop a notebook's kernel. Left alive, the twelve notebooks' kernels held 11.4 GB
    when Voila ran the tour beside them (a fresh clone's run, measured by the evidence of a failed Voila test).
    Request `lab` before `page`, so a failed test's evidence still shows its kernel."""
    base, token = lab_server
    yield base, token
    # Deleting a session shuts its kernel down and waits for it to exit; any kernel without a session goes too.
    for session in lab_api(base, token, "sessions"):
        lab_api(base, token, f"sessions/{session['id']}", "DELETE")
    for kernel in lab_api(base, token, "kernels"):
        lab_api(base, token, f"kernels/{kernel['id']}", "DELETE")


@pytest.fixture
def voila_server(notebook_copy):
    """The base URL of Voilà serving the tour from the copied notebooks on 127.0.0.1, stopped after the test.
    Request it before `page`, so a failed test's evidence is taken while Voilà still runs."""
    port = free_port()
    env = dict(_server_env(notebook_copy), JUPYTER_RUNTIME_DIR=str(notebook_copy / "voila-runtime"))
    command = [str(BIN / "voila"), str(notebook_copy / "notebooks" / "00_tour.ipynb"), "--no-browser",
               f"--port={port}", "--Voila.ip=127.0.0.1"]
    base = f"http://127.0.0.1:{port}/"
    # Probe a static path: GET / would make Voilà run the whole tour in a kernel of its own, beside the page's.
    process = start_server("voila", command, env, f"{base}voila/static/llmviz-probe")
    try:
        yield base
    finally:
        stop(process)
        SERVERS.pop("voila", None)


@pytest.fixture(scope="session")
def browser():
    import psutil
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        # The browser's own processes, so they can be stopped by pid even if Playwright's close hangs.
        pids = []
        for child in psutil.Process().children(recursive=True):
            try:
                if "chromium" in child.name().lower():
                    pids.append(child.pid)
            except psutil.NoSuchProcess:  # a helper that exited meanwhile needs no stopping
                continue
        try:
            yield chromium
        finally:
            try:
                chromium.close()
            finally:
                for pid in pids:
                    if psutil.pid_exists(pid):
                        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    recorder = evidence.Recorder(page)
    page.console_errors = []  # (text, url of the resource or script it is about)
    page.offline_requests = []
    page.local_failures = []  # (url, HTTP status) of every request to 127.0.0.1 that failed
    page.on("console", lambda message: message.type == "error"
            and page.console_errors.append((message.text, message.location.get("url", ""))))
    page.on("response", lambda response: response.status >= 400 and response.url.startswith("http://127.0.0.1")
            and page.local_failures.append((response.url, response.status)))

    # The machine is offline, as a school network may be: refuse every request that leaves 127.0.0.1, and record it
    # so a test can say which (only Voilà's own font-icon stylesheets are tolerated; no script may come from outside).
    def refuse_outside(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            return route.continue_()
        page.offline_requests.append((route.request.resource_type, url))
        return route.abort("internetdisconnected")

    page.route("**/*", refuse_outside)
    page.on("pageerror", lambda error: page.console_errors.append((f"page error: {error}", "")))
    try:
        yield page
        # Still inside the test's fixtures: its servers are up, so the evidence shows them as they were at the failure.
        reports = [getattr(request.node, f"report_{when}", None) for when in ("setup", "call")]
        if any(report is not None and report.failed for report in reports):
            evidence.collect(evidence.folder_for(request.node.nodeid), page, recorder, SERVERS)
    finally:
        context.close()
