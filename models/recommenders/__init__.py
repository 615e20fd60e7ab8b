"""Recommenders behind one contract (see base.Recommender) with pickle-free artifacts.

model = create_recommender("ease", {"regularization": 500}).fit(train, items)
model.recommend("196", k=10, filters=ItemFilter(include_genres={"Comedy"}))
model.save(path); same = load_recommender(path)
"""

from models.recommenders.base import Recommender
from models.recommenders.contract import (
    ItemFilter,
    ModelFormatError,
    NotFittedError,
    Recommendation,
    RecommenderConfig,
    RecommenderError,
    Strategy,
    UnknownItemError,
    UnknownUserError,
)
from models.recommenders.registry import (
    create_recommender,
    load_recommender,
    recommender_class,
    recommender_classes,
)

__all__ = [
    "ItemFilter",
    "ModelFormatError",
    "NotFittedError",
    "Recommendation",
    "Recommender",
    "RecommenderConfig",
    "RecommenderError",
    "Strategy",
    "UnknownItemError",
    "UnknownUserError",
    "create_recommender",
    "load_recommender",
    "recommender_class",
    "recommender_classes",
]
