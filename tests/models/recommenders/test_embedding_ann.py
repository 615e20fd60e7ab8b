"""The embedding recommender on a large catalog: candidates from an HNSW graph over the item
vectors, re-scored exactly. Lists match full scoring (recall), scores are the exact ones, masks
(seen items, genres, excluded ids) hold, and the graph is saved and loaded with the model."""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.recommenders import ItemFilter
from models.recommenders.embedding import EmbeddingConfig, EmbeddingRecommender
from models.recommenders.norm_index import GRAPH_FILE, NormIndexConfig

N_USERS, N_ITEMS, DIM = 80, 600, 32
GENRES = ("Drama", "Comedy", "Horror")


class ClusteredEncoder:
    """Texts of one of 8 topics (the number in "topic N") near that topic's direction."""

    name = "clustered-test-encoder"

    def __init__(self) -> None:
        self.centres = np.random.default_rng(0).normal(size=(8, DIM))

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        rows = []
        for text in texts:
            found = re.search(r"topic (\d+)", text)
            topic = int(found.group(1)) if found else 0
            noise = np.random.default_rng(zlib.crc32(text.encode())).normal(size=DIM)
            v = self.centres[topic % 8] + 0.8 * noise
            rows.append(v / np.linalg.norm(v))
        return np.array(rows, dtype=np.float32)


@functools.cache  # read-only: every test and helper shares the one pair of frames
def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(5)
    users = rng.integers(0, N_USERS, 3000)
    items = (users % 8) + 8 * rng.integers(0, N_ITEMS // 8, 3000)  # users keep to a topic
    interactions = pd.DataFrame(
        {"user_id": [f"u{u}" for u in users], "item_id": [f"i{i}" for i in items], "rating": 1.0}
    )
    catalog = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(N_ITEMS)],
            "title": [f"item {i} topic {i % 8}" for i in range(N_ITEMS)],
            "genres": [GENRES[i % 3] for i in range(N_ITEMS)],
        }
    )
    return interactions, catalog


def _model(ann: NormIndexConfig) -> EmbeddingRecommender:
    interactions, items = _frames()
    config = EmbeddingConfig(use_cache=False, ann=ann)
    model = EmbeddingRecommender(config, encoder=ClusteredEncoder())  # type: ignore[arg-type]
    return model.fit(interactions, items)


@pytest.fixture(scope="module")
def pair() -> tuple[EmbeddingRecommender, EmbeddingRecommender]:
    exact = _model(NormIndexConfig(min_items=0))
    graph = NormIndexConfig(min_items=1, max_scan=8, graph_candidates=60, graph_ef_search=120)
    return exact, _model(graph)


FILTERS = [
    None,
    ItemFilter(include_genres=frozenset({"Drama"})),
    ItemFilter(exclude_item_ids=frozenset({"i0", "i8", "i16"})),
]


def _agreement(want: list, got: list) -> float:
    return len({r.item_id for r in want} & {r.item_id for r in got}) / max(len(want), 1)


@pytest.mark.parametrize("filters", FILTERS)
def test_feeds_from_the_graph_match_full_scoring(
    pair: tuple[EmbeddingRecommender, EmbeddingRecommender], filters: ItemFilter | None
) -> None:
    exact, approx = pair
    assert exact.norm_index is None and approx.norm_index is not None
    assert approx.norm_index.graph is not None
    assert len(approx.norm_index.vectors) == 8  # only what the scan reads is copied
    recalls = []
    for user in [f"u{u}" for u in range(0, N_USERS, 3)]:
        want = exact.recommend(user, 10, True, filters)
        got = approx.recommend(user, 10, True, filters)
        recalls.append(_agreement(want, got))
        scores = dict(zip(*_full_scores(exact, user), strict=True))
        for r in got:  # every score is the exact one, every mask holds
            assert r.score == pytest.approx(scores[r.item_id], abs=1e-9)
            if filters is not None and filters.include_genres:
                assert int(r.item_id[1:]) % 3 == 0
            if filters is not None and filters.exclude_item_ids:
                assert r.item_id not in filters.exclude_item_ids
        history = set(_history(user))
        assert not history & {r.item_id for r in got}
    assert np.mean(recalls) >= 0.95


def _history(user: str) -> list[str]:
    interactions, _ = _frames()
    return interactions.loc[interactions["user_id"] == user, "item_id"].tolist()


def _full_scores(model: EmbeddingRecommender, user: str) -> tuple[list[str], np.ndarray]:
    row = model.score_users(np.array([model.catalog.users.index(user)]))[0]
    return [model.catalog.items.id_of(i) for i in range(len(row))], row


def test_text_queries_histories_and_similar_items_use_the_graph(
    pair: tuple[EmbeddingRecommender, EmbeddingRecommender],
) -> None:
    exact, approx = pair
    text = exact.recommend_for_text("something on topic 3", k=10)
    assert _agreement(text, approx.recommend_for_text("something on topic 3", k=10)) >= 0.9
    folded = approx.recommend_for_items(["i3", "i11"], k=10)
    assert _agreement(exact.recommend_for_items(["i3", "i11"], k=10), folded) >= 0.9
    assert not {"i3", "i11"} & {r.item_id for r in folded}
    similar = approx.similar_items("i5", k=10)
    assert "i5" not in {r.item_id for r in similar}
    assert _agreement(exact.similar_items("i5", k=10), similar) >= 0.9


def test_the_graph_is_saved_beside_the_vectors_and_loaded(
    pair: tuple[EmbeddingRecommender, EmbeddingRecommender], tmp_path: Path
) -> None:
    _, approx = pair
    approx.save(tmp_path / "model")
    assert (tmp_path / "model" / GRAPH_FILE).is_file()
    loaded = EmbeddingRecommender.load(tmp_path / "model", encoder=ClusteredEncoder())
    assert loaded.norm_index is not None
    for user in ("u1", "u2", "u40"):
        assert loaded.recommend(user, 10) == approx.recommend(user, 10)


def test_a_hybrid_answers_text_from_its_content_components_graph() -> None:
    from models.recommenders.hybrid import HybridConfig, HybridRecommender

    interactions, items = _frames()
    graph = {"min_items": 1, "max_scan": 8, "graph_candidates": 60, "graph_ef_search": 120}
    components = [
        {"type": "popularity"},
        {"type": "embedding", "weight": 0.0, "config": {"use_cache": False, "ann": graph}},
    ]
    hybrid = HybridRecommender(
        HybridConfig(components=components),
        encoder=ClusteredEncoder(),  # type: ignore[arg-type]
    ).fit(interactions, items)
    content = hybrid.content
    assert isinstance(content, EmbeddingRecommender) and content.norm_index is not None
    answer = hybrid.recommend_for_text("news on topic 5", k=10)
    assert answer == content.recommend_for_text("news on topic 5", k=10)
    exact = _model(NormIndexConfig(min_items=0)).recommend_for_text("news on topic 5", k=10)
    assert _agreement(exact, answer) >= 0.9
