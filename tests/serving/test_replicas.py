"""Several replicas: two services that share no disk follow a promotion through the registry.

One `mlflow server` (PostgreSQL backend store, artifacts served over HTTP as mlflow-artifacts:/),
one PostgreSQL event store, and two service processes, each with its own AGORA_HOME and serving
cache, as two machines would have. While a client keeps calling both, v2 of the recommender is
registered and promoted: both replicas must serve it within PROPAGATION_BOUND_S, with no failed
request, and an event posted to one replica must shape the other's feed.

PostgreSQL comes from AGORA_TEST_POSTGRES_URL (`.ci/run` starts a server); without it the test
skips, unless AGORA_REQUIRE_POSTGRES=1 (CI), where it fails instead.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from cli.launcher import free_port
from data.environment import stack_environment
from tests.postgres import POSTGRES_ENV
from tests.serving.conftest import ROOT, ServiceProcess, service_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REQUIRE_POSTGRES_ENV = "AGORA_REQUIRE_POSTGRES"
POLL_S = 1.0  # the replicas' AGORA_RELOAD_INTERVAL in this test (the default is 10 s)
# A promotion reaches a replica within one poll plus one reload (resolve, download, load); the
# rest is headroom for a shared CI machine.
PROPAGATION_BOUND_S = 20.0
MLFLOW_START_S = 90.0
RECOMMENDER = "agora-recommender"
SENTIMENT_SLOT = "sentiment-en"


@pytest.fixture
def postgres_server() -> str:
    """The test PostgreSQL server's URL; skips without one, fails when CI requires one."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        reason = f"{POSTGRES_ENV} is not set: no PostgreSQL server for the replica test"
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(f"{reason} ({REQUIRE_POSTGRES_ENV}=1)")
        pytest.skip(reason)
    return url


