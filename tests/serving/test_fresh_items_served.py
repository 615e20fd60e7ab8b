"""A worker's fresh items (serving.fresh_items): what was published is embedded with the served
model's encoder, items the model knows are left to it, an edit or a new champion re-embeds,
and a share of 0 turns it all off."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from data.store import PublishedItem, Store
from features.embeddings import shared_text_encoder
from features.item_text import item_text
from models.recommenders import Recommender, create_recommender
from serving import champion_reload
from serving.fresh_items import FreshSettings, ServedFreshItems
from tests.models.recommenders.conftest import community_interactions, community_items


@pytest.fixture(scope="module")
def hybrid() -> Recommender:
    model = create_recommender("hybrid", encoder=shared_text_encoder())
    return model.fit(community_interactions(), community_items())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'store.db'}")


def test_published_items_are_embedded_and_items_the_model_knows_left_to_it(
    store: Store, hybrid: Recommender
) -> None:
    served = ServedFreshItems(store.published, FreshSettings(), lambda: hybrid)
    assert served.catch_up() == 0 and not served.current()
    store.published.publish(
        [PublishedItem("new-1", "Comet Hunters", "", ("Sci-Fi",)), PublishedItem("i0", "x")],
        "platform",
    )
    assert served.catch_up() == 1
    fresh = served.current()
    assert fresh is not None and fresh.ids == ("new-1",)
    assert fresh.describe("new-1").title == "Comet Hunters"
    before = fresh.vector_of("new-1").copy()
    store.published.publish([PublishedItem("new-1", "Sourdough at Home")], "platform")
    assert served.catch_up() == 1  # an edit is embedded again
    after = served.current()
    assert after is not None and after.describe("new-1").title == "Sourdough at Home"
    assert float(after.vector_of("new-1") @ before) < 0.9


def test_a_new_champion_embeds_the_items_again(store: Store, hybrid: Recommender) -> None:
    model = {"served": hybrid}
    served = ServedFreshItems(store.published, FreshSettings(), lambda: model["served"])
    store.published.publish([PublishedItem("new-1", "Comet Hunters")], "platform")
    served.catch_up()
    model["served"] = create_recommender("hybrid", encoder=shared_text_encoder()).fit(
        community_interactions(), community_items()
    )
    assert served.catch_up() == 1
    ease = create_recommender("ease", {"regularization": 1.0}).fit(community_interactions())
    model["served"] = ease  # no content encoder: nothing to embed with, nothing served anew
    assert served.catch_up() == 0


def test_a_champion_prepared_before_its_swap_embeds_only_what_came_since(
    store: Store, hybrid: Recommender
) -> None:
    """Regression (a contract fuzz): after /admin/reload the first POST /items re-embedded
    every held item with the new champion before answering (1.8-3.9 s for 24 items)."""
    model = {"served": hybrid}
    served = ServedFreshItems(store.published, FreshSettings(), lambda: model["served"])
    store.published.publish(
        [PublishedItem("new-1", "Comet Hunters"), PublishedItem("new-2", "Sourdough at Home")],
        "platform",
    )
    served.catch_up()
    champion = create_recommender("hybrid", encoder=shared_text_encoder()).fit(
        community_interactions(), community_items()
    )
    assert served.prepare(champion) == 2
    # An edit published between the preparation and the swap is embedded anew, not taken
    # from what was prepared.
    store.published.publish([PublishedItem("new-2", "Tidal Pools", "", ("Nature",))], "platform")
    model["served"] = champion
    assert served.catch_up() == 1
    fresh = served.current()
    assert fresh is not None and set(fresh.ids) == {"new-1", "new-2"}
    expected = champion.embed_texts([item_text("Tidal Pools", "Nature", "")])[0]
    assert np.allclose(fresh.vector_of("new-2"), expected, atol=1e-5)


def test_a_reload_prepares_the_fresh_items_before_it_swaps(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The reloader hands the new champion to the fresh items while the old one still serves."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    def served_models(version: str) -> SimpleNamespace:
        return SimpleNamespace(
            ready=True,
            recommender=SimpleNamespace(name=f"recommender v{version}"),
            problems={},
            versions=lambda: {"recommender": version},
            refs=lambda: {},
        )

    loads = iter([served_models("1"), served_models("2")])
    monkeypatch.setattr(champion_reload, "load_served_models", lambda *args: next(loads))
    champions: Any = SimpleNamespace(
        generation=lambda: "g", bump_generation=lambda: "g2", registry_reached_at=None
    )
    prepared: list[tuple[Any, Any]] = []
    fresh: Any = SimpleNamespace(prepare=lambda model: prepared.append((model, reloader.served)))
    settings: Any = SimpleNamespace(reload_interval_s=0)
    retirements: Any = SimpleNamespace(ready=False)
    reloader = champion_reload.ChampionReloader(settings, champions, retirements, fresh)
    old = reloader.served
    assert reloader.reload(announce=True, trigger="admin") is True
    assert prepared == [(reloader.served.recommender, old)]


def test_a_share_of_zero_turns_fresh_items_off(store: Store, hybrid: Recommender) -> None:
    served = ServedFreshItems(store.published, FreshSettings(share=0), lambda: hybrid)
    store.published.publish([PublishedItem("new-1", "Comet Hunters")], "platform")
    served.start()
    assert served.catch_up() == 0 and served.current() is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [("AGORA_FRESH_SHARE", "0.6"), ("AGORA_FRESH_SHARE", "-0.1"), ("AGORA_FRESH_REFRESH_S", "0")],
)
def test_bad_settings_are_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ValueError, match=variable):
        FreshSettings.from_env({variable: value})
    assert FreshSettings.from_env({}) == FreshSettings(share=0.2, refresh_s=2.0)
