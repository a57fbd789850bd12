"""Drive the class hub (deploy/hub/jupyterhub_config.py) from a script: start it, add learners, start their servers,
log in as a learner, and stop every process it started, by pid.

Used by the hub smoke test (tests/test_hub.py) and the load test (benchmarks/classroom.py); not by notebooks. The hub,
its proxy and every learner's server listen on 127.0.0.1 at free ports, and every wait is bounded in time. This
module talks HTTP only; kernels are driven by kernel.py, and the hub's own settings live in its config file.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from llmviz.registry import REPO_ROOT

CONFIG = REPO_ROOT / "deploy" / "hub" / "jupyterhub_config.py"
HOST = "127.0.0.1"  # the only address anything here sends to or listens on


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class HubError(RuntimeError):
    """The hub did not do what was asked in time; the message says what, and where its log is."""


class Hub:
    """A running hub for one script. Use as a context manager: leaving it stops everything, also on failure.

    state: a folder for the hub's database, cookie secret, learners' homes and log (a temporary folder, usually).
    env: extra environment for the hub (e.g. LLMVIZ_MODEL); the class and admin passwords are generated here.
    """

    def __init__(self, state: Path, env: dict | None = None, start_timeout: float = 120):
        self.state = Path(state)
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.token = secrets.token_hex(24)
        self.password = secrets.token_urlsafe(12)
        self.log_path = self.state / "hub.log"
        self.env = {**os.environ, "LLMVIZ_HUB_STATE": str(self.state), "LLMVIZ_HUB_PORT": str(self.port),
                    "LLMVIZ_HUB_API_PORT": str(free_port()), "LLMVIZ_HUB_PROXY_API_PORT": str(free_port()),
                    "LLMVIZ_HUB_PASSWORD": self.password, "LLMVIZ_HUB_SERVICE_TOKEN": self.token,
                    "LLMVIZ_HUB_SPAWNER": "simple", **(env or {})}
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None
        # Every process seen under the hub (the proxy, servers, kernels, the culler), as psutil handles: a handle
        # refuses to signal a pid that was reused by another process since.
        self.started: dict[int, object] = {}

    def __enter__(self) -> Hub:
        self.state.mkdir(parents=True, exist_ok=True)
        jupyterhub = Path(sys.executable).parent / "jupyterhub"
        with open(self.log_path, "w") as log:
            # A session of its own: the hub's process group is ours to signal, and nothing of the caller's is in it.
            self.process = subprocess.Popen([str(jupyterhub), "-f", str(CONFIG)], cwd=self.state, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        """The log's last lines, without this script's own polling (which would push the cause out of view, e.g. a
        server's "Running as root is not recommended. Use --allow-root to bypass.")."""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join([line for line in text if " 200 GET /hub/api/" not in line][-lines:])

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HubError(f"the hub exited with {self.process.returncode}; its log ends:\n{self.log_tail()}")
            try:
                self.api("GET", "")
                return
            except (OSError, HubError):
                time.sleep(0.5)
        raise HubError(f"the hub did not answer within {self.start_timeout:.0f} s; its log ends:\n{self.log_tail()}")

    # --- the REST API, as the admin service ------------------------------------------------------------------------
    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 60):
        """One call to /hub/api/<path> with the admin service token; the JSON answer, or None for an empty one."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/hub/api/{path}", data=data, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                text = response.read()
        except urllib.error.HTTPError as err:
            raise HubError(f"{method} /hub/api/{path} answered {err.code}: {err.read()[:300]!r}") from err
        return json.loads(text) if text else None

    def start_servers(self, names: list[str], timeout: float = 300) -> float:
        """Create the learners and start all their servers at once; seconds until every one is ready."""
        start = time.perf_counter()
        self.api("POST", "users", {"usernames": names})
        for name in names:
            self.api("POST", f"users/{name}/server")
        deadline = time.monotonic() + timeout
        waiting = set(names)
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                server = self.api("GET", f"users/{name}")["servers"].get("")
                if server and server.get("ready"):
                    waiting.discard(name)
                elif not server or (not server.get("pending") and not server.get("ready")):
                    raise HubError(f"{name}'s server stopped while starting; the hub's log ends:\n{self.log_tail()}")
            if waiting:
                time.sleep(0.5)
            self._remember_processes()
        if waiting:
            raise HubError(f"servers of {sorted(waiting)} not ready within {timeout:.0f} s; log:\n{self.log_tail()}")
        return time.perf_counter() - start

    def server_request(self, name: str, path: str, method: str = "GET", body: dict | None = None, timeout=60):
        """One call to a learner's server (/user/<name>/<path>) through the proxy, as the admin service."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/user/{name}/{path}", data=data, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
        return json.loads(text) if text else None

    # --- a learner's own login, through the hub's login form -------------------------------------------------------
    def login(self, name: str, password: str | None = None) -> urllib.request.OpenerDirector:
        """Log in as a learner with the class password through /hub/login, as a browser would; an opener holding
        the learner's cookies. It lands on the hub's home page, which starts no server (the hub's default landing
        page would). Raises HubError when the hub refuses the login."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{self.url}/hub/login", timeout=60).read()
        xsrf = next((cookie.value for cookie in jar if cookie.name == "_xsrf"), "")
        form = urllib.parse.urlencode({"username": name, "password": password or self.password, "_xsrf": xsrf})
        try:
            with opener.open(f"{self.url}/hub/login?next=%2Fhub%2Fhome", data=form.encode(), timeout=60) as response:
                landed = response.geturl()
        except urllib.error.HTTPError as err:  # a wrong password answers 403 with the login form again
            raise HubError(f"login as {name!r} was refused ({err.code})") from err
        if "/hub/login" in urllib.parse.urlparse(landed).path:
            raise HubError(f"login as {name!r} was refused (the hub showed its login form again)")
        return opener

    # --- stopping, by pid ------------------------------------------------------------------------------------------
    def _remember_processes(self) -> None:
        import psutil

        if self.process is None:
            return
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return
        for child in children:
            self.started.setdefault(child.pid, child)

    def stop(self) -> list[int]:
        """Stop the hub (which stops its proxy and servers), then kill by pid anything it started that is still
        alive: servers and kernels run in sessions of their own, out of reach of the hub's process group.
        Returns the pids that had to be killed."""
        import psutil

        if self.process is None:
            return []
        self._remember_processes()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        survivors = [process for process in self.started.values() if process.is_running()]
        _, alive = psutil.wait_procs(survivors, timeout=10)
        for process in alive:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                continue
        psutil.wait_procs(alive, timeout=10)
        return [process.pid for process in alive]