@contextlib.contextmanager
def fresh_database(server_url: str, purpose: str) -> Iterator[str]:
    """A new database on the server (dropped afterwards, connections and all); its URL."""
    name = f"agora_{purpose}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def mlflow_server(backend_url: str, artifacts: Path, log: Path) -> Iterator[str]:
    """`mlflow server` over `backend_url`, serving the artifacts itself; its URL."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--backend-store-uri",
        backend_url,
        "--artifacts-destination",
        str(artifacts),
        "--serve-artifacts",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    # Without job execution the server skips its job workers (~1.4 GB less, see STACK.md).
    env = {**stack_environment(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + MLFLOW_START_S
        while not _answers(url + "/health"):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                pytest.fail(f"mlflow server did not start (code {process.poll()}):\n{tail}")
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # the group: uvicorn's worker too
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def train_recommender_version() -> str:
    """Train the popularity recommender on MovieLens-100K into the registry; its version."""
    from training.recommender.config import load_run_config
    from training.recommender.pipeline import train_recommender

    config_path = ROOT / "configs" / "recommender" / "popularity.fast.yaml"
    outcome = train_recommender("movielens-100k", load_run_config(config_path, "popularity"))
    return str(outcome.model_version)


def train_first_champions() -> None:
    """v1 of the recommender and of the English sentiment model, each promoted: the least
    that makes a service ready."""
    from mlflow.tracking import MlflowClient

    from models.served_models import triage_slot
    from training.promotion import promote
    from training.triage.pipeline import train_triage

    train_recommender_version()
    slot = triage_slot(SENTIMENT_SLOT)
    sentiment = train_triage(slot.task, slot.dataset, "tfidf", limit=500).registered_name
    client = MlflowClient()
    for name in (RECOMMENDER, sentiment):
        promote(client, name, reason="replica test: first champion")


@dataclass
class SteadyClient:
    """Calls /recommend and /triage on every replica in turn until stopped; keeps every
    failure, and when each replica first answered a feed with each recommender version."""

    replicas: dict[str, ServiceProcess]
    failures: list[tuple[str, str, int, object]] = field(default_factory=list)
    first_seen: dict[tuple[str, str], float] = field(default_factory=dict)
    calls: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        users = itertools.cycle([str(user) for user in range(1, 200)])
        while not self.stop.is_set():
            for label, replica in self.replicas.items():
                status, answer = replica.post("/recommend", {"user_id": next(users), "k": 5})
                self._record(label, "/recommend", status, answer)
                if status == 200:
                    version = answer["model"]["version"]
                    self.first_seen.setdefault((label, version), time.monotonic())
                status, answer = replica.post("/triage", {"text": "my bag never arrived"})
                self._record(label, "/triage", status, answer)
            time.sleep(0.02)

    def _record(self, label: str, path: str, status: int, answer: object) -> None:
        self.calls += 1
        if status != 200:
            self.failures.append((label, path, status, answer))


def served_recommender(replica: ServiceProcess) -> str | None:
    status, info = replica.get("/model_info")
    assert status == 200, info
    model = info["models"].get("recommender")
    return None if model is None else str(model["version"])


def test_a_promotion_reaches_every_replica_through_the_registry_alone(
    postgres_server: str,
    mirror: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    record_property: pytest.RecordProperty,
) -> None:
    started = time.monotonic()
    with (
        fresh_database(postgres_server, "mlflow") as registry_db,
        fresh_database(postgres_server, "store") as store_url,
        mlflow_server(registry_db, tmp_path / "artifacts", tmp_path / "mlflow.log") as registry,
    ):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", registry)
        train_first_champions()

        replicas = {
            label: ServiceProcess(
                service_env(
                    tmp_path / f"replica-{label}",  # its own AGORA_HOME, so its own cache
                    MLFLOW_TRACKING_URI=registry,
                    AGORA_STORE_URL=store_url,
                    AGORA_RELOAD_INTERVAL=str(POLL_S),
                )
            )
            for label in ("a", "b")
        }
        try:
            for replica in replicas.values():
                replica.spawn()  # both start at once; then each is waited for
            for replica in replicas.values():
                replica.wait_until_ready(timeout=180)
            assert {served_recommender(r) for r in replicas.values()} == {"1"}
            ready_s = time.monotonic() - started

            check_the_store_is_shared(replicas["a"], replicas["b"])

            client = SteadyClient(replicas)
            load = threading.Thread(target=client.run, name="steady-client")
            load.start()
            try:
                time.sleep(1.0)  # some requests on v1 first
                from mlflow.tracking import MlflowClient

                from training.promotion import promote

                version = train_recommender_version()
                assert version == "2"
                # The same model family retrained scores the same: the gate is not the point.
                promote(MlflowClient(), RECOMMENDER, version, force=True, reason="replica test")
                promoted = time.monotonic()
                delays = wait_for_version(replicas, version, promoted)
                time.sleep(1.0)  # some requests on v2 on both
            finally:
                client.stop.set()
                load.join(timeout=60)
        finally:
            for replica in replicas.values():
                replica.stop()

    propagation = max(delays.values())
    seen = {
        label: round(client.first_seen[(label, version)] - promoted, 2)
        for label in replicas
        if (label, version) in client.first_seen
    }
    record_property("propagation_s", round(propagation, 2))
    print(
        f"\nreplicas ready {ready_s:.1f} s after the test began; promotion reached "
        f"/model_info in { ({k: round(v, 2) for k, v in delays.items()}) } s, the first v2 feed "
        f"in {seen} s (poll {POLL_S} s); {client.calls} calls, {len(client.failures)} failed"
    )
    assert client.failures == []
    assert set(seen) == set(replicas), "the client saw v2 from every replica"
    assert propagation <= PROPAGATION_BOUND_S
    for label in replicas:  # each fetched v2 over HTTP into its own cache
        cache = tmp_path / f"replica-{label}" / "serving-cache" / RECOMMENDER
        assert list(cache.glob(f"v{version}-*/MLmodel")), f"replica {label}'s cache has no v2"


def wait_for_version(
    replicas: dict[str, ServiceProcess], version: str, since: float
) -> dict[str, float]:
    """Seconds from `since` until each replica's /model_info served `version`."""
    delays: dict[str, float] = {}
    deadline = since + PROPAGATION_BOUND_S + 10  # past the bound: the assertion reports it
    while len(delays) < len(replicas) and time.monotonic() < deadline:
        for label, replica in replicas.items():
            if label not in delays and served_recommender(replica) == version:
                delays[label] = time.monotonic() - since
        time.sleep(0.1)
    missing = set(replicas) - set(delays)
    assert not missing, f"replicas {missing} still serve another version {deadline - since} s on"
    return delays


def check_the_store_is_shared(a: ServiceProcess, b: ServiceProcess) -> None:
    """An event posted to replica A keeps its item out of the user's feed on replica B."""
    user = f"replica-{uuid.uuid4().hex[:10]}"
    status, before = b.post("/recommend", {"user_id": user, "k": 10})
    assert status == 200, before
    top = before["items"][0]["item_id"]
    event = {"event_id": uuid.uuid4().hex, "user_id": user, "item_id": top, "type": "purchase"}
    status, answer = a.post("/events", {"events": [event]})
    assert status == 200 and answer["accepted"] == 1, answer
    status, after = b.post("/recommend", {"user_id": user, "k": 10})
    assert status == 200, after
    assert top not in [item["item_id"] for item in after["items"]], "B did not see A's event"
