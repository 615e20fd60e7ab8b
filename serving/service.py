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
import time
from typing import Any

import anyio
import bentoml

from data.store import Store, StoreConflictError, StoreError, UnknownTriageError
from features.user_history import user_activity
from models.recommenders import (
    FeedRequest,
    ItemFilter,
    RetiredItems,
    UnknownItemError,
    route_feed,
)
from models.recommenders.fresh_items import similar_with_fresh
from models.triage import TriageInputError
from serving import bentoml_timeout, ops_metrics
from serving.agent_notes import record_correction, record_resolution
from serving.analytics_routes import Analytics
from serving.champion_cache import ChampionCache
from serving.champion_reload import ChampionReloader, look_up_retired
from serving.client_error_logs import quiet_client_errors
from serving.errors import ErrorShapeMiddleware, Refusals, answers_errors
from serving.event_intake import record_events
from serving.feed_answers import described_items, item_filter
from serving.forgotten_users import fitted_user_id
from serving.fresh_items import FreshSettings, ServedFreshItems
from serving.gateway_settings import install_trusted_proxies
from serving.info_app import info_app, serve_info_from
from serving.item_changes import items_changed, publish, published_items
from serving.knowledge import KnowledgeSettings, ServedKnowledge
from serving.middleware import guard_service
from serving.model_info import describe
from serving.openapi import OpenApiDocs
from serving.preflight import preflight
from serving.profile_routes import UserProfiles
from serving.request_context import agent_of, retry_key_of
from serving.request_ids import RequestIdHeader
from serving.retired_items import RetirementSettings, ServedRetirements
from serving.schemas.agent_notes import (
    CorrectionRequest,
    CorrectionResponse,
    ResolutionRequest,
    ResolutionResponse,
)
from serving.schemas.events import EventsRequest, EventsResponse
from serving.schemas.feeds import (
    RecommendRequest,
    RecommendResponse,
    SimilarItemsRequest,
    SimilarItemsResponse,
)
from serving.schemas.items import (
    ItemsChangedResponse,
    PublishItemsRequest,
    PublishItemsResponse,
    RestoreItemsRequest,
    RetireItemsRequest,
)
from serving.schemas.model_info import ModelInfo, ReloadRequest, ReloadResponse
from serving.schemas.triage import (
    SimilarCaseOut,
    TriageBatchRequest,
    TriageBatchResponse,
    TriageRequest,
    TriageResponse,
)
from serving.served_models import ServedModels
from serving.served_parts import engine_of, recommender_of
from serving.settings import (
    DEFAULT_HOST,
    ROUTE_ROLES,
    UNSHED_PATHS,
    Settings,
    service_workers,
)
from serving.triage_metric_labels import count_triaged
from serving.worker_tuning import prefer_the_event_loop, settle_after_load, share_the_cores

logger = logging.getLogger(__name__)
bentoml_timeout.install()  # before any worker builds its middleware stack
install_trusted_proxies()  # before any worker builds its server: no forwarded address by default

# Domain errors the handlers let through, and the status each answers (first match wins:
# subclasses before their base). Their messages name ids and limits, never a request's text.
REFUSALS: Refusals = (
    (UnknownItemError, 404),
    (UnknownTriageError, 404),
    (StoreConflictError, 409),
    (StoreError, 400),
    (TriageInputError, 400),
)


def _workers() -> int:
    """AGORA_WORKERS, or 1 while it is malformed: BentoML reads it as this module is imported,
    where a ValueError was a traceback; the preflight then refuses the value with a sentence."""
    try:
        return service_workers()
    except ValueError:
        return 1


