"""The Agora HTTP service (BentoML): feeds, similar items, triage, events, corrections.

Start it with `agora serve` (or `bentoml serve serving.service:Agora`). The champion models
are resolved from the MLflow registry at start-up and on `/admin/reload`; see serving.served_models.
"""

from __future__ import annotations

# BentoML workers import this module directly (not through `agora`): the offline, one-BLAS-thread
# environment must be in place before the imports below load the heavy libraries.
from data.environment import apply_stack_environment

apply_stack_environment()

import logging
import threading
import time
from http import HTTPStatus
from typing import Any

import bentoml
from bentoml.exceptions import BentoMLException, InvalidArgument, NotFound, ServiceUnavailable
from fastapi import FastAPI

from data.store import Event, Store, StoreConflictError, StoreError, UnknownTriageError
from features.user_history import user_activity
from models.recommenders import (
    FeedRequest,
    ItemFilter,
    Recommendation,
    Recommender,
    UnknownItemError,
    route_feed,
)
from models.triage import TriageEngine, TriageInputError
from serving.auth import ApiKeyMiddleware
from serving.champion_cache import ChampionCache
from serving.schemas import (
    CorrectionRequest,
    CorrectionResponse,
    EventsRequest,
    EventsResponse,
    ModelRef,
    RecommendedItem,
    RecommendRequest,
    RecommendResponse,
    SimilarItemsRequest,
    SimilarItemsResponse,
    TriageBatchRequest,
    TriageBatchResponse,
    TriageRequest,
    TriageResponse,
)
from serving.served_models import ServedModels, load_served_models
from serving.settings import Settings

logger = logging.getLogger(__name__)

info_app = FastAPI(title="Agora model info")
GENERATION_POLL_S = 1.0
_instance: Agora | None = None  # the running service, for the plain GET routes below


@info_app.get("/model_info")
def model_info() -> dict[str, Any]:
    """Which champion versions are served, from where (registry or local cache), and problems."""
    if _instance is None:
        return {"ready": False, "models": {}, "problems": {"service": "starting"}}
    return _instance.describe()


