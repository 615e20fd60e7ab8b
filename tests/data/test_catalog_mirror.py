"""Every catalog dataset loads from the real mirror with the publisher's shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from data import schemas as S
from data.catalog import CATALOG
from data.loaders import load_interactions, load_items, load_labelled_texts

pytestmark = pytest.mark.integration


def test_movielens_100k_shape(mirror: Path) -> None:
    ratings = load_interactions("movielens-100k")
    items = load_items("movielens-100k")
    assert len(ratings) == 100_000
    assert ratings[S.USER_ID].nunique() == 943
    assert ratings[S.ITEM_ID].nunique() == 1_682
    assert len(items) == 1_682
    assert set(ratings[S.RATING].unique()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    toy_story = items.set_index(S.ITEM_ID).loc["1"]
    assert toy_story[S.TITLE] == "Toy Story (1995)"
    assert S.split_tags(toy_story[S.GENRES]) == ["Animation", "Children's", "Comedy"]


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("airline-sentiment", 14_640),
        ("bitext-intents", 21_534),
        ("cfpb-complaints", 6_623),
        ("waimai-10k", 11_987),
    ],
)
def test_labelled_text_shapes(mirror: Path, name: str, rows: int) -> None:
    frame = load_labelled_texts(name)
    assert len(frame) == rows == CATALOG[name].expected_rows[S.Kind.LABELLED_TEXT]
    assert frame[S.LABEL].ne("").all()


def test_label_sets(mirror: Path) -> None:
    airline = load_labelled_texts("airline-sentiment")
    assert airline[S.LABEL].value_counts().to_dict() == {
        "negative": 9_178,
        "neutral": 3_099,
        "positive": 2_363,
    }
    assert airline.loc[airline[S.LABEL] == "negative", S.REASON].nunique() == 10
    assert load_labelled_texts("bitext-intents")[S.CATEGORY].nunique() == 11
    assert load_labelled_texts("waimai-10k")[S.LABEL].value_counts().to_dict() == {
        "negative": 7_987,
        "positive": 4_000,
    }
    cfpb = load_labelled_texts("cfpb-complaints")
    assert (cfpb[S.TEXT] != "").sum() == 1_532
