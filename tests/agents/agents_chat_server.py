"""A tiny OpenAI-compatible chat-completions server for the tests (stdlib ``http.server`` in
a thread, bound to 127.0.0.1 on an ephemeral port).

Its "model" is a deterministic rule-based responder for the MoA prompts: an agent prompt gets
``I support option X.`` for the option marked correct; an aggregator prompt gets
``Answer: X`` for the option most references support (ties to the earliest letter; no
references: ``Answer: none``). Failure modes are scripted per request by pushing behaviours
onto ``server.script``: ``"429"``, ``"500"``, ``"503"`` (with ``Retry-After: 0.2``),
``"400"``, ``"slow"`` (sleeps ``slow_s`` before answering), ``"disconnect"`` (closes the
connection without answering), ``"malformed"`` (a body that is not JSON), ``"no_choices"``.
"""

from __future__ import annotations

import collections
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MARK = re.compile(r"^Marked correct: ([A-J])$", re.M)
SUPPORT = re.compile(r"I support option ([A-J])\b")


def rule_model(messages: list[dict]) -> str:
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    user = "\n".join(m["content"] for m in messages if m["role"] == "user")
    mark = MARK.search(user)
    if mark:
        return f"I support option {mark.group(1)}. My excerpt agrees."
    votes = collections.Counter(SUPPORT.findall(system))
    if not votes:
        return "Answer: none"
    best = max(sorted(votes), key=lambda k: votes[k])
    return f"The references mostly agree.\nAnswer: {best}"


class ChatServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, slow_s: float = 0.5) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: collections.deque[str] = collections.deque()
        self.requests: list[dict] = []
        self.headers_seen: list[dict] = []
        self.times: list[float] = []
        self.slow_s = slow_s
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: ChatServer

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self) -> None:
        if self.path != "/v1/chat/completions":
            self._send(404, b'{"error": "not found"}')
            return
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.requests.append(payload)
            self.server.headers_seen.append(dict(self.headers))
            self.server.times.append(time.monotonic())
            action = self.server.script.popleft() if self.server.script else "ok"
        if action in ("429", "500", "503", "400"):
            headers = {"Retry-After": "0.2"} if action == "503" else None
            self._send(int(action), json.dumps({"error": {"message": f"scripted {action}"}}).encode(), headers)
            return
        if action == "malformed":
            self._send(200, b'{"choices": [ {"message": ')
            return
        if action == "no_choices":
            self._send(200, b'{"object": "chat.completion", "choices": []}')
            return
        if action == "disconnect":
            self.close_connection = True
            self.connection.shutdown(2)   # socket.SHUT_RDWR: drop the connection without an answer
            return
        if action == "slow":
            time.sleep(self.server.slow_s)
        text = rule_model(payload["messages"])
        body = {"id": "cmpl-test", "object": "chat.completion", "model": payload["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}]}
        self._send(200, json.dumps(body).encode())
