"""Tier assignment: per-user activity and complaint features, and the first tier whose rule holds.

Everything is computed on whole columns (pandas group-bys, numpy masks): the only Python loops
run over the config's tiers and clauses, never over users. The same functions segment a whole
dataset (training.segments) and one user a profile request finds in no run (serving).
"""

from __future__ import annotations

import time
from typing import Final, get_args

import numpy as np
import pandas as pd

from data import schemas as S
from data.store.segments import ACTIVITY_COLUMNS
from models.segments.config import Bound, Feature, SegmentsConfig, TierRule

FEATURES: Final[tuple[str, ...]] = get_args(Feature)
DAY_S: Final = 86_400.0


def dataset_activity(interactions: pd.DataFrame) -> pd.DataFrame:
    """An interactions frame (user_id, timestamp) as an activity frame. Without a timestamp
    column the events are counted and their times left unknown."""
    if S.TIMESTAMP in interactions.columns:
        times = interactions[S.TIMESTAMP].astype("float64")
    else:
        times = pd.Series(np.nan, index=interactions.index)
    frame = pd.DataFrame({"user_id": interactions[S.USER_ID].astype(str), "t": times})
    grouped = frame.groupby("user_id", sort=False)["t"]
    activity = grouped.agg(["size", "min", "max"]).reset_index()
    activity.columns = ACTIVITY_COLUMNS
    return activity


def combine_activity(*frames: pd.DataFrame) -> pd.DataFrame:
    """Activity frames of the same users from several sources, summed per user."""
    # Typed before the group-by: an empty frame's object columns would make it a Python loop.
    typed = {"user_id": str, "events": "int64", "first_event_at": "float64"}
    typed["last_event_at"] = "float64"
    parts = [f[ACTIVITY_COLUMNS].astype(typed) for f in frames if len(f)]
    if not parts:
        return pd.DataFrame(columns=ACTIVITY_COLUMNS).astype(typed)
    both = pd.concat(parts, ignore_index=True)
    combined = both.groupby("user_id", sort=True).agg(
        events=("events", "sum"),
        first_event_at=("first_event_at", "min"),
        last_event_at=("last_event_at", "max"),
    )
    return combined.reset_index()


def latest_activity(activity: pd.DataFrame, contacts: pd.DataFrame) -> float | None:
    """The newest event or contact time in the data (None: nothing dated)."""
    newest = max(
        activity["last_event_at"].max(skipna=True) if len(activity) else np.nan,
        contacts["last_contact_at"].max(skipna=True) if len(contacts) else np.nan,
    )
    return None if pd.isna(newest) else float(newest)


def resolve_as_of(config: SegmentsConfig, activity: pd.DataFrame, contacts: pd.DataFrame) -> float:
    """The moment recency is measured from (see SegmentsConfig.as_of)."""
    if config.as_of == "latest-event":
        latest = latest_activity(activity, contacts)
        if latest is not None:
            return latest
    return time.time()


def user_features(activity: pd.DataFrame, contacts: pd.DataFrame, as_of: float) -> pd.DataFrame:
    """Per user (index user_id, sorted): the features tier rules read (FEATURES).

    `activity`: per user events and first/last event times (ACTIVITY_COLUMNS); `contacts`: per
    customer triage contacts and complaints (data.store.segments.CONTACT_COLUMNS). A user in
    either is a user; seen = an event or a contact.
    """
    users = (
        activity.set_index("user_id").join(contacts.set_index("user_id"), how="outer").sort_index()
    )
    first_seen = users[["first_event_at", "first_contact_at"]].min(axis=1, skipna=True)
    last_seen = users[["last_event_at", "last_contact_at"]].max(axis=1, skipna=True)
    features = pd.DataFrame(index=users.index)
    features["events"] = users["events"].fillna(0).astype("int64")
    features["recency_days"] = ((as_of - last_seen) / DAY_S).clip(lower=0)
    features["tenure_days"] = ((as_of - first_seen) / DAY_S).clip(lower=0)
    features["complaints"] = users["complaints"].fillna(0).astype("int64")
    features["open_complaints"] = users["open_complaints"].fillna(0).astype("int64")
    features["days_since_complaint"] = ((as_of - users["last_complaint_at"]) / DAY_S).clip(lower=0)
    features.index.name = "user_id"
    return features


def _holds(features: pd.DataFrame, feature: str, bound: Bound) -> np.ndarray:
    values = features[feature].to_numpy(dtype=np.float64)
    holds = ~np.isnan(values)  # a missing value satisfies no bound
    if bound.min is not None:
        holds &= values >= bound.min
    if bound.max is not None:
        holds &= values <= bound.max
    return holds


def rule_mask(features: pd.DataFrame, tier: TierRule) -> np.ndarray:
    """Boolean per user: `tier`'s rule holds (any clause whose every bound holds)."""
    if not tier.any_of:
        return np.ones(len(features), dtype=bool)
    mask = np.zeros(len(features), dtype=bool)
    for clause in tier.any_of:
        holds = np.ones(len(features), dtype=bool)
        for feature, bound in clause.items():
            holds &= _holds(features, feature, bound)
        mask |= holds
    return mask


def assign_tiers(features: pd.DataFrame, config: SegmentsConfig) -> pd.Series:
    """Each user's tier: the first tier in priority order whose rule holds (exactly one)."""
    names = np.array([tier.name for tier in config.tiers], dtype=object)
    chosen = np.full(len(features), len(names) - 1, dtype=np.int64)
    # From the lowest priority up, so a higher tier overwrites a lower one where both hold.
    for position in range(len(config.tiers) - 2, -1, -1):
        chosen[rule_mask(features, config.tiers[position])] = position
    return pd.Series(names[chosen], index=features.index, name="segment")


def rule_text(tier: TierRule) -> str:
    """A tier's rule as one line: clauses joined by ' OR ', bounds by ' AND '."""
    if not tier.any_of:
        return "everyone left"
    clauses = []
    for clause in tier.any_of:
        parts = []
        for feature, bound in clause.items():
            if bound.min is not None:
                parts.append(f"{feature} >= {bound.min:g}")
            if bound.max is not None:
                parts.append(f"{feature} <= {bound.max:g}")
        clauses.append(" AND ".join(parts))
    return " OR ".join(f"({c})" if len(clauses) > 1 else c for c in clauses)


def describe_tiers(config: SegmentsConfig, tiers: pd.Series) -> pd.DataFrame:
    """One row per tier: priority, name, description, rule, feed rules, users and share."""
    counts = tiers.value_counts()
    total = max(len(tiers), 1)
    rows = [
        {
            "priority": position + 1,
            "tier": tier.name,
            "description": tier.description,
            "rule": rule_text(tier),
            "feed_rules": tier.feed_rules.model_dump_json(),
            "users": int(counts.get(tier.name, 0)),
            "share": float(counts.get(tier.name, 0)) / total,
        }
        for position, tier in enumerate(config.tiers)
    ]
    return pd.DataFrame(rows)
