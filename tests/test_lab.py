"""The README's lab command starts JupyterLab on 127.0.0.1 only and serves the tour notebook."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_addresses(pid: int) -> list[str]:
    """The IP of every socket that process `pid` or any of its children listens on. A child that exits while it is
    being read (the server starts and ends short-lived helpers) is skipped: it can no longer be listening."""
    root = psutil.Process(pid)
    found = []
    for proc in [root, *root.children(recursive=True)]:
        try:
            found += [c.laddr.ip for c in proc.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        except psutil.NoSuchProcess:
            continue
    return found


def get(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def test_make_lab_serves_the_tour_on_loopback_only(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    args = f"--port={port} --IdentityProvider.token={token} --ServerApp.open_browser=False"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path), LAB_ARGS=args)
    server = subprocess.Popen(["make", "lab"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read().decode()
            try:
                status, _ = get(f"{base}/api/status?token={token}")
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not answer within 120 s"
                time.sleep(0.5)
        assert status == 200
        # Given a notebook, JupyterLab serves the notebook's folder: the learner sees every stage notebook.
        status, body = get(f"{base}/api/contents/00_tour.ipynb?token={token}")
        notebook = json.loads(body)
        assert status == 200 and notebook["type"] == "notebook"
        _, listing = get(f"{base}/api/contents?token={token}")
        assert {"00_tour.ipynb"} <= {item["name"] for item in json.loads(listing)["content"]}
        assert any("llmviz" in "".join(cell["source"]) for cell in notebook["content"]["cells"])
        status, page = get(f"{base}/lab/tree/00_tour.ipynb?token={token}")
        assert status == 200 and b"JupyterLab" in page
        # Every socket the server listens on is bound to loopback, never to a public interface.
        listening = listening_addresses(server.pid)
        assert listening and set(listening) <= {"127.0.0.1", "::1"}, listening
        # A wrong token is refused.
        try:
            get(f"{base}/api/contents/00_tour.ipynb?token=wrong")
            raise AssertionError("the server answered without its token")
        except urllib.error.HTTPError as err:
            assert err.code == 403
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
