"""Shared fixtures: every test gets private data, embedding and MLflow folders.

Integration tests read the real datasets through the mirror (AGORA_DATA_MIRROR, which the
Makefile points at ../shared/datasets) and skip with a reason when no mirror is present. A test
that reaches the mirror or a real service through a fixture must be marked `integration`: the
collection fails otherwise, so the markers keep meaning what they say.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from data.environment import apply_stack_environment

_SESSION_DATA = "agora-datasets"
# Fixtures that reach the datasets mirror or a real BentoML server.
INTEGRATION_FIXTURES = frozenset({"mirror", "mirror_path", "champions_home", "service"})


def pytest_configure(config: pytest.Config) -> None:
    """The stack's offline environment, for test runs started without the Makefile."""
    apply_stack_environment()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a test that uses a real dataset or service without the `integration` marker."""
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


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data_dir: Path) -> Path:
    """Keep tests away from the user's ~/.agora, ~/.cache/agora and MLflow store."""
    home = tmp_path / "agora-home"
    monkeypatch.setenv("AGORA_HOME", str(home))
    monkeypatch.setenv("AGORA_DATA_DIR", str(shared_data_dir))
    monkeypatch.setenv("AGORA_EMBEDDING_CACHE", str(shared_data_dir.parent / "embeddings"))
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
