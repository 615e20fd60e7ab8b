"""One contract suite, run for every recommender type on the two-community dataset.

Each type is fitted once per module (the `fitted` fixture): tests must not change the model.
The hybrid runs the same tests as every other type, with no special case.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from features.embeddings import TextEncoder
from models.recommenders import (
    ItemFilter,
    ModelFormatError,
    NotFittedError,
    Recommender,
    UnknownItemError,
    UnknownUserError,
    create_recommender,
    load_recommender,
)

TINY_ALS = {"factors": 4, "regularization": 0.1, "iterations": 10, "num_threads": 1}
TINY: dict[str, dict[str, Any]] = {
    "popularity": {},
    "itemknn": {"neighbours": 5, "num_threads": 1},
    "als": TINY_ALS,
    "bpr": {"factors": 4, "learning_rate": 0.05, "iterations": 200, "num_threads": 1},
    "ease": {"regularization": 1.0},
    "embedding": {},
    "hybrid": {
        "components": [
            {"type": "ease", "config": {"regularization": 1.0}},
            {"type": "als", "weight": 0.5, "config": TINY_ALS},
            {"type": "embedding", "weight": 0.3},
        ]
    },
}
KINDS = list(TINY)
SPACE_ITEMS = {"i0", "i2", "i4", "i6", "i8"}


def make(kind: str, encoder: TextEncoder) -> Recommender:
    return create_recommender(kind, TINY[kind], encoder=encoder)


@pytest.fixture(scope="module", params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def fitted(
    kind: str, encoder: TextEncoder, interactions: pd.DataFrame, items: pd.DataFrame
) -> Recommender:
    return make(kind, encoder).fit(interactions, items)


def history(interactions: pd.DataFrame, user_id: str) -> set[str]:
    return set(interactions.loc[interactions["user_id"] == user_id, "item_id"])


def genres_of(items: pd.DataFrame) -> dict[str, set[str]]:
    return {row.item_id: set(row.genres.split("|")) for row in items.itertuples()}


def test_unfitted_model_raises_not_fitted(kind: str, encoder: TextEncoder, tmp_path: Path) -> None:
    model = make(kind, encoder)
    calls = [
        lambda: model.recommend("u00"),
        lambda: model.recommend_batch(["u00"]),
        lambda: model.recommend_for_items(["i0"]),
        lambda: model.similar_items("i0"),
        lambda: model.known_user("u00"),
        lambda: model.popular_items(3),
        lambda: model.describe_items(["i0"]),
        lambda: model.usable_items_mask(),
        lambda: model.save(tmp_path / "m"),
    ]
    for call in calls:
        with pytest.raises(NotFittedError, match="not fitted"):
            call()
    assert not (tmp_path / "m").exists()


def test_recommend_excludes_seen_and_is_sorted(
    fitted: Recommender, interactions: pd.DataFrame
) -> None:
    for user_id in sorted(interactions["user_id"].unique()):
        recs = fitted.recommend(user_id, k=5)
        ids = [r.item_id for r in recs]
        assert ids, user_id
        assert len(ids) == len(set(ids)) <= 5
        assert not set(ids) & history(interactions, user_id)
        scores = [r.score for r in recs]
        assert scores == sorted(scores, reverse=True)


def test_exclude_seen_false_may_return_seen(
    fitted: Recommender, interactions: pd.DataFrame
) -> None:
    ids = {r.item_id for r in fitted.recommend("u00", k=11, exclude_seen=False)}
    assert history(interactions, "u00") <= ids


def test_first_recommendation_is_the_skipped_film_of_the_users_side(
    kind: str, fitted: Recommender
) -> None:
    if kind == "popularity":
        pytest.skip("popularity is not personalised")
    # u01 skipped i2 (space side), u07 skipped i3 (romance side)
    assert fitted.recommend("u01", k=1)[0].item_id == "i2"
    assert fitted.recommend("u07", k=1)[0].item_id == "i3"


def test_unknown_user(fitted: Recommender) -> None:
    assert not fitted.known_user("stranger")
    with pytest.raises(UnknownUserError, match="'stranger'"):
        fitted.recommend("stranger")
    with pytest.raises(UnknownUserError, match="'stranger'"):
        fitted.recommend_batch(["u00", "stranger"])


def test_similar_items(fitted: Recommender) -> None:
    similar = fitted.similar_items("i0", k=3)
    assert similar and "i0" not in {r.item_id for r in similar}
    with pytest.raises(UnknownItemError, match="'nope'"):
        fitted.similar_items("nope")


@pytest.mark.parametrize("k", [0, -1, "3", 2.5, True])
def test_bad_k_is_a_value_error(fitted: Recommender, k: Any) -> None:
    for call in (
        lambda: fitted.recommend("u00", k=k),
        lambda: fitted.recommend_batch(["u00"], k=k),
        lambda: fitted.similar_items("i0", k=k),
        lambda: fitted.recommend_for_items(["i0"], k=k),
    ):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            call()


def test_filters_are_respected(fitted: Recommender, items: pd.DataFrame) -> None:
    genres = genres_of(items)
    included = fitted.recommend("u00", k=10, filters=ItemFilter(include_genres={"Romance"}))
    assert included and all("Romance" in genres[r.item_id] for r in included)
    excluded = fitted.recommend("u06", k=10, filters=ItemFilter(exclude_genres=["Romance"]))
    assert excluded and all("Romance" not in genres[r.item_id] for r in excluded)
    top = fitted.recommend("u01", k=1)[0].item_id
    without = fitted.recommend("u01", k=10, filters=ItemFilter(exclude_item_ids={top, "ghost"}))
    assert without and top not in {r.item_id for r in without}
    similar = fitted.similar_items("i0", k=10, filters=ItemFilter(include_genres={"Comedy"}))
    assert similar and all("Comedy" in genres[r.item_id] for r in similar)
    # A client's spelling of a genre needs neither the catalog's case nor its spacing.
    spelt = fitted.recommend("u06", k=10, filters=ItemFilter(exclude_genres=[" romance"]))
    assert spelt == excluded


def test_recommend_batch_equals_per_user_recommend(
    fitted: Recommender, interactions: pd.DataFrame
) -> None:
    users = sorted(interactions["user_id"].unique())
    batch = fitted.recommend_batch(users, k=4)
    assert list(batch) == users
    for user_id in users:
        single = fitted.recommend(user_id, k=4)
        assert [r.item_id for r in batch[user_id]] == [r.item_id for r in single]
        assert [r.score for r in batch[user_id]] == pytest.approx(
            [r.score for r in single], rel=1e-6, abs=1e-9
        )


def test_recommend_for_items(kind: str, fitted: Recommender) -> None:
    recs = fitted.recommend_for_items(["i0", "i2", "i4"], k=4)
    ids = [r.item_id for r in recs]
    assert ids and not {"i0", "i2", "i4"} & set(ids)
    if kind != "popularity":
        assert ids[0] in SPACE_ITEMS | {"i10"}
    with pytest.raises(UnknownItemError, match="'ghost'"):
        fitted.recommend_for_items(["i0", "ghost"])
    with pytest.raises(ValueError, match="empty"):
        fitted.recommend_for_items([])


def test_save_load_gives_identical_answers(
    fitted: Recommender, encoder: TextEncoder, interactions: pd.DataFrame, tmp_path: Path
) -> None:
    users = sorted(interactions["user_id"].unique())
    path = fitted.save(tmp_path / "model")
    loaded = load_recommender(path, encoder=encoder)
    assert type(loaded) is type(fitted)
    assert loaded.config == fitted.config
    assert loaded.recommend_batch(users, k=5) == fitted.recommend_batch(users, k=5)
    assert loaded.similar_items("i3", k=4) == fitted.similar_items("i3", k=4)
    assert loaded.recommend_for_items(["i1", "i5"], k=4) == fitted.recommend_for_items(
        ["i1", "i5"], k=4
    )
    assert type(fitted).load(path).recommend("u03", k=3) == fitted.recommend("u03", k=3)
    # saving again replaces the folder atomically and leaves no staging folders behind
    fitted.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_loading_checks_the_manifest(fitted: Recommender, tmp_path: Path) -> None:
    path = fitted.save(tmp_path / "model")
    other = "ease" if fitted.model_type != "ease" else "als"
    with pytest.raises(ModelFormatError, match=re.escape(f"not '{other}'")):
        create_recommender(other).load(path)
    with pytest.raises(ModelFormatError, match=r"no manifest\.json"):
        load_recommender(tmp_path / "nowhere")


def test_popular_items_are_the_most_interacted_allowed_items(
    fitted: Recommender, interactions: pd.DataFrame, items: pd.DataFrame
) -> None:
    users_per_item = interactions.groupby("item_id")["user_id"].nunique()
    popular = fitted.popular_items(k=4)
    assert len(popular) == 4
    assert [r.score for r in popular] == [float(users_per_item[r.item_id]) for r in popular]
    assert popular[0].score == users_per_item.max()
    assert "i10" not in {r.item_id for r in fitted.popular_items(k=11)}  # nobody watched it
    skipped = fitted.popular_items(k=4, exclude=[popular[0].item_id])
    assert skipped and popular[0].item_id not in {r.item_id for r in skipped}
    romance = fitted.popular_items(k=10, filters=ItemFilter(include_genres={"Romance"}))
    genres = genres_of(items)
    assert romance and all("Romance" in genres[r.item_id] for r in romance)


def test_describe_items_reads_the_fitted_catalog(fitted: Recommender, items: pd.DataFrame) -> None:
    titles = dict(zip(items["item_id"], items["title"], strict=True))
    described = fitted.describe_items(["i3", "i10", "ghost"])
    assert [info.item_id for info in described] == ["i3", "i10", "ghost"]
    assert described[0].title == titles["i3"] and described[0].genres == ("Romance", "Comedy")
    assert described[1].title == titles["i10"]
    assert described[2].title is None and described[2].genres == ()


def test_capabilities_are_declared(fitted: Recommender) -> None:
    mask = fitted.usable_items_mask()
    assert mask.shape == (fitted.catalog.n_items,) and mask.sum() >= 10
    assert bool(mask[fitted.catalog.items.index("i10")]) == fitted.serves_cold_items
    assert fitted.known_item("i10") == fitted.serves_cold_items
    if fitted.answers_text_queries:
        recs = fitted.recommend_for_text("space exploration voyage", k=3)
        assert recs and recs[0].item_id in SPACE_ITEMS | {"i10"}
    else:
        with pytest.raises(ValueError, match="text"):
            fitted.recommend_for_text("space exploration voyage")


def _to_legacy_dialect(folder: Path) -> int:
    """Rewrite every manifest under `folder` as format_version 1 wrote it; returns how many."""
    manifests = sorted(folder.rglob("manifest.json"))
    for path in manifests:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        legacy_type = {"itemknn": "item-knn"}.get(manifest["type"], manifest["type"])
        legacy = {
            "format": "agora-recommender",
            "format_version": 1,
            "type": legacy_type,
            "config": manifest["config"],
            "saved_at": manifest["saved_at"],
            "n_users": manifest["n_users"],
            "n_items": manifest["n_items"],
        }
        path.write_text(json.dumps(legacy), encoding="utf-8")
    catalog = folder / "catalog.json"
    fields = json.loads(catalog.read_text(encoding="utf-8"))
    fields.pop("events_through")  # v1 catalogs did not record it
    catalog.write_text(json.dumps(fields), encoding="utf-8")
    return len(manifests)


def test_a_folder_saved_by_format_version_1_still_loads(
    fitted: Recommender, encoder: TextEncoder, tmp_path: Path
) -> None:
    """Regression: models saved before the one artifact dialect (agora-recommender v1,
    type `item-knn`) must keep loading after an upgrade."""
    path = fitted.save(tmp_path / "model")
    assert _to_legacy_dialect(path) >= 1
    loaded = load_recommender(path, encoder=encoder)
    assert type(loaded) is type(fitted) and loaded.config == fitted.config
    assert loaded.catalog.events_through == 0
    assert loaded.recommend_batch(["u01", "u07"], k=4) == fitted.recommend_batch(
        ["u01", "u07"], k=4
    )