@bentoml.service(name="agora", traffic={"timeout": 60})
@bentoml.asgi_app(info_app, path="/")
class Agora:
    def __init__(self) -> None:
        global _instance
        self.settings = Settings.from_env()
        self.champions = ChampionCache(self.settings.cache_dir, self.settings.tracking_uri)
        self.store = Store(self.settings.store_url)
        self._reload_lock = threading.Lock()
        self._generation = self.champions.generation()
        self.served: ServedModels = load_served_models(self.settings, self.champions)
        _instance = self
        threading.Thread(target=self._watch_generation, name="reload-watch", daemon=True).start()
        if self.settings.reload_interval_s > 0:
            threading.Thread(target=self._watch_aliases, name="alias-watch", daemon=True).start()

    def _watch_generation(self) -> None:
        """Follow reloads asked of another worker of this service (a shared file token)."""
        while True:
            time.sleep(GENERATION_POLL_S)
            if self.champions.generation() != self._generation:
                try:
                    self._reload(announce=False)
                except Exception:  # keep watching; the old models keep serving
                    logger.exception("reload asked by another worker failed")

    def _watch_aliases(self) -> None:
        """Reload when a registry @champion alias moves (the alternative to /admin/reload)."""
        while True:
            time.sleep(self.settings.reload_interval_s)
            served = {ref.name: ref.version for ref in self.served.refs().values()}
            moved = {
                name: current
                for name, version in served.items()
                if (current := self.champions.champion_version(name)) not in (None, version)
            }
            if moved:
                logger.info("champion aliases moved %s: reloading", moved)
                try:
                    self._reload(announce=False)
                except Exception:  # keep watching; the old models keep serving
                    logger.exception("reload after an alias move failed")

    # -- health and info ----------------------------------------------------------------------

    def __is_ready__(self) -> bool:
        return self.served.ready

    def describe(self) -> dict[str, Any]:
        served = self.served
        return {
            "ready": served.ready,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(served.loaded_at)),
            "models": {
                slot: {
                    "name": ref.name,
                    "version": ref.version,
                    "source": ref.source,
                    "fetched_at": ref.fetched_at,
                    "registry_error": ref.registry_error,
                }
                for slot, ref in served.refs().items()
            },
            "problems": served.problems,
            "tracking_uri": self.settings.tracking_uri,
        }

    @bentoml.api(route="/admin/reload")
    def reload(self) -> dict[str, Any]:
        """Resolve the champions again and swap to them in one step if they loaded.

        This worker swaps before answering; other workers follow within ~1 s.
        """
        changed = self._reload(announce=True)
        return {"reloaded": True, "changed": changed, **self.describe()}

    def _reload(self, announce: bool) -> bool:
        with self._reload_lock:
            generation = self.champions.generation()
            fresh = load_served_models(self.settings, self.champions)
            if not fresh.ready and self.served.ready:
                raise ServiceUnavailable(
                    f"new champions failed to load, still serving the old ones: {fresh.problems}"
                )
            changed = fresh.versions() != self.served.versions()
            self.served = fresh  # one reference assignment: requests see old or new, never both
            self._generation = self.champions.bump_generation() if announce else generation
        return changed

    # -- feeds --------------------------------------------------------------------------------

    def _recommender(self) -> tuple[Recommender, ModelRef]:
        """The champion recommender and its reference, from one snapshot of the served models."""
        served = self.served
        model, ref = served.recommender, served.recommender_ref
        if model is None or ref is None:
            raise ServiceUnavailable(f"no recommender champion: {served.problems}")
        return model, ModelRef(name=ref.name, version=ref.version, source=ref.source)

    @bentoml.api
    def recommend(self, request: RecommendRequest) -> RecommendResponse:
        model, model_ref = self._recommender()
        filters = None
        if request.filters is not None:
            f = request.filters
            filters = ItemFilter(
                set(f.include_genres),
                set(f.exclude_genres),
                set(f.exclude_item_ids),
                set(f.include_item_ids),
            )
        activity = user_activity(
            self.store.events.feed_events(request.user_id),
            self.store.triage.complained_items(request.user_id),
        )
        feed = route_feed(
            model,
            FeedRequest(
                request.user_id,
                request.k,
                request.exclude_seen,
                filters,
                request.recent_items,
                request.query,
            ),
            activity,
        )
        return RecommendResponse(
            user_id=request.user_id,
            items=self._describe_items(model, feed.items),
            strategy=feed.strategy,
            model=model_ref,
        )

    @bentoml.api
    def similar_items(self, request: SimilarItemsRequest) -> SimilarItemsResponse:
        model, model_ref = self._recommender()
        try:
            recs = model.similar_items(request.item_id, request.k)
        except UnknownItemError as error:
            raise NotFound(str(error)) from None
        return SimilarItemsResponse(
            item_id=request.item_id,
            items=self._describe_items(model, recs),
            model=model_ref,
        )

    @staticmethod
    def _describe_items(model: Recommender, recs: list[Recommendation]) -> list[RecommendedItem]:
        infos = model.describe_items([rec.item_id for rec in recs])
        return [
            RecommendedItem(
                item_id=rec.item_id, score=rec.score, title=info.title, genres=list(info.genres)
            )
            for rec, info in zip(recs, infos, strict=True)
        ]

    # -- triage -------------------------------------------------------------------------------

    def _engine(self) -> TriageEngine:
        """The served triage engine, from one snapshot of the served models."""
        served = self.served
        if served.triage is None:
            raise ServiceUnavailable(f"no triage champions: {served.problems}")
        return served.triage

    @bentoml.api
    def triage(self, request: TriageRequest) -> TriageResponse:
        engine = self._engine()
        customer = request.customer_id
        contacts = self.store.triage.prior_contacts(customer) if customer else 0
        try:
            result = engine.triage(
                request.text, request.language, request.customer_id, prior_contacts=contacts
            )
        except TriageInputError as error:
            raise InvalidArgument(str(error)) from None
        triage_id = None
        if request.customer_id is not None:
            is_complaint = bool(result.complaint and result.complaint.is_complaint)
            triage_id = self.store.triage.record(
                request.text,
                result.model_dump(mode="json"),
                {m.task + "-" + m.language: f"{m.name}@{m.version}" for m in result.models},
                result.language.code or "",
                is_complaint,
                customer_id=request.customer_id,
                item_id=request.item_id,
            )
        return TriageResponse(triage_id=triage_id, result=result)

    @bentoml.api
    def triage_batch(self, request: TriageBatchRequest) -> TriageBatchResponse:
        engine = self._engine()
        languages = [request.language] * len(request.texts)
        try:
            results = engine.triage_batch(request.texts, languages)
        except TriageInputError as error:
            raise InvalidArgument(str(error)) from None
        return TriageBatchResponse(results=results)

    # -- the loop back: events and corrections -----------------------------------------------

    @bentoml.api
    def events(self, request: EventsRequest) -> EventsResponse:
        """Store interaction events; the answer comes only after the write is durable."""
        batch = [
            Event(e.event_id, e.user_id, e.item_id, e.type, e.timestamp, e.weight)
            for e in request.events
        ]
        try:
            written = self.store.events.add(batch)
        except StoreConflictError as error:
            raise BentoMLException(str(error), error_code=HTTPStatus.CONFLICT) from None
        except StoreError as error:
            raise InvalidArgument(str(error)) from None
        return EventsResponse(accepted=written.inserted, duplicates=written.duplicates)

    @bentoml.api
    def corrections(self, request: CorrectionRequest) -> CorrectionResponse:
        try:
            correction_id, stored = self.store.triage.add_correction(
                request.triage_id,
                request.field,
                request.correct_label,
                request.agent,
                request.correction_id,
            )
        except UnknownTriageError as error:
            raise NotFound(str(error)) from None
        except StoreConflictError as error:
            raise BentoMLException(str(error), error_code=HTTPStatus.CONFLICT) from None
        except StoreError as error:
            raise InvalidArgument(str(error)) from None
        return CorrectionResponse(correction_id=correction_id, stored=stored)


Agora.add_asgi_middleware(ApiKeyMiddleware)
