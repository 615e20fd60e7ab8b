"""A real MLflow store with champions trained by the real pipelines, and a real service.

The store is built once per test session under a temporary AGORA_HOME: the hybrid recommender
on MovieLens-100K and small TF-IDF triage models (English and Chinese sentiment, complaint
reason) trained on slices of the fixed splits, each promoted to @champion. `ServiceProcess` is
the launcher `agora serve` uses (`bentoml serve` in a subprocess on a free port, as in
production) with HTTP helpers. One server, the session-scoped `service`, is shared by the
modules that neither kill, restart nor reload it; the others start their own.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from cli import launcher
from serving.settings import ROLES, roles_for

ROOT = Path(__file__).resolve().parents[2]
# One key per role, as a deployment would hand them out; clients call with their role's key.
API_KEYS: dict[str, str] = {role: f"test-{role}-key-0123456789abcdef" for role in sorted(ROLES)}
AUTO = "auto"  # pick the role a client of that path would have


def role_for(path: str) -> str:
    """The role a client calling `path` holds (read where a route admits several)."""
    roles = roles_for(path.split("?", 1)[0]) or frozenset()
    return "read" if not roles or "read" in roles else sorted(roles)[0]


@dataclass
class ServiceProcess(launcher.ServiceProcess):
    """The launcher's service process, logging under its AGORA_HOME, with a JSON client.

    Calls carry the key of `role` (`AUTO`: the role a real client of the path has; None: no key).
    """

    def __post_init__(self) -> None:
        if self.log_path is None and self.env is not None and "AGORA_HOME" in self.env:
            self.log_path = Path(self.env["AGORA_HOME"]) / f"service-{self.port}.log"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        role: str | None = AUTO,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> tuple[int, Any, dict[str, str]]:
        """One HTTP call: status, decoded JSON answer (or text), response headers."""
        sent = {"content-type": "application/json"}
        if role is not None:
            sent["x-api-key"] = API_KEYS[role_for(path) if role == AUTO else role]
        sent.update(headers or {})
        request = urllib.request.Request(self.url + path, body, sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw, got = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, raw, got = error.code, error.read(), dict(error.headers)
        try:
            answer = json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError:
            answer = raw.decode(errors="replace")
        return status, answer, {key.lower(): value for key, value in got.items()}

    def get(self, path: str, role: str | None = AUTO) -> tuple[int, Any]:
        status, answer, _ = self.request("GET", path, None, role)
        return status, answer

    def post(self, path: str, payload: Any, role: str | None = AUTO) -> tuple[int, Any]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        status, answer, _ = self.request("POST", path, body, role)
        return status, answer


def service_env(home: Path, **overrides: str) -> dict[str, str]:
    """The environment of a test server over `home`: the tests' keys, one worker (as before
    the default became one per core: the machine running the suite is shared)."""
    return launcher.home_environment(home, API_KEYS, **{"AGORA_WORKERS": "1", **overrides})


# A second agent beside the tests' `agent` key: two people on one desk.
BO_KEY = "test-agent-bo-key-0123456789abcdef"


def two_agent_desk(home: Path, store: Path) -> ServiceProcess:
    """A started service over `home` with a store of its own at `store` (its queue holds only
    what its test sent) and a second agent key, `bo` (BO_KEY)."""
    keys = f"{launcher.api_keys_setting(API_KEYS)},agent:bo:{BO_KEY}"
    env = service_env(home, AGORA_STORE_URL=f"sqlite:///{store}", AGORA_API_KEYS=keys)
    return ServiceProcess(env).start()


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


BENCH = ROOT / "bench"


def load_bench_module(name: str) -> ModuleType:
    """A bench/ script as a module (bench/ is scripts, not a package; a script may import its
    siblings, so bench/ is on sys.path while it loads)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module
