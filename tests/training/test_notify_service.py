"""`--service-url`: telling a running service to reload never hands its admin key elsewhere."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from training.retrain.common import check_service_url, notify_service

ADMIN_KEY = "admin-key-0123456789abcdef"


class _Sink(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:  # the redirect's target: urllib turns a redirected POST into a GET
        self.do_POST()

    def do_POST(self) -> None:
        _Sink.received.append(dict(self.headers))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"reloaded": true}')

    def log_message(self, *args: Any) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler]) -> HTTPServer:
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def sink() -> Iterator[HTTPServer]:
    _Sink.received = []
    server = _serve(_Sink)
    yield server
    server.shutdown()
    server.server_close()


def test_a_redirect_is_a_refusal_and_the_admin_key_stays_home(sink: HTTPServer) -> None:
    """Regression: urllib followed a 302 to any host and sent the X-API-Key header along."""
    target = f"http://127.0.0.1:{sink.server_port}/steal"

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    redirecting = _serve(Redirect)
    try:
        url = f"http://127.0.0.1:{redirecting.server_port}"
        assert notify_service(url, api_key=ADMIN_KEY) is False
    finally:
        redirecting.shutdown()
        redirecting.server_close()
    assert _Sink.received == []


def test_the_service_is_told_with_the_key(sink: HTTPServer) -> None:
    assert notify_service(f"http://127.0.0.1:{sink.server_port}", api_key=ADMIN_KEY) is True
    assert _Sink.received[0]["X-Api-Key"] == ADMIN_KEY


def test_a_url_with_credentials_is_refused_without_repeating_them() -> None:
    """Regression: urllib read user:pw@host as a host name and the warning printed the URL."""
    with pytest.raises(ValueError, match="credentials") as refused:
        check_service_url("http://ops:hunter2@127.0.0.1:3000")
    assert "hunter2" not in str(refused.value)
