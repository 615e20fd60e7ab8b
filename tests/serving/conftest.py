"""A real MLflow store with champions trained by the real pipelines, and a real service.

The store is built once per test session under a temporary AGORA_HOME: the hybrid recommender
on MovieLens-100K and small TF-IDF triage models (English and Chinese sentiment, complaint
reason) trained on slices of the fixed splits, each promoted to @champion. `ServiceProcess`
runs `bentoml serve` in a subprocess on a free port, as in production.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "test-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    """`bentoml serve serving.service:Agora` in a subprocess, with its own environment."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> ServiceProcess:
        bentoml = Path(sys.executable).with_name("bentoml")
        self.log_path = Path(self.env["AGORA_HOME"]) / f"service-{self.port}.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                str(bentoml),
                "serve",
                "serving.service:Agora",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"service exited early; log:\n{self.log()}")
            try:
                if self.get("/readyz", auth=False)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"service not ready after {timeout:.0f} s; log:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal the server; SIGKILL (also the fallback after 20 s) hits its workers too.

        BentoML's workers run in their own sessions, so killing the server's process group
        alone leaves them orphaned and still answering on the port.
        """
        if self.process is None or self.process.poll() is not None:
            return
        workers = psutil.Process(self.process.pid).children(recursive=True)
        if sig == signal.SIGKILL:
            _kill(workers)  # a crash: the workers die with the server, not after it
        os.killpg(self.process.pid, sig)  # SIGTERM: the server stops its workers itself
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            _kill(workers)

    def _call(self, method: str, path: str, body: bytes | None, auth: bool) -> tuple[int, Any]:
        headers = {"content-type": "application/json"}
        if auth:
            headers["x-api-key"] = API_KEY
        request = urllib.request.Request(self.url + path, body, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError:
            return status, raw.decode(errors="replace")

    def get(self, path: str, auth: bool = True) -> tuple[int, Any]:
        return self._call("GET", path, None, auth)

    def post(self, path: str, payload: Any, auth: bool = True) -> tuple[int, Any]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self._call("POST", path, body, auth)


def _kill(processes: list[psutil.Process]) -> None:
    # No wait: a killed process closes its sockets at once; its parent reaps it later.
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def service_env(home: Path, **overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "AGORA_HOME": str(home),
        "AGORA_API_KEY": API_KEY,
        "PROMETHEUS_MULTIPROC_DIR": str(home / "prometheus"),
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(overrides)
    (home / "prometheus").mkdir(parents=True, exist_ok=True)
    return env


@pytest.fixture(scope="session")
def champions_home(
    tmp_path_factory: pytest.TempPathFactory, shared_data_dir: Path, mirror_path: Path | None
) -> Path:
    """AGORA_HOME holding an MLflow store whose champions the real pipelines trained."""
    mirror = mirror_path
    if mirror is None:
        pytest.skip("no datasets mirror: the serving tests train on MovieLens and airline data")
    home = tmp_path_factory.mktemp("champions")
    saved = {
        key: os.environ.get(key)
        for key in ("AGORA_HOME", "AGORA_DATA_DIR", "AGORA_DATA_MIRROR", "MLFLOW_TRACKING_URI")
    }
    # mlflow.set_tracking_uri writes MLFLOW_TRACKING_URI into the environment, so an earlier
    # test's store would otherwise win over this AGORA_HOME's.
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.update(
        AGORA_HOME=str(home), AGORA_DATA_DIR=str(shared_data_dir), AGORA_DATA_MIRROR=str(mirror)
    )
    try:
        _train_champions()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return home


def _train_champions() -> None:
    from mlflow.tracking import MlflowClient

    from training.recommender.config import load_run_config
    from training.recommender.pipeline import train_recommender
    from training.registry import promote
    from training.triage.pipeline import train_triage

    config = load_run_config(ROOT / "configs" / "recommender" / "hybrid.fast.yaml", "hybrid")
    train_recommender("movielens-100k", config)
    train_triage("sentiment", "airline-sentiment", "tfidf", limit=3000)
    train_triage("sentiment", "waimai-10k", "tfidf", limit=3000)
    train_triage("reason", "airline-sentiment", "tfidf", limit=3000)
    client = MlflowClient()
    for name in (
        "agora-recommender",
        "agora-triage-sentiment-en",
        "agora-triage-sentiment-zh",
        "agora-triage-reason",
    ):
        promote(client, name, reason="test champions")


@pytest.fixture(scope="module")
def service(champions_home: Path) -> Iterator[ServiceProcess]:
    """The service over the champions store, started once per test module."""
    running = ServiceProcess(service_env(champions_home)).start()
    yield running
    running.stop()
