"""`GET /users/{user_id}/profile`, and the feed rules of a user's segment.

A profile answers with the user's segment (from the last `agora segments` run; for a user that
run did not see, a tier computed now from the store, said so by `source: fallback`), their
recent complaints (labels only, never text) and top genres (their fitted history plus newer
stored events, described by the served recommender). A user unknown everywhere (no segment, no
event, no triage contact, not in the recommender) is a 404.

The rules (tiers, thresholds, feed rules) are `models.segments.SegmentsConfig`: the defaults,
or the YAML file AGORA_SEGMENTS_CONFIG names, read once at start-up.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any, Final, Literal, Protocol

import pandas as pd
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from data.events import ENTITY_ID_LENGTH, InvalidFieldError, check_identifier
from data.store import Store
from data.store.segments import ACTIVITY_COLUMNS, CONTACT_COLUMNS
from features.user_history import user_activity
from models.recommenders import FeedRules, Recommender, feed_history
from models.segments import SegmentsConfig, assign_tiers, top_genres, user_features
from serving.forgotten_users import fitted_user_id
from serving.served_models import ServedModels

logger = logging.getLogger(__name__)

SEGMENTS_CONFIG_ENV: Final = "AGORA_SEGMENTS_CONFIG"
PROFILE_ROUTE: Final = "/users/{user_id}/profile"
RECENT_COMPLAINTS: Final = 10
TOP_GENRES: Final = 5
FALLBACK_NOTE: Final = (
    "not in the last segmentation run: tier computed at this request from the store's events "
    "and triage log (the dataset's interactions are read only by `agora segments`)"
)


class ProfileSegment(BaseModel):
    name: str
    description: str
    source: Literal["last-run", "fallback"]
    note: str | None = None
    run_id: str | None = None
    computed_at: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    feed_rules: dict[str, Any] = Field(default_factory=dict)


class ProfileComplaint(BaseModel):
    triage_id: str
    item_id: str | None
    at: float
    reason: str | None
    category: str | None
    sentiment: str | None
    open: bool


class GenreShare(BaseModel):
    genre: str
    share: float


class KnownFrom(BaseModel):
    last_run: bool
    events: int  # stored events
    contacts: int  # triage records
    in_model: bool  # the served recommender was fitted on this user


class UserProfile(BaseModel):
    user_id: str
    cold: bool
    known_from: KnownFrom
    segment: ProfileSegment
    recent_complaints: list[ProfileComplaint]
    top_genres: list[GenreShare]


def load_segments_config() -> SegmentsConfig:
    """The segment rules: AGORA_SEGMENTS_CONFIG's YAML, else the defaults (ConfigError if bad)."""
    path = os.environ.get(SEGMENTS_CONFIG_ENV)
    return SegmentsConfig.from_yaml(path) if path else SegmentsConfig()


