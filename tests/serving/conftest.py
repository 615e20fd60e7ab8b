"""A real MLflow store with champions trained by the real pipelines, and a real service.

The store is built once per test session under a temporary AGORA_HOME: the hybrid recommender
on MovieLens-100K and small TF-IDF triage models (English and Chinese sentiment, complaint
reason) trained on slices of the fixed splits, each promoted to @champion. `ServiceProcess` is
the launcher `agora serve` uses (`bentoml serve` in a subprocess on a free port, as in
production) with HTTP helpers. One server, the session-scoped `service`, is shared by the
modules that neither kill, restart nor reload it; the others start their own.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli import launcher

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "test-key"


@dataclass
class ServiceProcess(launcher.ServiceProcess):
    """The launcher's service process, logging under its AGORA_HOME, with a JSON client."""

    def __post_init__(self) -> None:
        if self.log_path is None and self.env is not None and "AGORA_HOME" in self.env:
            self.log_path = Path(self.env["AGORA_HOME"]) / f"service-{self.port}.log"

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


def service_env(home: Path, **overrides: str) -> dict[str, str]:
    """The environment of a test server over `home`, with the tests' API key."""
    return launcher.home_environment(home, API_KEY, **overrides)


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


# The slots the serving tests assert on (category is left out: it would only cost time).
TEST_SLOTS = ("sentiment-en", "sentiment-zh", "reason")


def _train_champions() -> None:
    from mlflow.tracking import MlflowClient

    from models.served_models import RECOMMENDER_MODEL, triage_slot
    from training.promotion import promote
    from training.recommender.config import load_run_config
    from training.recommender.pipeline import train_recommender
    from training.triage.pipeline import train_triage

    config = load_run_config(ROOT / "configs" / "recommender" / "hybrid.fast.yaml", "hybrid")
    train_recommender("movielens-100k", config)
    names = [RECOMMENDER_MODEL]
    for slot in map(triage_slot, TEST_SLOTS):
        names.append(train_triage(slot.task, slot.dataset, "tfidf", limit=3000).registered_name)
    client = MlflowClient()
    for name in names:
        promote(client, name, reason="test champions")


@pytest.fixture(scope="session")
def service(
    champions_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """The service over the champions store, started once per session and shared.

    Its event store is its own, not the default one under AGORA_HOME: the modules that share
    it post events for users no other module uses, and no other server sees them.
    """
    store = tmp_path_factory.mktemp("shared-service") / "events.db"
    running = ServiceProcess(
        service_env(champions_home, AGORA_STORE_URL=f"sqlite:///{store}")
    ).start()
    yield running
    running.stop()
