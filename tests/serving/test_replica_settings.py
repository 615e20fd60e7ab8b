"""What lets replicas share a registry and nothing else: the poll default, the version cache,
and a watch that sees every move."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.served_models import CHAMPION_ALIAS
from serving.champion_cache import ChampionCache, ChampionRef, _place, version_folder
from serving.served_models import ServedModels, changes_since, resolve_slots
from serving.settings import DEFAULT_SHARED_REGISTRY_RELOAD_S, Settings, reload_interval


@pytest.mark.parametrize(
    "uri", ["http://registry:5000", "https://mlflow.example", "postgresql+psycopg://u@db/mlflow"]
)
def test_a_shared_registry_is_polled_by_default(uri: str) -> None:
    assert reload_interval(uri, {}) == DEFAULT_SHARED_REGISTRY_RELOAD_S > 0


@pytest.mark.parametrize("uri", ["sqlite:////home/me/.agora/mlflow.db", "file:///x", "/x/mlruns"])
def test_a_local_store_is_not_polled_unless_asked(uri: str) -> None:
    assert reload_interval(uri, {}) == 0
    assert reload_interval(uri, {"AGORA_RELOAD_INTERVAL": "2.5"}) == 2.5


def test_the_environment_can_turn_polling_off_and_refuses_nonsense() -> None:
    assert reload_interval("http://registry:5000", {"AGORA_RELOAD_INTERVAL": "0"}) == 0
    with pytest.raises(ValueError, match="AGORA_RELOAD_INTERVAL"):
        reload_interval("http://registry:5000", {"AGORA_RELOAD_INTERVAL": "-1"})


def test_a_version_number_from_another_registry_is_another_cache_folder() -> None:
    # Guards: a cache outliving a rebuilt registry served its old v1 as the new v1.
    first = version_folder("1", "models:/m-aaaa")
    assert first.startswith("v1-")
    assert first != version_folder("1", "models:/m-bbbb")
    assert first == version_folder("1", "models:/m-aaaa")


def test_a_second_download_of_a_version_leaves_the_first_in_place(tmp_path: Path) -> None:
    # Guards: two workers of one replica polling alike replaced a copy the other was loading.
    target = tmp_path / "v1-abc"
    for content in ("first", "second"):
        download = tmp_path / f"download-{content}"
        download.mkdir()
        (download / "MLmodel").write_text(content)
        _place(download, target)
    assert (target / "MLmodel").read_text() == "first"


@pytest.mark.integration
def test_the_watch_sees_a_first_champion_for_a_slot_that_served_nothing(tmp_path: Path) -> None:
    # Guards: a replica started before a slot's first promotion never served that slot.
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = Settings(tracking_uri=uri, cache_dir=tmp_path / "cache", store_url="sqlite://")
    cache = ChampionCache(settings.cache_dir, uri)
    slots, _ = resolve_slots(settings, cache)
    served = ServedModels(None, None, None, {}, slots=slots)
    assert changes_since(served, settings, cache) == {}

    name = slots["reason"].name
    client = MlflowClient(uri, uri)
    client.create_registered_model(name)
    client.create_model_version(name, source=(tmp_path / "model").as_uri())
    client.set_registered_model_alias(name, CHAMPION_ALIAS, "1")
    assert changes_since(served, settings, cache) == {name: "1"}

    # Once that version was fetched and failed to load, it is no move any more: a broken
    # champion is not reloaded at every poll, but the next one is.
    (cache.cache_dir / name).mkdir(parents=True)
    cache._write_pointer(ChampionRef(name, "1", "registry", str(tmp_path), "now", uri))
    assert changes_since(served, settings, cache) == {}
    client.create_model_version(name, source=(tmp_path / "model").as_uri())
    client.set_registered_model_alias(name, CHAMPION_ALIAS, "2")
    assert changes_since(served, settings, cache) == {name: "2"}
