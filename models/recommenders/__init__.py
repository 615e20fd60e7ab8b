"""Recommenders behind one contract (see base.Recommender) with pickle-free artifacts.

model = create_recommender("ease", {"regularization": 500}).fit(train, items)
model.recommend("196", k=10, filters=ItemFilter(include_genres={"Comedy"}))
model.save(path); same = load_recommender(path)
feed = route_feed(model, FeedRequest("196", k=10), activity)   # the feed path (feed_router)
feeds = fitted_feeds(model, ["196", "186"], k=10)   # known users' feeds in batches (batch jobs)
"""

from models.recommenders.base import Recommender
from models.recommenders.contract import (
    ItemFilter,
    ItemInfo,
    ModelFormatError,
    NotFittedError,
    Recommendation,
    RecommenderConfig,
    RecommenderError,
    RetiredItems,
    Strategy,
    UnknownItemError,
    UnknownUserError,
)
from models.recommenders.feed_router import (
    Feed,
    FeedRequest,
    FeedRules,
    feed_history,
    fitted_feeds,
    route_feed,
)
from models.recommenders.fitted_catalog import FittedCatalog
from models.recommenders.model_types import (
    RECOMMENDER_TYPES,
    create_recommender,
    load_recommender,
    recommender_class,
    recommender_classes,
    recommender_config,
)

__all__ = [
    "RECOMMENDER_TYPES",
    "Feed",
    "FeedRequest",
    "FeedRules",
    "FittedCatalog",
    "ItemFilter",
    "ItemInfo",
    "ModelFormatError",
    "NotFittedError",
    "Recommendation",
    "Recommender",
    "RecommenderConfig",
    "RecommenderError",
    "RetiredItems",
    "Strategy",
    "UnknownItemError",
    "UnknownUserError",
    "create_recommender",
    "feed_history",
    "fitted_feeds",
    "load_recommender",
    "recommender_class",
    "recommender_classes",
    "recommender_config",
    "route_feed",
]
