"""Cold start on MovieLens-100K: a text query and a user described by three films.

Behavioural (`model`) tests on the real dataset from the mirror (`integration`). The hybrid is
the production-shaped one (EASE + MiniLM content model), fitted once for the module; requests go
through the feed router, as a served feed does.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data.loaders import load_interactions, load_items
from data.schemas import split_tags
from features.embeddings import TextEncoder
from models.recommenders import FeedRequest, create_recommender, route_feed
from models.recommenders.hybrid import HybridRecommender

pytestmark = [pytest.mark.integration, pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def fitted_on_movielens(
    mirror_path: Path | None,
    shared_data_dir: Path,
    encoder: TextEncoder,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[HybridRecommender, pd.DataFrame]:
    """The hybrid fitted once on MovieLens-100K, and the items frame (environment as the
    function-scoped `mirror` and `isolated_home` fixtures set it)."""
    if mirror_path is None:
        pytest.skip("no datasets mirror: set AGORA_DATA_MIRROR or put shared/datasets beside it")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGORA_HOME", str(tmp_path_factory.mktemp("agora-home")))
        patch.setenv("AGORA_DATA_DIR", str(shared_data_dir))
        patch.setenv("AGORA_EMBEDDING_CACHE", str(shared_data_dir.parent / "embeddings"))
        patch.setenv("AGORA_DATA_MIRROR", str(mirror_path))
        interactions, items = load_interactions("movielens-100k"), load_items("movielens-100k")
        model = create_recommender("hybrid", encoder=encoder).fit(interactions, items)
    assert isinstance(model, HybridRecommender)
    return model, items


@pytest.fixture
def hybrid(fitted_on_movielens: tuple[HybridRecommender, pd.DataFrame]) -> HybridRecommender:
    return fitted_on_movielens[0]


@pytest.fixture
def movielens_items(fitted_on_movielens: tuple[HybridRecommender, pd.DataFrame]) -> pd.DataFrame:
    return fitted_on_movielens[1]


def genres(items: pd.DataFrame) -> dict[str, set[str]]:
    return {row.item_id: set(split_tags(row.genres)) for row in items.itertuples()}


def ids_by_title(items: pd.DataFrame, *titles: str) -> list[str]:
    lookup = dict(zip(items["title"], items["item_id"], strict=True))
    return [lookup[title] for title in titles]


def test_space_adventure_query_finds_science_fiction(
    hybrid: HybridRecommender, movielens_items: pd.DataFrame
) -> None:
    items = movielens_items
    feed = route_feed(hybrid, FeedRequest("new-user", k=10, query="space adventure"))
    recs = feed.items
    assert feed.strategy == "cold-start-content" and len(recs) == 10
    of = genres(items)
    sci_fi = [r.item_id for r in recs if "Sci-Fi" in of[r.item_id]]
    # 101 of 1,682 films (6 %) are Sci-Fi: chance gives ~0.6 of 10 (measured 6, all Star Trek)
    assert len(sci_fi) >= 5, [items.set_index("item_id").loc[r.item_id, "title"] for r in recs]


def test_new_user_described_by_three_films_gets_related_films(
    hybrid: HybridRecommender, movielens_items: pd.DataFrame
) -> None:
    items = movielens_items
    liked = ids_by_title(items, "Star Wars (1977)", "Alien (1979)", "Terminator, The (1984)")
    feed = route_feed(hybrid, FeedRequest("new-user", k=10, recent_items=liked))
    recs = feed.items
    assert feed.strategy == "personalized" and len(recs) == 10
    of = genres(items)
    liked_genres = set().union(*(of[item_id] for item_id in liked))
    ids = [r.item_id for r in recs]
    assert not set(ids) & set(liked)
    sharing = [item_id for item_id in ids if of[item_id] & liked_genres]
    assert len(sharing) >= 7  # measured 8/10 (EASE also brings very popular films)
    # Sci-Fi is 6 % of the catalog: chance would give ~0.6 of 10 (measured 4)
    assert sum("Sci-Fi" in of[item_id] for item_id in ids) >= 3


def test_new_romance_fan_differs_from_sci_fi_fan(
    hybrid: HybridRecommender, movielens_items: pd.DataFrame
) -> None:
    items = movielens_items
    romance = ids_by_title(
        items,
        "Sleepless in Seattle (1993)",
        "Pretty Woman (1990)",
        "When Harry Met Sally... (1989)",
    )
    recs = hybrid.recommend_for_items(romance, k=10)
    assert len(recs) == 10
    of = genres(items)
    assert sum("Romance" in of[r.item_id] for r in recs) >= 5
    assert sum("Sci-Fi" in of[r.item_id] for r in recs) <= 1