class UserProfiles:
    """What the service knows of a user's segment: feed rules for a feed, a profile."""

    def __init__(self, store: Store, config: SegmentsConfig | None = None) -> None:
        self.store = store
        self.config = config or load_segments_config()

    def feed_rules(
        self,
        user_id: str,
        model: Recommender | None = None,
        complained: bool = False,
        fitted_id: str | None = None,
    ) -> FeedRules:
        """The feed rules of the user's segment in the last run. For a user that run did not
        see, those of the tier computed now (their profile's `fallback` segment), but only when
        they have complained: the rules change a feed only through complained-about items, and
        the other feeds skip the two store reads. A complaint then shapes the next feed, not
        the one after the next segmentation run."""
        stored = self.store.segments.of(user_id)
        if stored is not None:
            return self.config.feed_rules(stored.segment)
        if not complained:
            return self.config.feed_rules(None)
        segments = self.store.segments
        activity = segments.activity_by_user(user_id)
        contacts = segments.complaints_by_customer(user_id)
        # `fitted_id`: the id the model knows the user by (serving.forgotten_users).
        fitted = len(model.catalog.history_of(fitted_id or user_id)) if model is not None else 0
        return self.config.feed_rules(self._fallback(user_id, activity, contacts, fitted).name)

    def profile(self, user_id: str, model: Recommender | None) -> UserProfile | None:
        """The user's profile; None if nothing anywhere knows the user."""
        segments = self.store.segments
        stored = segments.of(user_id)
        activity = segments.activity_by_user(user_id)
        contacts = segments.complaints_by_customer(user_id)
        fitted_id = fitted_user_id(self.store, model, user_id)
        in_model = model is not None and model.known_user(fitted_id)
        if stored is None and activity.empty and contacts.empty and not in_model:
            return None
        fitted = len(model.catalog.history_of(fitted_id)) if model is not None and in_model else 0
        stored_events = int(activity["events"].sum())
        known = KnownFrom(
            last_run=stored is not None,
            events=stored_events,
            contacts=int(contacts["contacts"].sum()),
            in_model=in_model,
        )
        segment = (
            self._stored_segment(stored)
            if stored
            else self._fallback(user_id, activity, contacts, fitted)
        )
        return UserProfile(
            user_id=user_id,
            cold=not in_model or fitted + stored_events <= self.config.cold_max_events,
            known_from=known,
            segment=segment,
            recent_complaints=[
                ProfileComplaint(**row)
                for row in segments.recent_complaints(user_id, RECENT_COMPLAINTS)
            ],
            top_genres=self._top_genres(user_id, fitted_id, model),
        )

    def _describe(self, name: str) -> tuple[str, dict[str, Any]]:
        tier = self.config.tier(name)
        if tier is None:  # a run made with other rules than the service's
            return "a tier the service's segment rules do not define", {}
        return tier.description, tier.feed_rules.model_dump()

    def _stored_segment(self, stored: Any) -> ProfileSegment:
        description, rules = self._describe(stored.segment)
        return ProfileSegment(
            name=stored.segment,
            description=description,
            source="last-run",
            run_id=stored.run_id,
            computed_at=stored.computed_at,
            details=stored.details,
            feed_rules=rules,
        )

    def _fallback(
        self, user_id: str, activity: pd.DataFrame, contacts: pd.DataFrame, fitted: int
    ) -> ProfileSegment:
        """The tier the rules give now, from the store (and the fitted history's size)."""
        if activity.empty and fitted:  # known only by the model: counted, dates unknown
            activity = pd.DataFrame(
                [[user_id, fitted, float("nan"), float("nan")]],
                columns=ACTIVITY_COLUMNS,
            )
        elif fitted:
            activity = activity.assign(events=activity["events"] + fitted)
        if contacts.empty:
            contacts = pd.DataFrame(columns=CONTACT_COLUMNS)
        now = time.time()
        features = user_features(activity, contacts, now)
        name = str(assign_tiers(features, self.config).iloc[0])
        description, rules = self._describe(name)
        details = features.iloc[0].round(2).to_dict()
        return ProfileSegment(
            name=name,
            description=description,
            source="fallback",
            note=FALLBACK_NOTE,
            computed_at=now,
            details={k: (None if pd.isna(v) else float(v)) for k, v in details.items()},
            feed_rules=rules,
        )

    def _top_genres(
        self, user_id: str, fitted_id: str, model: Recommender | None
    ) -> list[GenreShare]:
        if model is None:
            return []
        activity = user_activity(self.store.events.feed_events(user_id))
        history = feed_history(model, fitted_id, activity)
        return [
            GenreShare(genre=genre, share=round(share, 4))
            for genre, share in top_genres(model, history.items, history.values, TOP_GENRES)
        ]


class ProfileSource(Protocol):
    """What the route needs of the running service."""

    profiles: UserProfiles
    served: ServedModels


def check_path_user_id(user_id: str) -> None:
    """A 400 naming the problem unless `user_id` (taken from a path) is an id the store holds."""
    try:
        check_identifier("user_id", user_id, ENTITY_ID_LENGTH)
    except InvalidFieldError as error:
        raise HTTPException(400, str(error)) from None


def install_profile_route(app: FastAPI, running: Callable[[], ProfileSource | None]) -> None:
    """Add GET PROFILE_ROUTE to `app`; `running` gives the service instance (None: starting)."""

    # `:path`: the id may hold `/` (sent as %2F, decoded before routing), as serving.settings'
    # route_of matches it; the document still names the route PROFILE_ROUTE.
    @app.get(PROFILE_ROUTE.replace("{user_id}", "{user_id:path}"), response_model=UserProfile)
    def user_profile(user_id: str) -> UserProfile:
        """A user's segment, recent complaints and top genres (404: unknown everywhere)."""
        check_path_user_id(user_id)
        service = running()
        if service is None:
            raise HTTPException(503, "the service is starting")
        profile = service.profiles.profile(user_id, service.served.recommender)
        if profile is None:
            raise HTTPException(
                404,
                f"unknown user '{user_id}': no segment, no stored event, no triage contact, "
                "and the recommender was not fitted on them",
            )
        return profile
