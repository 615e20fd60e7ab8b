"""Tier rules: every user exactly one tier, the first that holds; taste clusters seeded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.store.segments import ACTIVITY_COLUMNS, CONTACT_COLUMNS
from models.config import ConfigError
from models.recommenders import create_recommender
from models.segments import (
    SegmentsConfig,
    TasteConfig,
    assign_tiers,
    combine_activity,
    dataset_activity,
    describe_clusters,
    describe_tiers,
    fit_taste_clusters,
    recommender_user_factors,
    user_features,
)
from tests.models.recommenders.conftest import community_interactions, community_items

ROOT = Path(__file__).resolve().parents[3]
DAY = 86_400.0
AS_OF = 1_000 * DAY


def activity(*rows: tuple[str, int, float, float]) -> pd.DataFrame:
    """(user, events, first day, last day) rows as an activity frame."""
    return pd.DataFrame(
        [(u, n, first * DAY, last * DAY) for u, n, first, last in rows], columns=ACTIVITY_COLUMNS
    )


def contacts(*rows: tuple[str, int, int, float]) -> pd.DataFrame:
    """(customer, complaints, open complaints, day of the last complaint) rows."""
    return pd.DataFrame(
        [(u, c, 990 * DAY, day * DAY, c, o, day * DAY) for u, c, o, day in rows],
        columns=CONTACT_COLUMNS,
    )


@pytest.fixture
def features() -> pd.DataFrame:
    frame = activity(
        ("core", 80, 500, 995),  # frequent, seen 5 days ago
        ("core-but-open", 80, 500, 995),  # would be core; an open complaint ranks first
        ("core-stale-open", 80, 500, 995),
        ("lapsed-heavy", 200, 100, 900),  # frequent, unseen for 100 days
        ("new", 3, 990, 999),  # first seen 10 days ago
        ("casual", 10, 500, 960),  # seen 40 days ago
        ("dormant", 10, 100, 800),  # unseen for 200 days
    )
    triage = contacts(
        ("core-but-open", 1, 1, 940),  # open, complained 60 days ago
        ("core-stale-open", 1, 1, 400),  # open, but complained 600 days ago
        ("complained-only", 1, 0, 985),
    )
    return user_features(frame, triage, AS_OF)


def test_every_user_gets_exactly_one_tier_the_first_whose_rule_holds(
    features: pd.DataFrame,
) -> None:
    tiers = assign_tiers(features, SegmentsConfig())
    assert tiers.index.equals(features.index) and tiers.notna().all()
    assert tiers.to_dict() == {
        "casual": "casual",
        "complained-only": "at_risk",  # a complaint 15 days ago
        "core": "core",
        "core-but-open": "at_risk",  # core's rule holds too: at_risk has priority
        # Regression: an open complaint 600 days old kept its customer at_risk for good.
        "core-stale-open": "core",
        "dormant": "dormant",
        "lapsed-heavy": "at_risk",
        "new": "newcomer",
    }


def test_a_missing_feature_satisfies_no_bound(features: pd.DataFrame) -> None:
    # "core" has no complaint: days_since_complaint is missing, and `max: 30` must not hold.
    assert np.isnan(features.loc["core", "days_since_complaint"])
    assert assign_tiers(features, SegmentsConfig()).loc["core"] == "core"


def test_priority_follows_the_configured_order(features: pd.DataFrame) -> None:
    default = SegmentsConfig()
    core_first = default.model_copy(
        update={"tiers": (default.tiers[2], *default.tiers[:2], *default.tiers[3:])}
    )
    assert assign_tiers(features, core_first).loc["core-but-open"] == "core"


def test_features_join_events_of_both_sources_and_contacts() -> None:
    interactions = pd.DataFrame(
        {"user_id": ["a", "a", "b"], "item_id": ["x", "y", "x"], "timestamp": [10, 30, 20]}
    )
    stored = activity(("a", 2, 0, 50 / DAY), ("c", 1, 5 / DAY, 5 / DAY))
    combined = combine_activity(dataset_activity(interactions), stored).set_index("user_id")
    assert combined.loc["a"].tolist() == [4, 0.0, 50.0]
    assert combined.loc["c", "events"] == 1
    got = user_features(combined.reset_index(), contacts(("d", 2, 1, 0)), 100.0)
    assert list(got.index) == ["a", "b", "c", "d"]
    assert got.loc["d", "events"] == 0 and got.loc["d", "open_complaints"] == 1
    assert got.loc["a", "complaints"] == 0


def test_yaml_config_is_the_default_and_bad_configs_are_refused(tmp_path: Path) -> None:
    assert SegmentsConfig.from_yaml(ROOT / "configs" / "segments" / "default.yaml") == (
        SegmentsConfig()
    )
    tiers = [tier.model_dump() for tier in SegmentsConfig().tiers]
    for broken, message in (
        ({"tiers": tiers[:-1]}, "must have no any_of"),  # no catch-all last
        ({"tiers": [{**tiers[-1], "name": "everyone"}, *tiers]}, "only the last tier"),
        ({"tiers": [*tiers, tiers[0]]}, "repeat"),
        ({"colder": 3}, "unknown field"),
        ({"tiers": [{**tiers[0], "any_of": [{"vip": {"min": 1}}]}, tiers[-1]]}, "vip"),
        ({"tiers": [{**tiers[0], "any_of": [{"events": {}}]}, tiers[-1]]}, "min, max"),
    ):
        with pytest.raises(ConfigError, match=message):
            SegmentsConfig.from_mapping(broken)


def test_tier_descriptions_carry_sizes_rules_and_feed_rules(features: pd.DataFrame) -> None:
    config = SegmentsConfig()
    table = describe_tiers(config, assign_tiers(features, config))
    assert table["tier"].tolist() == [tier.name for tier in config.tiers]
    assert table["users"].sum() == len(features)
    at_risk = table.set_index("tier").loc["at_risk"]
    assert at_risk["users"] == 3 and "open_complaints >= 1" in at_risk["rule"]
    assert '"exclude_complained_genres":true' in at_risk["feed_rules"]


def test_taste_clusters_are_reproducible_with_a_seed_and_follow_taste() -> None:
    params = {"factors": 4, "iterations": 10, "regularization": 0.1, "use_gpu": False}
    model = create_recommender("als", params)
    model.fit(community_interactions(), community_items())
    factors = recommender_user_factors(model)
    assert factors is not None and factors.factors.shape == (12, 4)
    config = TasteConfig(clusters=2, seed=7, top_genres=2)
    first = fit_taste_clusters(factors.factors, config)
    assert np.array_equal(first, fit_taste_clusters(factors.factors, config))
    by_user = dict(zip(factors.user_ids, first, strict=True))
    space = {by_user[f"u{u:02d}"] for u in range(6)}
    romance = {by_user[f"u{u:02d}"] for u in range(6, 12)}
    assert len(space) == len(romance) == 1 and space != romance
    described = describe_clusters(
        pd.Series(by_user), community_interactions(), community_items(), config
    ).set_index("cluster")
    # the genres that set a cluster apart are its own side's
    space_top = set(described.loc[space.pop(), "top_genres"].split("|"))
    romance_top = set(described.loc[romance.pop(), "top_genres"].split("|"))
    assert space_top and space_top <= {"Sci-Fi", "Action", "Adventure", "Thriller"}
    assert romance_top == {"Romance", "Drama"}  # Comedy is on both sides: no lift


def test_a_recommender_without_user_factors_has_none() -> None:
    ease = create_recommender("ease", {"regularization": 1.0}).fit(community_interactions())
    assert recommender_user_factors(ease) is None
