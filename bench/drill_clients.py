"""HTTP clients the drills use: plain calls with a role's key, a bystander asking for feeds
while the drills run, and a raw upload that sends a body only as long as the server listens."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Client:
    """Plain HTTP calls to one service with a role's key (or none)."""

    host: str
    port: int
    keys: dict[str, str]

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        role: str | None = "read",
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> tuple[int, Any, float]:
        headers = {"content-type": content_type}
        if role is not None:
            headers["x-api-key"] = self.keys[role]
        started = time.perf_counter()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        elapsed = time.perf_counter() - started
        try:
            answer = json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError:
            answer = raw[:200].decode(errors="replace")
        return response.status, answer, elapsed

    def post(self, path: str, payload: Any, role: str | None = "read") -> tuple[int, Any, float]:
        return self.call("POST", path, json.dumps(payload).encode(), role)


@dataclass
class Bystander:
    """Asks for a known user's feed every 50 ms and keeps the latencies and failures."""

    client: Client
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Bystander:
        self._thread = threading.Thread(target=self._run, name="bystander", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status, _, elapsed = self.client.post("/recommend", {"user_id": "196", "k": 10})
                if status == 200:
                    self.latencies.append(elapsed)
                else:
                    self.failures.append(f"HTTP {status}")
            except OSError as error:
                self.failures.append(type(error).__name__)
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def raw_upload(
    host: str, port: int, path: str, key: str, total: int, chunked: bool
) -> tuple[int, float, int]:
    """Send up to `total` bytes of JSON-looking body; (status, seconds to the answer, bytes of
    body sent).

    The answer is read as soon as the server sends one: a server that checks limits before
    parsing answers long before the body is complete."""
    started = time.perf_counter()
    with socket.create_connection((host, port), timeout=30) as sock:
        head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json"]
        head.append(f"X-API-Key: {key}")
        head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        chunk = b'{"user_id": "' + b"a" * (1 << 20)
        sent = 0
        sock.setblocking(False)
        answer = b""
        while sent < total and not answer:
            try:
                answer = sock.recv(4096)
                break
            except BlockingIOError:
                pass
            piece = chunk[: min(len(chunk), total - sent)]
            data = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
            try:
                sock.sendall(data)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        sock.setblocking(True)
        sock.settimeout(10)
        try:
            while b"\r\n" not in answer:
                more = sock.recv(4096)
                if not more:
                    break
                answer += more
        except (TimeoutError, ConnectionResetError):
            pass
    elapsed = time.perf_counter() - started
    status_line = answer.split(b"\r\n", 1)[0].split()
    status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
    return status, elapsed, sent
