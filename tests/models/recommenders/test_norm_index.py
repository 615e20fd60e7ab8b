"""Pruned top-k in factor models (items ordered by norm): exactly the lists and scores of full
scoring, through every mask (seen items, genre filters, excluded items, a narrow filter), for
fitted users and folded-in histories, after save and load; only for catalogs past the size.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.recommenders import ItemFilter
from models.recommenders.factorization import ALSConfig, ALSRecommender, BPRConfig, BPRRecommender
from models.recommenders.norm_index import GRAPH_FILE, NormIndexConfig

N_USERS, N_ITEMS = 120, 400
GENRES = ("Drama", "Comedy", "Horror", "Rare")


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    users = rng.integers(0, N_USERS, 6000)
    # Two taste groups over a Zipf-ish catalog: structure the factors can learn.
    items = (rng.zipf(1.3, 6000) + (users % 2) * 200) % N_ITEMS
    interactions = pd.DataFrame(
        {"user_id": [f"u{u}" for u in users], "item_id": [f"i{i}" for i in items], "rating": 1.0}
    )
    genres = [GENRES[3] if i % 97 == 0 else GENRES[i % 3] for i in range(N_ITEMS)]
    catalog = pd.DataFrame(
        {"item_id": [f"i{i}" for i in range(N_ITEMS)], "title": "t", "genres": genres}
    )
    return interactions, catalog


def _pair(model_type: type, config_type: type, **params: object) -> tuple[object, object]:
    """The same model fitted twice, with and without a graph."""
    interactions, items = _frames()
    off = NormIndexConfig(min_items=0)
    exact = model_type(config_type(**params, norm_index=off)).fit(interactions, items)
    # Small blocks, so that requests stop early and the stopping rule is what is tested.
    on = NormIndexConfig(min_items=1, first_block=64, max_block=128, exact_below_share=0.05)
    pruned = model_type(config_type(**params, norm_index=on)).fit(interactions, items)
    return exact, pruned


@pytest.fixture(scope="module")
def als_pair() -> tuple[ALSRecommender, ALSRecommender]:
    return _pair(ALSRecommender, ALSConfig, factors=16, iterations=5, num_threads=1)  # type: ignore[return-value]


FILTERS = [
    None,
    ItemFilter(include_genres=frozenset({"Drama"})),
    ItemFilter(exclude_genres=frozenset({"Comedy"})),
    ItemFilter(exclude_item_ids=frozenset({"i1", "i2", "i3"})),
    ItemFilter(include_genres=frozenset({"Rare"})),  # under 5% of the catalog: exact path
]


@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize("exclude_seen", [True, False])
def test_retrieval_returns_the_exact_lists(
    als_pair: tuple[ALSRecommender, ALSRecommender], filters: ItemFilter | None, exclude_seen: bool
) -> None:
    exact, approx = als_pair
    assert exact.norm_index is None and approx.norm_index is not None
    for user in [f"u{u}" for u in range(0, N_USERS, 7)]:
        want = exact.recommend(user, 10, exclude_seen, filters)
        got = approx.recommend(user, 10, exclude_seen, filters)
        assert [r.item_id for r in got] == [r.item_id for r in want], user
        assert np.allclose([r.score for r in got], [r.score for r in want])


def test_a_history_is_answered_from_the_graph_like_exact_scoring(
    als_pair: tuple[ALSRecommender, ALSRecommender],
) -> None:
    exact, approx = als_pair
    history = ["i5", "i17", "i230"]
    want = exact.recommend_for_items(history, 10)
    got = approx.recommend_for_items(history, 10)
    assert [r.item_id for r in got] == [r.item_id for r in want]
    assert not {"i5", "i17", "i230"} & {r.item_id for r in got}


def test_bpr_with_its_bias_column_retrieves_like_exact_scoring() -> None:
    exact, approx = _pair(BPRRecommender, BPRConfig, factors=16, iterations=5, num_threads=1)
    for user in ("u0", "u1", "u50"):
        want = [r.item_id for r in exact.recommend(user, 10)]  # type: ignore[attr-defined]
        assert [r.item_id for r in approx.recommend(user, 10)] == want  # type: ignore[attr-defined]


def test_a_loaded_model_orders_its_items_again(
    als_pair: tuple[ALSRecommender, ALSRecommender], tmp_path: Path
) -> None:
    _, approx = als_pair
    approx.save(tmp_path / "model")
    loaded = ALSRecommender.load(tmp_path / "model")
    assert loaded.norm_index is not None
    for user in ("u0", "u3", "u99"):
        assert loaded.recommend(user, 10) == approx.recommend(user, 10)


def test_no_norm_order_below_the_configured_catalog_size(tmp_path: Path) -> None:
    interactions, items = _frames()
    config = ALSConfig(factors=8, iterations=2, norm_index=NormIndexConfig(min_items=10_000))
    small = ALSRecommender(config).fit(interactions, items)
    assert small.norm_index is None
    small.save(tmp_path / "model")
    assert ALSRecommender.load(tmp_path / "model").norm_index is None


def test_requests_stop_before_scoring_every_item(
    als_pair: tuple[ALSRecommender, ALSRecommender],
) -> None:
    _, pruned = als_pair
    index = pruned.norm_index
    assert index is not None
    scored = [
        index.top_candidates(pruned.user_queries(np.array([u]))[0], 10)[1]
        for u in range(pruned.catalog.n_users)
    ]
    assert min(scored) < len(index), "the Cauchy-Schwarz bound never stopped a request early"


def test_a_scan_cut_short_takes_the_graphs_candidates_masked_and_keeps_the_graph_saved(
    als_pair: tuple[ALSRecommender, ALSRecommender], tmp_path: Path
) -> None:
    exact, _ = als_pair
    interactions, items = _frames()
    # A scan of 16 items holds fewer than the k + 8 candidates the bound needs to stop: every
    # request takes the graph's 100 candidates (of 400 items).
    short = NormIndexConfig(min_items=1, max_scan=16, graph_threads=1, graph_candidates=100)
    model = ALSRecommender(
        ALSConfig(factors=16, iterations=5, num_threads=1, norm_index=short)
    ).fit(interactions, items)
    index = model.norm_index
    assert index is not None and index.graph is not None
    users = [f"u{u}" for u in range(0, N_USERS, 3)]
    catalog = model.catalog
    certain = [
        index.top_candidates(model.user_queries(np.array([catalog.users.get(u)]))[0], 10)[2]
        for u in users
    ]
    assert not any(certain)
    genre = items.set_index("item_id")["genres"]
    recalls = []
    for user in users:
        seen = set(interactions.loc[interactions["user_id"] == user, "item_id"])
        for filters in (None, FILTERS[1]):
            got = [r.item_id for r in model.recommend(user, 10, True, filters)]
            want = [r.item_id for r in exact.recommend(user, 10, True, filters)]
            assert len(got) == len(want) and not seen & set(got)
            if filters is not None:
                assert all(genre[item] == "Drama" for item in got)
            recalls.append(len(set(got) & set(want)) / len(want))
    assert np.mean(recalls) >= 0.9
    model.save(tmp_path / "model")
    loaded = ALSRecommender.load(tmp_path / "model")
    assert loaded.norm_index is not None and loaded.norm_index.graph is not None
    assert loaded.recommend("u5", 10) == model.recommend("u5", 10)


def test_a_graph_saved_by_another_model_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: a model folder holding another model's graph loaded it as its own: labels
    past its catalog failed every graph-answered feed (IndexError), another fit's graph gave
    other candidates, one of another dimension was read with the wrong stride."""
    short = NormIndexConfig(min_items=1, max_scan=16, graph_threads=1, graph_candidates=100)

    def fitted(seed: int, factors: int = 16, spread: int = 1) -> ALSRecommender:
        """ALS on the test's data; `spread` > 1 moves the items to a catalog that many times
        larger (labels past this one's)."""
        interactions, _ = _frames()
        interactions["item_id"] = interactions["item_id"].map(lambda i: f"i{int(i[1:]) * spread}")
        catalog = pd.DataFrame({"item_id": [f"i{i}" for i in range(N_ITEMS * spread)]})
        config = ALSConfig(factors=factors, iterations=5, num_threads=1, random_seed=seed)
        return ALSRecommender(config.model_copy(update={"norm_index": short})).fit(
            interactions, catalog.assign(title="t")
        )

    own = fitted(seed=1)
    own.save(tmp_path / "own")
    users = [f"u{u}" for u in range(N_USERS)]
    want = {user: own.recommend(user, 10) for user in users}
    with caplog.at_level("WARNING"):
        assert ALSRecommender.load(tmp_path / "own").recommend("u5", 10) == want["u5"]
    assert "not this model's" not in caplog.text  # its own graph is kept as saved
    others = {
        "another fit": fitted(seed=2),
        "a larger catalog": fitted(seed=1, spread=3),
        "another dimension": fitted(seed=1, factors=8),
    }
    for name, other in others.items():
        other.save(tmp_path / name)
        shutil.copytree(tmp_path / "own", tmp_path / f"own+{name}")
        shutil.copyfile(tmp_path / name / GRAPH_FILE, tmp_path / f"own+{name}" / GRAPH_FILE)
        loaded = ALSRecommender.load(tmp_path / f"own+{name}")
        assert {user: loaded.recommend(user, 10) for user in users} == want, name
