"""The rules of user segmentation: tiers in priority order, taste clusters, feed rules.

Every user gets exactly one tier: the tiers are tried in their listed order and the first whose
rule holds wins; the last tier has no rule (it takes everyone left), and the config is refused
unless exactly the last tier is such a catch-all. A tier's rule is `any_of` clauses; a clause
holds when every feature in it lies within its bounds (inclusive). A feature a user has no
value for (e.g. `days_since_complaint` without a complaint) satisfies no bound.

The defaults here are the published rules; `configs/segments/default.yaml` repeats them (a test
keeps both equal) and is where a deployment changes them.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from models.config import FrozenConfig
from models.recommenders.feed_router import FeedRules

# The per-user features a rule can read (models.segments.tiers computes them):
#   events               interactions known: the dataset's plus stored events
#   recency_days         days since the user was last seen (an event or a triage contact)
#   tenure_days          days since the user was first seen
#   complaints           triaged complaints
#   open_complaints      triaged complaints with no resolution recorded
#   days_since_complaint days since their last triaged complaint (none: no value)
Feature = Literal[
    "events",
    "recency_days",
    "tenure_days",
    "complaints",
    "open_complaints",
    "days_since_complaint",
]
SEGMENT_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"


class Bound(FrozenConfig):
    """An inclusive range; a missing side is open."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_side_at_least(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError("a bound needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


Clause = dict[Feature, Bound]


class TierRule(FrozenConfig):
    """One tier: its name (stored as the user's segment), what it means, when it applies and
    what it changes in the user's feed."""

    name: str = Field(pattern=SEGMENT_NAME_PATTERN)
    description: str = Field(min_length=1, max_length=500)
    any_of: tuple[Clause, ...] = ()  # empty: every user (only the last tier)
    feed_rules: FeedRules = FeedRules()

    @model_validator(mode="after")
    def _no_empty_clause(self) -> Self:
        if any(not clause for clause in self.any_of):
            raise ValueError(f"tier {self.name}: an empty clause (drop any_of for a catch-all)")
        return self


class TasteConfig(FrozenConfig):
    """Taste clusters: k-means on the champion recommender's user factors (rows L2-normalised,
    so direction, not activity, decides the cluster)."""

    clusters: int = Field(default=8, ge=1, le=256)
    seed: int = 0
    n_init: int = Field(default=4, ge=1, le=50)
    minibatch_above: int = Field(default=50_000, ge=1)  # more users: mini-batch k-means
    threads: int = Field(default=1, ge=1)  # BLAS/OpenMP threads for the fit
    top_genres: int = Field(default=3, ge=1, le=20)  # named in each cluster's description
    # a genre names a cluster only if at least this share of the cluster's interactions has it
    min_genre_share: float = Field(default=0.05, ge=0.0, le=1.0)


DEFAULT_TIERS: tuple[TierRule, ...] = (
    TierRule(
        name="at_risk",
        description=(
            "An open complaint with a complaint in the last 90 days, a complaint in the last 30 "
            "days, or a frequent user (50+ events) unseen for 60+ days. Feed: nothing of the "
            "genres they complained about."
        ),
        # An open complaint counts while the customer's latest complaint is recent: a desk that
        # records resolutions for some cases only would otherwise keep every customer who ever
        # complained at_risk for good (147k of 188k users on a year of desk history).
        any_of=(
            {"open_complaints": Bound(min=1), "days_since_complaint": Bound(max=90)},
            {"days_since_complaint": Bound(max=30)},
            {"events": Bound(min=50), "recency_days": Bound(min=60)},
        ),
        feed_rules=FeedRules(exclude_complained_genres=True),
    ),
    TierRule(
        name="newcomer",
        description="First seen in the last 30 days.",
        any_of=({"tenure_days": Bound(max=30)},),
    ),
    TierRule(
        name="core",
        description="Frequent (50+ events) and seen in the last 30 days.",
        any_of=({"events": Bound(min=50), "recency_days": Bound(max=30)},),
    ),
    TierRule(
        name="casual",
        description="Seen in the last 60 days, not frequent enough to be core.",
        any_of=({"recency_days": Bound(max=60)},),
    ),
    TierRule(
        name="dormant",
        description="Everyone else: unseen for 60+ days (or nothing dated is known).",
    ),
)


class SegmentsConfig(FrozenConfig):
    """User segmentation.

    as_of: the moment recency is measured from: the newest activity in the data
    ("latest-event": a historical dataset such as MovieLens is segmented as of its own end) or
    the wall clock ("now").
    cold_max_events: a user with at most this many known events is answered as cold by a profile.
    """

    as_of: Literal["latest-event", "now"] = "latest-event"
    tiers: tuple[TierRule, ...] = DEFAULT_TIERS
    taste: TasteConfig = TasteConfig()
    cold_max_events: int = Field(default=5, ge=0)

    @model_validator(mode="after")
    def _one_tier_each(self) -> Self:
        names = [tier.name for tier in self.tiers]
        if not names:
            raise ValueError("at least one tier is needed")
        if len(set(names)) != len(names):
            raise ValueError(f"tier names repeat: {names}")
        if self.tiers[-1].any_of:
            raise ValueError(
                f"the last tier ({names[-1]}) must have no any_of: it takes every user left"
            )
        if shadowing := [tier.name for tier in self.tiers[:-1] if not tier.any_of]:
            raise ValueError(f"only the last tier may take everyone; also: {shadowing}")
        return self

    def tier(self, name: str) -> TierRule | None:
        """The tier called `name` (None: not a tier of this config, e.g. an older run's)."""
        return next((tier for tier in self.tiers if tier.name == name), None)

    def feed_rules(self, segment: str | None) -> FeedRules:
        """The feed rules of `segment` (none for no segment or one this config lacks)."""
        tier = self.tier(segment) if segment else None
        return tier.feed_rules if tier is not None else FeedRules()
