"""A stand-in Ollama server for contract tests: Ollama's documented `/api/chat`, `/api/tags` and
`/api/show` on 127.0.0.1 (ephemeral port), with scripted answers and scripted faults.

This is not Ollama: it answers what the test scripts, in the shapes Ollama's API documentation
gives (`docs/api.md`: NDJSON streaming with `done`, `done_reason`, `prompt_eval_count`,
`eval_count`; errors as `{"error": "..."}`). It stops itself after `lifetime_s` in case a test
forgets to.

    with FakeOllama(models=["qwen2.5-coder:1.5b"]) as server:
        server.answer('{"summary": "adds"}', prompt_eval_count=12, eval_count=5)
        server.fault("status", status=503)
        ... ChatOllama(base_url=server.url, ...) ...
        server.requests  # every request body received, in order
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    """One scripted reply to `/api/chat`.

    kind: "answer" (content), "status" (an HTTP error status), "reset" (send part of the answer,
    then reset the connection), "slow" (wait `delay` seconds, then answer), "trickle" (wait
    `delay` seconds before each streamed piece), "garbage" (a stream line that is not JSON).
    """

    kind: str
    content: str = ""
    status: int = 200
    message: str = ""
    delay: float = 0.0
    prompt_eval_count: int = 10
    eval_count: int = 5
    done_reason: str = "stop"


@dataclass
class Received:
    """One request the server received."""

    method: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)


class FakeOllama:
    """Scripted Ollama stand-in; use as a context manager."""

    def __init__(
        self, models: list[str] | tuple[str, ...] = ("qwen2.5-coder:1.5b",), *, lifetime_s: float = 60.0
    ):
        self.models = list(models)
        self.lifetime_s = lifetime_s
        self.requests: list[Received] = []
        self.tags_status = 200
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._timer = threading.Timer(lifetime_s, self.stop)
        self._timer.daemon = True

    @property
    def url(self) -> str:
        """The server's base URL, e.g. http://127.0.0.1:40123."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(
        self, content: str, *, prompt_eval_count: int = 10, eval_count: int = 5, done_reason: str = "stop"
    ):
        """Queue a normal answer with the given token counts."""
        self._push(
            Scripted(
                "answer",
                content,
                prompt_eval_count=prompt_eval_count,
                eval_count=eval_count,
                done_reason=done_reason,
            )
        )

    def fault(
        self,
        kind: str,
        *,
        status: int = 500,
        message: str = "internal error",
        delay: float = 0.0,
        content: str = '{"ok": true}',
    ) -> None:
        """Queue a fault: "status", "reset", "slow", "trickle" or "garbage"."""
        if kind not in ("status", "reset", "slow", "trickle", "garbage"):
            raise ValueError(f"unknown fault {kind!r}")
        self._push(Scripted(kind, content, status=status, message=message, delay=delay))

    def chat_requests(self) -> list[dict[str, Any]]:
        """The bodies of the `/api/chat` requests received so far."""
        with self._lock:
            return [r.body for r in self.requests if r.path == "/api/chat"]

    def start(self) -> FakeOllama:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._thread.join(timeout=5)

    def _push(self, item: Scripted) -> None:
        with self._lock:
            self._script.append(item)

    def _next(self) -> Scripted | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOllama

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Scripted resets and clients that time out leave broken sockets behind; that is the point.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- routing -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        fake = self.server.fake
        fake._record(Received("GET", self.path))
        if self.path == "/api/tags":
            if fake.tags_status != 200:
                self._send_json(fake.tags_status, {"error": "scripted failure"})
                return
            self._send_json(200, {"models": [_model_entry(name) for name in fake.models]})
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, {"error": "invalid request body"})
            return
        fake._record(Received("POST", self.path, body))
        if self.path == "/api/show":
            name = body.get("model") or body.get("name")
            if name not in fake.models:
                self._send_json(404, {"error": f"model '{name}' not found"})
                return
            self._send_json(200, _show_entry(name))
        elif self.path == "/api/chat":
            self._chat(body)
        else:
            self._send_json(404, {"error": "not found"})

    # -- /api/chat -----------------------------------------------------------------------------

    def _chat(self, body: dict[str, Any]) -> None:
        fake = self.server.fake
        model = body.get("model")
        if model not in fake.models:
            self._send_json(404, {"error": f'model "{model}" not found, try pulling it first'})
            return
        item = fake._next()
        if item is None:
            self._send_json(500, {"error": "fake_ollama: no scripted answer left"})
            return
        if item.kind == "status":
            self._send_json(item.status, {"error": item.message})
            return
        if item.kind == "slow" and fake._stopping.wait(item.delay):
            return
        stream = body.get("stream", True)
        if not stream:
            self._send_json(200, _final(model, item, content=item.content))
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        pieces = _split(item.content)
        if item.kind == "garbage":
            self._chunk(b"{this is not json\n")
            self._end_chunks()
            return
        for n, piece in enumerate(pieces):
            if item.kind == "trickle" and fake._stopping.wait(item.delay):
                return
            self._chunk(json.dumps(_partial(model, piece)).encode() + b"\n")
            if item.kind == "reset" and n == 0:
                self._reset()
                return
        self._chunk(json.dumps(_final(model, item, content="")).encode() + b"\n")
        self._end_chunks()

    # -- wire helpers --------------------------------------------------------------------------

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST: the client sees "connection reset".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _split(content: str) -> list[str]:
    if len(content) < 4:
        return [content]
    third = len(content) // 3
    return [content[:third], content[third : 2 * third], content[2 * third :]]


def _partial(model: str, piece: str) -> dict[str, Any]:
    return {
        "model": model,
        "created_at": _now(),
        "message": {"role": "assistant", "content": piece},
        "done": False,
    }


def _final(model: str, item: Scripted, *, content: str) -> dict[str, Any]:
    return {
        "model": model,
        "created_at": _now(),
        "message": {"role": "assistant", "content": content},
        "done": True,
        "done_reason": item.done_reason,
        "total_duration": 1_000_000,
        "load_duration": 1_000,
        "prompt_eval_count": item.prompt_eval_count,
        "prompt_eval_duration": 100_000,
        "eval_count": item.eval_count,
        "eval_duration": 500_000,
    }


def _model_entry(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": "2025-01-01T00:00:00Z",
        "size": 986_000_000,
        "digest": "0" * 64,
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "qwen2",
            "families": ["qwen2"],
            "parameter_size": "1.5B",
            "quantization_level": "Q4_K_M",
        },
    }


def _show_entry(name: str) -> dict[str, Any]:
    return {
        "modelfile": f"FROM {name}",
        "parameters": "",
        "template": "{{ .Prompt }}",
        "details": _model_entry(name)["details"],
        "model_info": {"general.architecture": "qwen2"},
        "capabilities": ["completion"],
        "modified_at": "2025-01-01T00:00:00Z",
    }
