"""The Agora HTTP service (BentoML): feeds, similar items, triage, events, corrections.

Start it with `agora serve` (or `bentoml serve serving.service:Agora`). The champion models
are resolved from the MLflow registry at start-up and on `/admin/reload`; see serving.runtime.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import bentoml
from bentoml.exceptions import InvalidArgument, NotFound, ServiceUnavailable
from fastapi import FastAPI

from data.schemas import split_tags
from data.store import Event, Store, StoreError, UnknownTriageError
from models.recommenders import ItemFilter, Recommendation, UnknownItemError
from models.recommenders.feed import recommend_feed
from models.triage import TriageInputError
from serving.auth import ApiKeyMiddleware
from serving.model_store import ChampionStore
from serving.runtime import Runtime, load_runtime
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
        self.champions = ChampionStore(self.settings.cache_dir, self.settings.tracking_uri)
        self.store = Store(self.settings.store_url)
        self._reload_lock = threading.Lock()
        self._generation = self.champions.generation()
        self.runtime: Runtime = load_runtime(self.settings, self.champions)
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
            served = {ref.name: ref.version for ref in self.runtime.refs().values()}
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
        return self.runtime.ready

    def describe(self) -> dict[str, Any]:
        runtime = self.runtime
        return {
            "ready": runtime.ready,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(runtime.loaded_at)),
            "models": {
                slot: {
                    "name": ref.name,
                    "version": ref.version,
                    "source": ref.source,
                    "fetched_at": ref.fetched_at,
                    "registry_error": ref.registry_error,
                }
                for slot, ref in runtime.refs().items()
            },
            "problems": runtime.problems,
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
            fresh = load_runtime(self.settings, self.champions)
            if not fresh.ready and self.runtime.ready:
                raise ServiceUnavailable(
                    f"new champions failed to load, still serving the old ones: {fresh.problems}"
                )
            changed = fresh.versions() != self.runtime.versions()
            self.runtime = fresh  # one reference assignment: requests see old or new, never both
            self._generation = self.champions.bump_generation() if announce else generation
        return changed

    # -- feeds --------------------------------------------------------------------------------

    def _recommender(self) -> tuple[Any, ModelRef]:
        """The champion recommender and its reference, from one snapshot of the runtime."""
        runtime = self.runtime
        model, ref = runtime.recommender, runtime.recommender_ref
        if model is None or ref is None:
            raise ServiceUnavailable(f"no recommender champion: {runtime.problems}")
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
        stored_history, blocked = self.store.feed_signals(request.user_id)
        recent = [*stored_history, *request.recent_items]
        recs, strategy = recommend_feed(
            model,
            request.user_id,
            request.k,
            request.exclude_seen,
            filters,
            recent_items=recent,
            query=request.query,
            blocked_items=sorted(blocked),
        )
        return RecommendResponse(
            user_id=request.user_id,
            items=self._describe_items(model, recs),
            strategy=strategy,
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
    def _describe_items(model: Any, recs: list[Recommendation]) -> list[RecommendedItem]:
        data = model.data
        described = []
        for rec in recs:
            index = data.items.get(rec.item_id)
            title = data.titles[index] if index is not None else None
            genres = split_tags(data.genres[index]) if index is not None else []
            described.append(
                RecommendedItem(item_id=rec.item_id, score=rec.score, title=title, genres=genres)
            )
        return described

    # -- triage -------------------------------------------------------------------------------

    def _engine(self) -> Any:
        runtime = self.runtime
        if runtime.triage is None:
            raise ServiceUnavailable(f"no triage champions: {runtime.problems}")
        return runtime.triage

    @bentoml.api
    def triage(self, request: TriageRequest) -> TriageResponse:
        engine = self._engine()
        contacts = self.store.prior_contacts(request.customer_id) if request.customer_id else 0
        try:
            result = engine.triage(
                request.text, request.language, request.customer_id, prior_contacts=contacts
            )
        except TriageInputError as error:
            raise InvalidArgument(str(error)) from None
        triage_id = None
        if request.customer_id is not None:
            is_complaint = bool(result.complaint and result.complaint.is_complaint)
            triage_id = self.store.record_triage(
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
            written = self.store.add_events(batch)
        except StoreError as error:
            raise InvalidArgument(str(error)) from None
        return EventsResponse(accepted=written.inserted, duplicates=written.duplicates)

    @bentoml.api
    def corrections(self, request: CorrectionRequest) -> CorrectionResponse:
        try:
            correction_id, stored = self.store.add_correction(
                request.triage_id,
                request.field,
                request.correct_label,
                request.agent,
                request.correction_id,
            )
        except UnknownTriageError as error:
            raise NotFound(str(error)) from None
        except StoreError as error:
            raise InvalidArgument(str(error)) from None
        return CorrectionResponse(correction_id=correction_id, stored=stored)


Agora.add_asgi_middleware(ApiKeyMiddleware)
