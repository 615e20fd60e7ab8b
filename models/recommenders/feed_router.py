"""The feed router: the one place that decides how a feed request is served.

A feed request may come for a user the model knows, a known user who has acted since the model
was trained, a brand-new user with a few recent items, or one with only a text query. The
router folds everything known about the user into one history (`features.user_history`: the
fitted history, newer stored events, the request's recent items) and picks the strategy:

- personalized: the user is known and nothing is new (their fitted scores), or their history
  holds an item with collaborative signal (the model folds the history in);
- cold-start-content: the history's usable items are all ones only content can relate (items
  nobody interacted with), or there is no usable history but a text query the model can read;
- popular-fallback: nothing usable is known about the user.

Items the user may not see (`UserActivity.blocked`) and items retired from the catalog since the
fit (`ItemFilter.retired`, the served set the caller passes) are never returned, whatever the
path; with `exclude_seen`, neither are the items of any of their stored events with value
(`UserActivity.seen`), however old.
A user's segment may add `FeedRules` (configured per segment, see models.segments): with
`exclude_complained_genres`, no item of a genre of an item they complained about is returned.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from features.user_history import (
    Interaction,
    UserActivity,
    UserHistory,
    merge_history,
    newer_than,
)
from models.config import FrozenConfig
from models.recommenders.base import Recommender
from models.recommenders.contract import (
    NO_RETIRED_ITEMS,
    ItemFilter,
    Recommendation,
    RetiredItems,
    Strategy,
)
from models.recommenders.fresh_items import FreshItems, blend, content_profile, feed_bar
from models.recommenders.kept_out_pairs import still_kept_out

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedRequest:
    """One feed request, as a client phrases it."""

    user_id: str
    k: int = 10
    exclude_seen: bool = True
    filters: ItemFilter | None = None
    recent_items: Sequence[str] = ()
    query: str | None = None


class FeedRules(FrozenConfig):
    """What a user's segment changes in their feed (none of it by default).

    exclude_complained_genres: items of any genre of the items the user complained about
    (their blocked items: complaint events and triaged complaints naming an item) are not
    recommended, e.g. while a complaint is open.
    """

    exclude_complained_genres: bool = False


NO_RULES = FeedRules()
NO_FRESH_ITEMS = FreshItems()


@dataclass(frozen=True)
class Feed:
    """The answer to a feed request and the strategy that produced it."""

    items: list[Recommendation] = field(default_factory=list)
    strategy: Strategy = "popular-fallback"


def feed_history(
    model: Recommender,
    user_id: str,
    activity: UserActivity | None = None,
    recent_items: Sequence[str] = (),
) -> UserHistory:
    """Everything known about the user's taste: the fitted history merged with stored events
    the model was not trained on and the request's recent items (see features.user_history)."""
    catalog = model.catalog
    activity = activity or UserActivity()
    return merge_history(
        catalog.fit_time_history(user_id),
        newer_than(activity.interactions, catalog.events_through, catalog.events_unseen),
        recent_items,
        model.config.duplicates,
    )


def route_feed(
    model: Recommender,
    request: FeedRequest,
    activity: UserActivity | None = None,
    rules: FeedRules = NO_RULES,
    fresh: FreshItems | None = None,
) -> Feed:
    """Top-k for one feed request and the strategy that produced it; with `fresh` items
    (published after the fit) a bounded share of the slots goes to those closest to the
    user's taste (see models.recommenders.fresh_items)."""
    activity = activity or UserActivity()
    base = request.filters or ItemFilter()
    # Pairs rated 0 or below at fit time (an imported hide or report) are kept out as posted
    # dislikes are, whether or not the request asks for seen items.
    new_events = newer_than(
        activity.interactions, model.catalog.events_through, model.catalog.events_unseen
    )
    fit_kept_out = still_kept_out(model.catalog.kept_out_items(request.user_id), new_events)
    kept_out = activity.blocked | activity.disliked | fit_kept_out
    filters = replace(base, exclude_item_ids=base.exclude_item_ids | kept_out)
    if rules.exclude_complained_genres and activity.blocked:
        genres = complained_genres(model, activity.blocked)
        filters = replace(filters, exclude_genres=filters.exclude_genres | genres)
    if request.exclude_seen:
        # Rated 0 or below, or held out to evaluate the model: seen all the same; and every
        # item of the user's stored events with value, beyond the newest ones folded in.
        also_seen = model.catalog.also_seen_items(request.user_id) | activity.seen
        if also_seen:
            filters = replace(filters, exclude_item_ids=filters.exclude_item_ids | also_seen)
    if fresh is None or not len(fresh) or not model.answers_text_queries:
        return _catalog_feed(model, request, new_events, filters, NO_FRESH_ITEMS)[0]
    feed, history, taste = _catalog_feed(model, request, new_events, filters, fresh)
    if not fresh.slots(request.k):  # a short feed has no fresh share (a fresh history counts)
        return feed
    if history is None:  # the fitted history is the whole history
        history = model.catalog.fit_time_history(request.user_id)
    if taste is None and feed.strategy != "popular-fallback":
        taste = content_profile(model, fresh, history.items, history.values)
    excluded = filters.exclude_item_ids | (set(history.items) if request.exclude_seen else set())
    bar = feed_bar(model, feed.items, taste) if taste is not None else 0.0
    picks = fresh.pick(fresh.slots(request.k), taste, excluded, filters, bar)
    return Feed(blend(feed.items, picks, request.k), feed.strategy)


