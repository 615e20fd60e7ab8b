"""Which registered model each slot serves: the environment, else the registry's binding (or its
recorded copy when the registry is down), else the slot's default name; and the alias watch
seeing a binding move."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from models.served_models import RECOMMENDER_SLOT, SERVING_SLOT_TAG, SLOT_BOUND_AT_TAG
from serving.champion_cache import BINDINGS_FILE, ChampionCache, ChampionUnavailableError
from serving.served_models import ServedModels, changes_since, resolve_slots
from serving.settings import (
    BINDING_DEFAULT,
    BINDING_ENVIRONMENT,
    BINDING_LOCAL_CACHE,
    BINDING_REGISTRY,
    Settings,
    SlotModel,
    resolve_slot_models,
    served_parts,
)


def test_the_environment_wins_then_the_binding_then_the_default() -> None:
    slots = resolve_slot_models(
        pinned={"category": "pinned-category"},
        bound={"category": "bound-category", "sentiment-en": "my-sentiment"},
    )
    assert slots["category"] == SlotModel("pinned-category", BINDING_ENVIRONMENT)
    assert slots["sentiment-en"] == SlotModel("my-sentiment", BINDING_REGISTRY)
    assert slots["sentiment-zh"] == SlotModel("agora-triage-sentiment-zh", BINDING_DEFAULT)
    assert slots[RECOMMENDER_SLOT] == SlotModel("agora-recommender", BINDING_DEFAULT)
    cached = resolve_slot_models({}, {"reason": "my-reason"}, BINDING_LOCAL_CACHE)
    assert cached["reason"] == SlotModel("my-reason", BINDING_LOCAL_CACHE)


def test_language_slots_are_served_only_when_bound_or_pinned() -> None:
    slots = resolve_slot_models(pinned={"sentiment-es": "es-tickets"}, bound={"reason-zh": "zh"})
    assert slots["reason-zh"] == SlotModel("zh", BINDING_REGISTRY)
    assert slots["sentiment-es"] == SlotModel("es-tickets", BINDING_ENVIRONMENT)
    assert "category-zh" not in slots  # nothing bound: not served, no problem reported
    assert list(slots)[-1] == RECOMMENDER_SLOT
    assert "reason-zh" not in resolve_slot_models({}, {})


def test_a_service_serves_the_parts_it_names_and_is_ready_with_them() -> None:
    assert served_parts({}) == {"feeds", "triage"}
    assert served_parts({"AGORA_PARTS": " Triage "}) == {"triage"}
    assert served_parts({"AGORA_PARTS": "feeds,triage"}) == {"feeds", "triage"}
    with pytest.raises(ValueError, match="AGORA_PARTS names 'desk'"):
        served_parts({"AGORA_PARTS": "triage,desk"})
    engine: Any = object()  # stands for a loaded triage engine: only its presence counts here
    desk = ServedModels(None, None, engine, {}, parts=frozenset({"triage"}))
    assert desk.ready  # a desk without feeds needs no recommender champion
    assert not ServedModels(None, None, engine, {}).ready  # both parts: the recommender too
    assert not ServedModels(None, None, None, {}, parts=frozenset({"triage"})).ready


def test_settings_read_the_pins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_TRIAGE_MODELS", "category=cfpb-category, reason=my-reason")
    monkeypatch.setenv("AGORA_RECOMMENDER_MODEL", "agora-recommender-my-shop")
    assert Settings.from_env().pinned_models == {
        "category": "cfpb-category",
        "reason": "my-reason",
        RECOMMENDER_SLOT: "agora-recommender-my-shop",
    }
    monkeypatch.delenv("AGORA_TRIAGE_MODELS")
    monkeypatch.delenv("AGORA_RECOMMENDER_MODEL")
    assert Settings.from_env().pinned_models == {}  # every slot follows the registry
    monkeypatch.setenv("AGORA_TRIAGE_MODELS", "category")
    with pytest.raises(ValueError, match="not slot=registered-name"):
        Settings.from_env()


def _bind(client: MlflowClient, name: str, slot: str, at: str) -> None:
    client.create_registered_model(name, tags={SERVING_SLOT_TAG: slot, SLOT_BOUND_AT_TAG: at})


def _unreachable(tmp_path: Path) -> str:
    """A registry URI that cannot be opened (its folder is a file): the outage, without a
    network."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    return f"sqlite:///{blocker / 'mlflow.db'}"


