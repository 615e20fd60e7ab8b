"""Feeds and profiles forget an erased customer until a model trained without them is served.

An erasure (`DELETE /users/{user_id}`, `data.store.erasure`) deletes the user's stored events,
but the champion recommender was fitted on them: it holds the user's factors and fitted
history, and kept personalising their feed. Until the served model's training read the events
log beyond the erasure (`Erasures.forgets`: one indexed lookup per feed), the user is looked
up in the model under an id no user can have, so the model answers them as a stranger (a cold
start from the request's recent items or query, else popular items). Their events stored after
the erasure still shape the feed, as any new user's do.
"""

from __future__ import annotations

from typing import Final

from data.store import Store
from models.recommenders import Recommender

# Every stored and imported id is refused with a control character in it
# (`data.events.check_identifier`, the import's id checks): no user, fitted or not, holds this.
FORGOTTEN_USER: Final = "\x00erased"


def fitted_user_id(store: Store, model: Recommender | None, user_id: str) -> str:
    """The id to look `user_id` up by in `model`: itself, or FORGOTTEN_USER when the user was
    erased after the model last read the events log."""
    if model is None or not store.erasures.forgets(user_id, model.catalog.events_through):
        return user_id
    return FORGOTTEN_USER
