"""User segments: tiers by activity and complaints, taste clusters, and per-tier feed rules.

config = SegmentsConfig.from_yaml("configs/segments/default.yaml")
features = user_features(activity, contacts, as_of)     # models.segments.tiers
tiers = assign_tiers(features, config)                  # exactly one tier per user
labels = fit_taste_clusters(factors, config.taste)      # models.segments.taste
"""

from models.segments.config import Bound, SegmentsConfig, TasteConfig, TierRule
from models.segments.taste import (
    UserFactors,
    describe_clusters,
    fit_taste_clusters,
    interaction_factors,
    recommender_user_factors,
    top_genres,
)
from models.segments.tiers import (
    FEATURES,
    assign_tiers,
    combine_activity,
    dataset_activity,
    describe_tiers,
    resolve_as_of,
    rule_text,
    user_features,
)

__all__ = [
    "FEATURES",
    "Bound",
    "SegmentsConfig",
    "TasteConfig",
    "TierRule",
    "UserFactors",
    "assign_tiers",
    "combine_activity",
    "dataset_activity",
    "describe_clusters",
    "describe_tiers",
    "fit_taste_clusters",
    "interaction_factors",
    "recommender_user_factors",
    "resolve_as_of",
    "rule_text",
    "top_genres",
    "user_features",
]