# Workers: one per core unless AGORA_WORKERS says otherwise (one worker saturates one core).
# Host: 127.0.0.1 unless `--host` is given, also for a built Bento (BentoML's default is 0.0.0.0).
# No `max_concurrency`: serving.load_shedder.LoadShedder sheds with a 503 + Retry-After instead.
@bentoml.service(
    name="agora",
    traffic={"timeout": 60},
    workers=_workers(),
    http={"host": DEFAULT_HOST},
)
@bentoml.asgi_app(info_app, path="/")
class Agora:
    @bentoml.on_deployment
    def check_settings() -> None:
        """Stop `bentoml serve` with a sentence before any worker starts if a setting is wrong:
        keys, limits, the cache folder, the store (serving.preflight)."""
        preflight()

    def __init__(self) -> None:
        prefer_the_event_loop()
        share_the_cores(service_workers())
        quiet_client_errors()
        self.settings = Settings.from_env()
        self.champions = ChampionCache(self.settings.cache_dir, self.settings.tracking_uri)
        self.store = Store(self.settings.store_url)
        self.profiles = UserProfiles(self.store)  # segments: profiles and feed rules
        self.knowledge = ServedKnowledge(
            self.store.resolutions, KnowledgeSettings.from_env(), self.settings.cache_dir
        )
        self.analytics = Analytics.start(self.store)  # spike alerts, periodic if configured
        # Items the platform took down: read whole once the models are loaded, then followed.
        self.retirements = ServedRetirements(
            self.store.retirements, RetirementSettings.from_env(), self._prepare_retired
        )
        # Items published after training: embedded by the served model's encoder, followed
        # (a reload embeds them with its champion before the swap).
        self.fresh = ServedFreshItems(
            self.store.published, FreshSettings.from_env(), lambda: self.served.recommender
        )
        # The champions: loaded now, swapped whole by a reload (serving.champion_reload).
        self._reloader = ChampionReloader(
            self.settings, self.champions, self.retirements, self.fresh
        )
        ops_metrics.start(
            sorted(set(ROUTE_ROLES) - UNSHED_PATHS),
            polls=self.settings.reload_interval_s > 0,
            knowledge=self.knowledge.settings.enabled,
        )
        self.retirements.start()
        self.fresh.start()
        settle_after_load()
        serve_info_from(self)
        self.knowledge.start()
        self._reloader.start_watching()

    @property
    def served(self) -> ServedModels:
        """The champions served now; a request reads them once, as one snapshot."""
        return self._reloader.served

    # -- health and info ----------------------------------------------------------------------

    def __is_ready__(self) -> bool:
        return self.served.ready

    def describe(self) -> ModelInfo:
        return describe(self.served, self.settings.tracking_uri)

    @bentoml.api(route="/admin/reload", input_spec=ReloadRequest)
    @answers_errors(REFUSALS)
    async def reload(self) -> ReloadResponse:
        """Resolve the champions again and swap to them in one step if they loaded.

        Takes an empty body or `{}`. This worker swaps before answering; other workers follow
        within about a second. 503 (the old champions keep serving) if the new ones fail to load.
        """
        # Loading runs on a thread of its own: as a sync API it held the worker's one API
        # thread, and every feed waited for the whole load (about 1.5 s in a client trial).
        changed = await anyio.to_thread.run_sync(self._reloader.reload, True, "admin")
        return ReloadResponse(reloaded=True, changed=changed, **self.describe().model_dump())

    def _prepare_retired(self, retired: RetiredItems) -> None:
        look_up_retired(self.served, retired)

    # -- feeds --------------------------------------------------------------------------------

    @bentoml.api(input_spec=RecommendRequest)
    @answers_errors(REFUSALS)
    def recommend(self, **body: Any) -> RecommendResponse:
        """A user's feed: personalized, cold start from recent items or a query, or popular."""
        request = RecommendRequest.model_construct(**body)
        model, model_ref = recommender_of(self.served)
        retired = self.retirements.current()
        fresh = self.fresh.current()
        filters = item_filter(request.filters, retired, model)
        activity = user_activity(
            self.store.events.feed_events(request.user_id),
            self.store.triage.complained_items(request.user_id),
            self.store.events.user_items(request.user_id),
        )
        fitted_id = fitted_user_id(self.store, model, request.user_id)
        feed = route_feed(
            model,
            FeedRequest(
                fitted_id,
                request.k,
                request.exclude_seen,
                filters,
                request.recent_items,
                request.query,
            ),
            activity,
            self.profiles.feed_rules(
                request.user_id, model, complained=bool(activity.blocked), fitted_id=fitted_id
            ),
            fresh,
        )
        return RecommendResponse(
            user_id=request.user_id,
            items=described_items(model, feed.items, fresh),
            strategy=feed.strategy,
            model=model_ref,
        )

    @bentoml.api(input_spec=SimilarItemsRequest)
    @answers_errors(REFUSALS)
    def similar_items(self, **body: Any) -> SimilarItemsResponse:
        """Items like one item (404 for an item neither the model nor the published items
        know). Retired items are never among them; a retired item may still be the seed: its
        page (a product out of stock, a post being reviewed) is where alternatives are wanted.
        Items published after training are among them, and may be the seed."""
        request = SimilarItemsRequest.model_construct(**body)
        model, model_ref = recommender_of(self.served)
        retired = ItemFilter(retired=self.retirements.current())
        fresh = self.fresh.current()
        if fresh is not None and len(fresh) and model.answers_text_queries:
            recs = similar_with_fresh(model, request.item_id, request.k, retired, fresh)
        else:
            recs = model.similar_items(request.item_id, request.k, retired)
        return SimilarItemsResponse(
            item_id=request.item_id,
            items=described_items(model, recs, fresh),
            model=model_ref,
        )

    # -- triage -------------------------------------------------------------------------------

    @bentoml.api(input_spec=TriageRequest)
    @answers_errors(REFUSALS)
    def triage(self, ctx: bentoml.Context, **body: Any) -> TriageResponse:
        """Triage one text; with a customer_id it is recorded (and counts as a contact).

        An idempotency key (body field or `Idempotency-Key` header) makes a retry of a recorded
        triage return the first triage_id without adding a contact; the same key for another
        contact is a 409.
        """
        request = TriageRequest.model_construct(**body)
        key = retry_key_of(ctx, request.idempotency_key, "idempotency_key")
        customer = request.customer_id
        if customer is None:
            # Nothing is stored without a customer_id, so a retry needs no key: a header key
            # is then unused (a gateway that stamps one on every POST had such triages
            # refused); a body key without a customer_id is refused by TriageRequest.
            key = None
        engine = engine_of(self.served)
        days = engine.config.urgency.repeat_contact_days
        since = None if days is None else time.time() - days * 86_400
        contacts = (
            self.store.triage.prior_contacts(customer, idempotency_key=key, since=since)
            if customer
            else 0
        )
        result = engine.triage(request.text, request.language, customer, prior_contacts=contacts)
        is_complaint = bool(result.complaint and result.complaint.is_complaint)
        triage_id = None
        if customer is not None:
            triage_id = self.store.triage.record(
                request.text,
                result.model_dump(mode="json"),
                {m.task + "-" + m.language: f"{m.name}@{m.version}" for m in result.models},
                result.language.code or "",
                is_complaint,
                customer_id=customer,
                item_id=request.item_id,
                idempotency_key=key,
                occurred_at=request.occurred_at,
            )
        count_triaged(engine, result)
        # Past resolutions answer complaints; praise and questions are not embedded (the
        # embedding is most of what similar cases cost a request). Cases of the reason triage
        # found come first.
        reason = result.reason.label if result.reason is not None else None
        found = self.knowledge.similar_cases(request.text, reason) if is_complaint else []
        similar = [SimilarCaseOut.model_construct(**vars(case)) for case in found]
        return TriageResponse(triage_id=triage_id, result=result, similar_cases=similar)

    @bentoml.api(input_spec=TriageBatchRequest)
    @answers_errors(REFUSALS)
    def triage_batch(self, **body: Any) -> TriageBatchResponse:
        """Triage a list of texts in one call (nothing is recorded; `texts` says how many)."""
        request = TriageBatchRequest.model_construct(**body)
        engine = engine_of(self.served)
        languages = [request.language] * len(request.texts)
        return TriageBatchResponse(results=engine.triage_batch(request.texts, languages))

    # -- the loop back: events and corrections -----------------------------------------------

    @bentoml.api(input_spec=EventsRequest)
    @answers_errors(REFUSALS)
    def events(self, **body: Any) -> EventsResponse:
        """Store interaction events; the answer comes only after the write is durable.

        A re-sent event_id with the same content is a duplicate (counted, not stored twice);
        with other content it is a 409.
        """
        request = EventsRequest.model_construct(**body)
        return record_events(self.store, request)

    # -- the catalog: items taken down and put back ------------------------------------------

    @bentoml.api(route="/items/retire", input_spec=RetireItemsRequest)
    @answers_errors(REFUSALS)
    def retire_items(self, ctx: bentoml.Context, **body: Any) -> ItemsChangedResponse:
        """Take items out of every feed and similar-items list, without retraining (a takedown,
        a deleted post, a product out of stock). Stored before the answer; this worker serves
        it at once, every other worker and replica within AGORA_RETIRED_REFRESH_S (default 1 s).
        """
        request = RetireItemsRequest.model_construct(**body)
        change = self.store.retirements.retire(
            request.item_ids, agent_of(ctx, "a retirement"), request.reason
        )
        return items_changed(self.retirements, change.changed, change.unchanged)

    @bentoml.api(route="/items/restore", input_spec=RestoreItemsRequest)
    @answers_errors(REFUSALS)
    def restore_items(self, ctx: bentoml.Context, **body: Any) -> ItemsChangedResponse:
        """Put retired items back (an item never retired is answered as unchanged)."""
        request = RestoreItemsRequest.model_construct(**body)
        change = self.store.retirements.restore(request.item_ids, agent_of(ctx, "a restoration"))
        return items_changed(self.retirements, change.changed, change.unchanged)

    @bentoml.api(route="/items", input_spec=PublishItemsRequest)
    @answers_errors(REFUSALS)
    async def publish_items(self, ctx: bentoml.Context, **body: Any) -> PublishItemsResponse:
        """Add items published after training (id, title, text, genres; up to 100): the served
        content encoder embeds them, and they take a bounded share of feeds and similar items
        until a retrained model knows them (README "Fresh items"). This worker serves them at
        once, every other worker within AGORA_FRESH_REFRESH_S (default 2 s)."""
        request = PublishItemsRequest.model_construct(**body)
        items = published_items(request)
        agent = agent_of(ctx, "a publication")
        # Stored and embedded on a thread of its own: as a sync API it held the worker's one
        # API thread, and every feed waited for the embedding (100 long texts: tens of seconds).
        return await anyio.to_thread.run_sync(publish, self.store, self.fresh, items, agent)

    @bentoml.api(input_spec=CorrectionRequest)
    @answers_errors(REFUSALS)
    def corrections(self, ctx: bentoml.Context, **body: Any) -> CorrectionResponse:
        """An agent's correction of a recorded triage; the agent is the name of the API key."""
        request = CorrectionRequest.model_construct(**body)
        return record_correction(ctx, request, self.store, lambda: engine_of(self.served))

    @bentoml.api(input_spec=ResolutionRequest)
    @answers_errors(REFUSALS)
    def resolutions(self, ctx: bentoml.Context, **body: Any) -> ResolutionResponse:
        """An agent's resolution of a recorded triage (stored redacted); the agent is the name
        of the API key. Resolved and worked-around cases join the knowledge base that
        `/triage`'s similar_cases search, in every worker within a few seconds. A resolved case
        is resolved again only by a resolution that `replaces` its latest one (409 otherwise,
        naming who resolved it and when): two agents on one case never both resolve it."""
        request = ResolutionRequest.model_construct(**body)
        return record_resolution(ctx, request, self.store)


# Added before the guards, so outside them: every answer carries its request id (whoever
# refused it), every non-2xx body leaves in the one error shape, and /docs.json is the OpenAPI
# document post-processed to tell the truth (serving.openapi).
Agora.add_asgi_middleware(RequestIdHeader)
Agora.add_asgi_middleware(ErrorShapeMiddleware)
Agora.add_asgi_middleware(OpenApiDocs, service=Agora)
guard_service(Agora)