def _catalog_feed(
    model: Recommender,
    request: FeedRequest,
    new_events: Sequence[Interaction],
    filters: ItemFilter,
    fresh: FreshItems,
) -> tuple[Feed, UserHistory | None, np.ndarray | None]:
    """The model's feed, the history it was built from (None: the fitted one) and, when the
    feed came from a content vector, that vector (the user's taste in content space);
    `new_events` are the user's stored interactions the model was not fitted on."""
    k, exclude_seen = request.k, request.exclude_seen
    catalog = model.catalog
    known = model.known_user(request.user_id)
    if (
        known and not new_events and not request.recent_items
    ):  # the fitted history is the whole history: skip building it
        recs = model.recommend(request.user_id, k, exclude_seen, filters)
        return Feed(recs, "personalized"), None, None
    fitted = catalog.fit_time_history(request.user_id)
    history = merge_history(fitted, new_events, request.recent_items, model.config.duplicates)
    if known and history == fitted:
        recs = model.recommend(request.user_id, k, exclude_seen, filters)
        return Feed(recs, "personalized"), history, None
    usable = [
        (item, value)
        for item, value in zip(history.items, history.values, strict=True)
        # value > 0: models fitted before non-positive ratings were left out hold them
        if value > 0 and model.known_item(item)
    ]
    if len(usable) < len(history):
        logger.debug("feed ignores %d items the model cannot use", len(history) - len(usable))
    if usable:
        items, values = [item for item, _ in usable], [value for _, value in usable]
        recs = model.recommend_for_items(items, k, exclude_seen, filters, values)
        collaborative = any(catalog.had_interactions(item) for item in items)
        return Feed(recs, "personalized" if collaborative else "cold-start-content"), history, None
    published = [
        (item, value)
        for item, value in zip(history.items, history.values, strict=True)
        if value > 0 and item in fresh
    ]
    if published:  # only items published after the fit: their content is all there is
        items, values = [item for item, _ in published], [value for _, value in published]
        taste = content_profile(model, fresh, items, values)
        if taste is not None:
            recs = model.recommend_for_vector(taste, k, filters)
            return Feed(recs, "cold-start-content"), history, taste
    query = (request.query or "").strip()  # a blank query says nothing: the popular fallback
    if query and model.answers_text_queries:
        if not len(fresh):
            return (
                Feed(model.recommend_for_text(query, k, filters), "cold-start-content"),
                None,
                None,
            )
        taste = model.text_vector(query)  # encoded once, for the catalog and the fresh items
        recs = model.recommend_for_vector(taste, k, filters)
        return Feed(recs, "cold-start-content"), history, taste
    exclude = history.items if exclude_seen else ()
    return Feed(model.popular_items(k, filters, exclude), "popular-fallback"), history, None


def fitted_feeds(
    model: Recommender,
    user_ids: Sequence[str],
    k: int = 10,
    exclude_seen: bool = True,
    retired: RetiredItems = NO_RETIRED_ITEMS,
) -> dict[str, list[Recommendation]]:
    """The feeds of many known users from what the model was fitted on, scored in batches:
    what `route_feed` answers each of them when nothing is known beyond the fit (no newer
    events, recent items, blocked or disliked items, segment rules). Batch jobs, which read no
    event store, use it. Seen items are the fitted history and the catalog's `also_seen` pairs,
    as `route_feed` leaves them out; `retired` items are left out as every feed leaves them."""
    filters = ItemFilter(retired=retired) if len(retired) else None
    return model.recommend_batch(user_ids, k, exclude_seen, filters, also_seen=exclude_seen)


def complained_genres(model: Recommender, complained: frozenset[str]) -> frozenset[str]:
    """The genres of the items a user complained about (items the model does not know have
    none); bounded by the blocked items a feed reads."""
    return frozenset(g for info in model.describe_items(sorted(complained)) for g in info.genres)
