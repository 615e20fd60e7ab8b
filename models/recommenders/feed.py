"""One feed request, answered by any recommender: the routing serving relies on.

A feed request may come for a user the model knows, a user it knows who has acted since the
model was trained, a brand-new user with a few recent items, or one with only a text query.
`recommend_feed` folds every known interaction (training history plus newer events) into one
history, picks the path that can use it, and says which strategy served:

- personalized: the user's own collaborative signal (known user, or items with CF signal);
- cold-start-content: content similarity to the given items or the query;
- popular-fallback: nothing usable was known about the user.

Items the user complained about are never returned, whatever the path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from models.recommenders.base import Recommender
from models.recommenders.contract import ItemFilter, Recommendation, Strategy
from models.recommenders.training_data import TrainingData


def training_history(model: Recommender, user_id: str) -> tuple[list[str], list[float]]:
    """The items (and interaction values) the model saw for `user_id` at fit time."""
    data: TrainingData = model.data
    index = data.users.get(user_id)
    if index is None:
        return [], []
    row = data.history[index]
    return data.items.ids_of(row.indices), [float(v) for v in row.data]


def popular_items(
    model: Recommender, k: int, filters: ItemFilter | None, exclude: Sequence[str] = ()
) -> list[Recommendation]:
    """Most-interacted items allowed by `filters`, skipping `exclude`."""
    data = model.data
    scores = np.where(data.has_interactions, data.popularity, -np.inf)
    allowed = data.allowed_items(filters)
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    excluded = data.items.lookup(exclude)
    scores[excluded[excluded >= 0]] = -np.inf
    order = np.argsort(-scores, kind="stable")[:k]
    return [
        Recommendation(data.items.id_of(int(i)), float(scores[i]))
        for i in order
        if np.isfinite(scores[i])
    ]


def recommend_feed(
    model: Recommender,
    user_id: str,
    k: int = 10,
    exclude_seen: bool = True,
    filters: ItemFilter | None = None,
    recent_items: Sequence[str] = (),
    query: str | None = None,
    blocked_items: Sequence[str] = (),
) -> tuple[list[Recommendation], Strategy]:
    """Top-k for one feed request and the strategy that produced it."""
    base = filters or ItemFilter()
    effective = replace(base, exclude_item_ids=base.exclude_item_ids | frozenset(blocked_items))
    known_items, known_weights = training_history(model, user_id)
    known = set(known_items)
    fresh = [item for item in dict.fromkeys(recent_items) if item not in known]
    if model.known_user(user_id) and not fresh:
        return model.recommend(user_id, k, exclude_seen, effective), "personalized"
    history = known_items + fresh
    if history:
        weights = known_weights + [model.data.typical_value] * len(fresh)
        recs, strategy = _from_history(model, history, weights, k, exclude_seen, effective)
        if strategy != "popular-fallback":
            return recs, strategy
    if query and hasattr(model, "recommend_for_text_with_strategy"):
        return model.recommend_for_text_with_strategy(query, k, effective)
    if query and hasattr(model, "recommend_for_text"):
        return model.recommend_for_text(query, k, effective), "cold-start-content"
    exclude = history if exclude_seen else []
    return popular_items(model, k, effective, exclude), "popular-fallback"


def _from_history(
    model: Recommender,
    history: list[str],
    weights: list[float],
    k: int,
    exclude_seen: bool,
    filters: ItemFilter,
) -> tuple[list[Recommendation], Strategy]:
    """Fold a history into the model; ([], popular-fallback) when no item of it is usable."""
    if hasattr(model, "recommend_for_items_with_strategy"):
        return model.recommend_for_items_with_strategy(history, k, exclude_seen, filters, weights)
    usable = [(i, w) for i, w in zip(history, weights, strict=True) if model.known_item(i)]
    if not usable:
        return [], "popular-fallback"
    items, values = [i for i, _ in usable], [w for _, w in usable]
    return model.recommend_for_items(items, k, exclude_seen, filters, values), "personalized"
