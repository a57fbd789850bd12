"""A learner's kernel driven from a script through the hub: start it with the REST API, run code over the kernel
websocket (the Jupyter messaging protocol, JSON on one socket), shut it down.

Used by tests/test_hub.py and benchmarks/classroom.py. `execute` waits for the kernel's reply and its return to idle,
bounded by a timeout, and raises KernelError with the kernel's own error name and message when the code fails, so a
failing call can never pass as a fast one. Messages for other requests (widget comms, status of other cells) are
skipped. This module does not start hubs or servers; hub.py does.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import websocket  # websocket-client, a dependency of jupyter_server

from llmviz.classroom.hub import Hub


class KernelError(RuntimeError):
    """The code raised in the kernel, or the kernel did not answer in time."""


class Kernel:
    """One python3 kernel in a learner's server. Use as a context manager: leaving it shuts the kernel down."""

    def __init__(self, hub: Hub, name: str, timeout: float = 120):
        self.hub, self.name = hub, name
        self.id = hub.server_request(name, "api/kernels", "POST", {"name": "python3"}, timeout=timeout)["id"]
        self.session = uuid.uuid4().hex
        url = f"ws://{hub.url.split('://', 1)[1]}/user/{name}/api/kernels/{self.id}/channels?session_id={self.session}"
        self.socket = websocket.create_connection(url, header=[f"Authorization: token {hub.token}"], timeout=timeout)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.socket.close()
        finally:
            try:
                self.hub.server_request(self.name, f"api/kernels/{self.id}", "DELETE")
            except OSError:
                pass  # the server may be gone already; Hub.stop kills the kernel by pid then

    def execute(self, code: str, timeout: float = 300) -> str:
        """Run `code`; its printed output. Raises KernelError on an error in the kernel or after `timeout` s."""
        msg_id = uuid.uuid4().hex
        self.socket.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": self.name,
                       "session": self.session, "version": "5.3", "date": datetime.now(timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        deadline = time.monotonic() + timeout
        printed, error, replied, idle = [], None, False, False
        while not (replied and idle):
            left = deadline - time.monotonic()
            if left <= 0:
                raise KernelError(f"{self.name}'s kernel did not finish within {timeout:.0f} s: {code[:80]!r}")
            self.socket.settimeout(left)
            try:
                opcode, data = self.socket.recv_data()
            except websocket.WebSocketTimeoutException:
                continue
            if opcode != websocket.ABNF.OPCODE_TEXT:
                continue  # binary frames carry messages with buffers: widget comms, never our replies
            message = json.loads(data)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue  # widget comms and other traffic
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_reply":
                replied = True
                if content.get("status") == "error" and error is None:
                    error = f"{content.get('ename')}: {content.get('evalue')}"
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        if error is not None:
            raise KernelError(f"{self.name}'s kernel raised {error} running {code[:80]!r}")
        return "".join(printed)
