"""check_tracking_store: what it refuses, and the URIs it must leave to MLflow."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from training.tracking_store import TrackingStoreError, check_tracking_store


class _AsksForCredentials(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def guarded_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _AsksForCredentials)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_paths_and_file_uris_are_refused_unless_the_file_store_is_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for uri in (str(tmp_path / "mlflow.db"), "mlruns", (tmp_path / "mlruns").as_uri()):
        with pytest.raises(TrackingStoreError, match="is a file path"):
            check_tracking_store(uri)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow's own opt-in
    check_tracking_store(str(tmp_path / "mlruns"))


def test_named_stores_and_other_schemes_are_left_to_mlflow(tmp_path: Path) -> None:
    for uri in ("databricks", "databricks://profile", "postgresql+psycopg://u@db/mlflow"):
        check_tracking_store(uri, must_exist=True)
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    check_tracking_store(missing)  # a command that writes may create it
    with pytest.raises(TrackingStoreError, match="no MLflow store at"):
        check_tracking_store(missing, must_exist=True)


def test_a_server_that_answers_with_any_status_is_there(guarded_server: str) -> None:
    check_tracking_store(guarded_server)
    check_tracking_store("http://127.0.0.1:9", probe_server=False)  # the caller falls back
