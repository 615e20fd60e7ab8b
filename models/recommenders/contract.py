"""Value types and errors every recommender shares: what callers (training, serving) rely on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from features.interactions import InteractionWeighting
from models.config import FrozenConfig
from models.errors import ModelFormatError, NotFittedError

__all__ = [
    "ItemFilter",
    "ItemInfo",
    "ModelFormatError",
    "NotFittedError",
    "Recommendation",
    "RecommenderConfig",
    "RecommenderError",
    "RetiredItems",
    "Strategy",
    "UnknownItemError",
    "UnknownUserError",
    "WeightedConfig",
]

Strategy = Literal["personalized", "cold-start-content", "popular-fallback"]
"""Which path served a feed (see feed_router): the user's (or items') collaborative signal,
content similarity to the given items or query, or plain popularity when nothing was known."""


@dataclass(frozen=True)
class Recommendation:
    """One recommended item and the model's score for it (higher is better; scale is per model)."""

    item_id: str
    score: float


@dataclass(frozen=True)
class ItemInfo:
    """What the fitted catalog says about an item: title (None if unknown), genres and when it
    was published (epoch seconds; None if unknown)."""

    item_id: str
    title: str | None
    genres: tuple[str, ...]
    published_at: int | None = None


def _frozen_strings(values: Iterable[str] | None, name: str) -> frozenset[str]:
    if values is None:
        return frozenset()
    if isinstance(values, str):
        raise TypeError(
            f"ItemFilter.{name} must be a collection of strings, not the string {values!r}"
        )
    return frozenset(str(value) for value in values)


@dataclass(frozen=True, eq=False)
class RetiredItems:
    """Items taken out of the catalog since the fit (a moderation takedown, a deleted post, a
    product out of stock): no recommendation path returns them, and a feed still fills its k
    from what remains. They still describe a user's taste (history, recent items) and may seed
    `similar_items`.

    Compared by identity: a fitted catalog keeps the item mask of the last set it was given, so
    a request that passes the same set costs a reference check, not a lookup of every id.
    Whoever changes the set makes a new one (the served set is swapped whole).
    """

    ids: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", _frozen_strings(self.ids, "ids"))

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.ids


NO_RETIRED_ITEMS = RetiredItems()


@dataclass(frozen=True)
class ItemFilter:
    """Restricts which items may be returned.

    include_genres: keep only items with at least one of these genres (empty: no restriction).
    exclude_genres: drop items with any of these genres.
    exclude_item_ids: drop these items (ids unknown to the model are ignored).
    include_item_ids: keep only these items (a candidate set; empty: no restriction).
    retired: items retired from the catalog since the fit, never returned (see RetiredItems).
    published_after: keep only items published at or after this time (epoch seconds); items
    whose publication time is unknown are dropped (see publication_times).
    Genre names match the items frame given at fit time exactly (e.g. "Sci-Fi").
    """

    include_genres: frozenset[str] = field(default_factory=frozenset)
    exclude_genres: frozenset[str] = field(default_factory=frozenset)
    exclude_item_ids: frozenset[str] = field(default_factory=frozenset)
    include_item_ids: frozenset[str] = field(default_factory=frozenset)
    retired: RetiredItems = NO_RETIRED_ITEMS
    published_after: int | None = None

    def __post_init__(self) -> None:
        for name in ("include_genres", "exclude_genres", "exclude_item_ids", "include_item_ids"):
            object.__setattr__(self, name, _frozen_strings(getattr(self, name), name))

    @property
    def is_empty(self) -> bool:
        return not (
            self.include_genres
            or self.exclude_genres
            or self.exclude_item_ids
            or self.include_item_ids
            or len(self.retired)
            or self.published_after is not None
        )


class RecommenderError(Exception):
    """Base of the errors a recommender raises on purpose."""


class UnknownUserError(RecommenderError, LookupError):
    """The user had no interaction at fit time; the message names the id."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        super().__init__(
            f"unknown user '{user_id}': no interactions of this user were seen at fit time "
            "(describe a new user by items with recommend_for_items)"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownItemError(RecommenderError, LookupError):
    """The item is not one the model can use; the message names the id."""

    def __init__(self, item_id: str, reason: str = "not in the catalog the model was fitted on"):
        self.item_id = item_id
        super().__init__(f"unknown item '{item_id}': {reason}")

    def __str__(self) -> str:
        return str(self.args[0])


class RecommenderConfig(FrozenConfig):
    """Fields every recommender config has.

    duplicates: how repeated (user, item) rows are merged before fitting ("sum" for implicit
    events, "last" for revised ratings, "max").
    """

    duplicates: Literal["sum", "max", "last"] = "sum"


class WeightedConfig(RecommenderConfig):
    """Config of a model whose input matrix is weighted (see features.interactions).

    weighting: binary | rating | bm25 | tfidf | confidence (1 + alpha * value).
    binarize: use presence (1) instead of the raw value before bm25/tfidf/confidence.
    """

    weighting: Literal["binary", "rating", "bm25", "tfidf", "confidence"] = "binary"
    alpha: float = Field(default=1.0, ge=0.0)
    bm25_k1: float = Field(default=100.0, gt=0.0)
    bm25_b: float = Field(default=0.8, ge=0.0, le=1.0)
    binarize: bool = False

    def make_weighting(self) -> InteractionWeighting:
        return InteractionWeighting(
            self.weighting, alpha=self.alpha, k1=self.bm25_k1, b=self.bm25_b, binarize=self.binarize
        )
