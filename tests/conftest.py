"""Shared fixtures: every test gets private data, embedding and MLflow folders.

Integration tests read the real datasets through the mirror (AGORA_DATA_MIRROR, which the
Makefile points at ../shared/datasets) and skip with a reason when no mirror is present. A test
that reaches the mirror or a real service through a fixture must be marked `integration`: the
collection fails otherwise, so the markers keep meaning what they say.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from data.environment import apply_stack_environment

_SESSION_DATA = "agora-datasets"
# Fixtures that reach the datasets mirror or a real BentoML server.
INTEGRATION_FIXTURES = frozenset({"mirror", "mirror_path", "champions_home", "service"})
# The tests over the session's trained champions and its shared server: pytest-xdist runs them
# in one worker (see pytest_xdist_make_scheduler), so the champions are trained once.
SERVICE_TESTS = "tests/serving/"


def pytest_configure(config: pytest.Config) -> None:
    """The stack's offline environment, for test runs started without the Makefile."""
    apply_stack_environment()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Workers share the cores: one torch/OpenMP thread each, or they oversubscribe them.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        os.environ.setdefault("MKL_NUM_THREADS", "1")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make test` runs pytest-xdist workers: every test module is one unit of work (its
    module-scoped fitted models are built once) and all of tests/serving is one unit (its
    session champions and shared server exist once)."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return SERVICE_TESTS if nodeid.startswith(SERVICE_TESTS) else nodeid.split("::")[0]

    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a test that uses a real dataset or service without the `integration` marker;
    the real-service tests go first, so their worker starts on the longest chain."""
    items.sort(key=lambda item: not item.nodeid.startswith(SERVICE_TESTS))
    unmarked = [
        item.nodeid
        for item in items
        if INTEGRATION_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("integration") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests use the datasets mirror or a real service but are not marked "
            "integration:\n  " + "\n  ".join(unmarked)
        )


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dataset cache for the whole session, so the mirror is copied once."""
    return tmp_path_factory.mktemp(_SESSION_DATA)


@pytest.fixture(scope="session")
def embedding_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One sentence-embedding cache for the run, shared by pytest-xdist's workers (the cache
    writes atomically), so no text is encoded twice in one run."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    return root / "embeddings"


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    shared_data_dir: Path,
    embedding_cache_dir: Path,
) -> Path:
    """Keep tests away from the user's ~/.agora, ~/.cache/agora and MLflow store."""
    home = tmp_path / "agora-home"
    monkeypatch.setenv("AGORA_HOME", str(home))
    monkeypatch.setenv("AGORA_DATA_DIR", str(shared_data_dir))
    monkeypatch.setenv("AGORA_EMBEDDING_CACHE", str(embedding_cache_dir))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return home


def _mirror() -> Path | None:
    value = os.environ.get("AGORA_DATA_MIRROR")
    if value and Path(value).is_dir():
        return Path(value)
    beside = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    return beside if beside.is_dir() else None


@pytest.fixture(scope="session")
def mirror_path() -> Path | None:
    """The datasets mirror folder, or None when there is none (for session fixtures)."""
    return _mirror()


@pytest.fixture
def mirror(monkeypatch: pytest.MonkeyPatch, mirror_path: Path | None) -> Path:
    """The datasets mirror folder; skips the test when there is none."""
    found = mirror_path
    if found is None:
        pytest.skip(
            "no datasets mirror: set AGORA_DATA_MIRROR or put shared/datasets beside the repo"
        )
    monkeypatch.setenv("AGORA_DATA_MIRROR", str(found))
    return found