def _settings(tmp_path: Path, uri: str) -> Settings:
    return Settings(tracking_uri=uri, cache_dir=tmp_path / "cache", store_url="sqlite://")


@pytest.mark.integration
def test_bindings_come_from_the_registry_else_from_their_recorded_copy(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _bind(MlflowClient(uri, uri), "my-sentiment", "sentiment-en", "2026-01-01T00:00:00Z")
    up = ChampionCache(tmp_path / "cache", uri)
    slots, from_registry = resolve_slots(_settings(tmp_path, uri), up)
    assert from_registry and slots["sentiment-en"] == SlotModel("my-sentiment", BINDING_REGISTRY)
    assert (tmp_path / "cache" / BINDINGS_FILE).is_file()

    # The registry is down: the recorded bindings still hold.
    down_uri = _unreachable(tmp_path)
    down = ChampionCache(tmp_path / "cache", down_uri)
    bindings = down.bindings()
    assert bindings.source == "local-cache" and bindings.registry_error
    slots, from_registry = resolve_slots(_settings(tmp_path, down_uri), down)
    assert not from_registry
    assert slots["sentiment-en"] == SlotModel("my-sentiment", BINDING_LOCAL_CACHE)

    # Down, and nothing ever recorded: a fresh process serves the defaults...
    never = ChampionCache(tmp_path / "empty-cache", down_uri)
    empty = never.bindings()
    assert (empty.slots, empty.source) == ({}, "none")
    fresh, _ = resolve_slots(_settings(tmp_path, down_uri), never)
    assert fresh["sentiment-en"].binding == BINDING_DEFAULT
    # ...but a reload keeps what the process serves bound. Regression: a reload during an
    # outage, with no recorded bindings, switched a bound slot back to its default model.
    kept, _ = resolve_slots(_settings(tmp_path, down_uri), never, serving=slots)
    assert kept["sentiment-en"] == SlotModel("my-sentiment", BINDING_LOCAL_CACHE)
    assert kept["category"].binding == BINDING_DEFAULT


@pytest.mark.integration
def test_the_watch_sees_a_binding_move_but_never_an_outage(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = _settings(tmp_path, uri)
    cache = ChampionCache(settings.cache_dir, uri)
    slots, _ = resolve_slots(settings, cache)
    served = ServedModels(None, None, None, {}, slots=slots)
    assert changes_since(served, settings, cache) == {}
    _bind(MlflowClient(uri, uri), "my-category", "category", "2026-01-01T00:00:00Z")
    assert changes_since(served, settings, cache) == {"category": "my-category"}

    # A language slot appears with its first binding and goes when it is released: replicas
    # follow both (the watch compared only the slots already served, and missed them).
    slots, _ = resolve_slots(settings, cache)
    served = ServedModels(None, None, None, {}, slots=slots)
    client = MlflowClient(uri, uri)
    _bind(client, "zh-reasons", "reason-zh", "2026-01-02T00:00:00Z")
    assert changes_since(served, settings, cache) == {"reason-zh": "zh-reasons"}
    slots, _ = resolve_slots(settings, cache)
    served = ServedModels(None, None, None, {}, slots=slots)
    client.delete_registered_model_tag("zh-reasons", SERVING_SLOT_TAG)
    assert changes_since(served, settings, cache) == {"reason-zh": "(unbound)"}

    slots, _ = resolve_slots(settings, cache)
    served = ServedModels(None, None, None, {}, slots=slots)
    down_uri = _unreachable(tmp_path)
    down = ChampionCache(tmp_path / "empty-cache", down_uri)  # nothing recorded: defaults
    assert changes_since(served, _settings(tmp_path, down_uri), down) == {}


def test_a_registry_failure_is_reported_in_one_line_without_its_sql(tmp_path: Path) -> None:
    """SQLAlchemy's message goes on with the statement and a link; /model_info and a reload's
    503 show the reason, so it keeps the first line."""
    broken = tmp_path / "mlflow.db"
    broken.write_bytes(b"not a database " * 100)
    cache = ChampionCache(tmp_path / "cache", f"sqlite:///{broken}")
    with pytest.raises(ChampionUnavailableError) as refused:
        cache.resolve("agora-recommender")
    message = str(refused.value)
    assert "no champion for 'agora-recommender'" in message
    assert "\n" not in message and "[SQL:" not in message
