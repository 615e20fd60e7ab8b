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
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from data.store import (
    Event,
    PublishedItem,
    Store,
    StoreConflictError,
    StoreError,
    UnknownTriageError,
)
from data.store.resolutions import CaseAlreadyResolvedError
from features.user_history import user_activity
from models.recommenders import (
    FeedRequest,
    ItemFilter,
    Recommendation,
    Recommender,
    RetiredItems,
    UnknownItemError,
    route_feed,
)
from models.recommenders.fresh_items import FreshItems, describe_with_fresh, similar_with_fresh
from models.recommenders.publication_times import NoPublicationTimesError
from models.triage import TriageEngine, TriageInputError
from serving import bentoml_timeout, ops_metrics
from serving.analytics_routes import Analytics, analytics_router
from serving.catalog_routes import install_catalog_routes
from serving.champion_cache import ChampionCache
from serving.champion_reload import ChampionReloader, look_up_retired
from serving.client_error_logs import quiet_client_errors
from serving.desk_routes import install_desk_routes
from serving.errors import (
    ALREADY_RESOLVED,
    ApiError,
    ErrorShapeMiddleware,
    Refusals,
    answers_errors,
    install_store_outage_handler,
)
from serving.fresh_items import FreshSettings, ServedFreshItems
from serving.gateway_settings import install_trusted_proxies
from serving.knowledge import KnowledgeSettings, ServedKnowledge
from serving.middleware import guard_service
from serving.model_info import (
    STARTING,
    describe,
    feeds_need,
    triage_needs,
    why_unserved,
)
from serving.openapi import OpenApiDocs
from serving.preflight import preflight
from serving.profile_routes import UserProfiles, install_profile_route
from serving.query_strictness import install_query_strictness
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
    ModelRef,
    RecommendedItem,
    RecommendRequest,
    RecommendResponse,
    SimilarItemsRequest,
    SimilarItemsResponse,
)
from serving.schemas.idempotency import idempotency_key_of, one_idempotency_header
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
from serving.settings import (
    DEFAULT_HOST,
    FEEDS,
    ROUTE_ROLES,
    TRIAGE,
    UNSHED_PATHS,
    Settings,
    not_served,
    service_workers,
)
from serving.triage_metric_labels import count_triaged
from serving.worker_tuning import prefer_the_event_loop, settle_after_load, share_the_cores

logger = logging.getLogger(__name__)
bentoml_timeout.install()  # before any worker builds its middleware stack
install_trusted_proxies()  # before any worker builds its server: no forwarded address by default

info_app = FastAPI(title="Agora model info")
_instance: Agora | None = None  # the running service, for the plain GET routes below

# Domain errors the handlers let through, and the status each answers (first match wins:
# subclasses before their base). Their messages name ids and limits, never a request's text.
# What a refused resolution's answer tells of the case's latest one (never its text).
_LATEST_SHOWN = ("resolution_id", "agent", "outcome", "created_at")
REFUSALS: Refusals = (
    (UnknownItemError, 404),
    (UnknownTriageError, 404),
    (StoreConflictError, 409),
    (StoreError, 400),
    (TriageInputError, 400),
)


@info_app.exception_handler(RequestValidationError)
async def _bad_query(_request: Request, error: RequestValidationError) -> JSONResponse:
    """A GET route's bad query parameter is a 400 with the parameter named (not FastAPI's 422)."""
    return JSONResponse(status_code=400, content={"detail": _located(error.errors())})


def _located(problems: Any) -> list[dict[str, Any]]:
    # Only where and what: the rejected value is the client's input and is not echoed.
    return [{"loc": p.get("loc", ()), "msg": p.get("msg", "")} for p in problems]


install_desk_routes(info_app, lambda: _instance)
install_store_outage_handler(info_app)
install_query_strictness(info_app)
info_app.include_router(analytics_router(lambda: _instance.analytics if _instance else None))
install_profile_route(info_app, lambda: _instance)
install_catalog_routes(info_app, lambda: _instance)


@info_app.get("/model_info")
def model_info() -> ModelInfo:
    """Which champion versions are served, from where (registry or local cache), and problems.

    Credentials in the tracking URI and in registry errors are masked.
    """
    if _instance is None:
        return STARTING
    return _instance.describe()


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
        global _instance
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
        _instance = self
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

    def _recommender(self) -> tuple[Recommender, ModelRef]:
        """The champion recommender and its reference, from one snapshot of the served models."""
        served = self.served
        model, ref = served.recommender, served.recommender_ref
        if FEEDS not in served.parts:
            raise ApiError(503, not_served(FEEDS, served.parts))
        if model is None or ref is None:
            raise ApiError(503, f"no recommender champion ({why_unserved(served, feeds_need)})")
        return model, ModelRef(name=ref.name, version=ref.version, source=ref.source)

    @bentoml.api(input_spec=RecommendRequest)
    @answers_errors(REFUSALS)
    def recommend(self, **body: Any) -> RecommendResponse:
        """A user's feed: personalized, cold start from recent items or a query, or popular."""
        request = RecommendRequest.model_construct(**body)
        model, model_ref = self._recommender()
        retired = self.retirements.current()
        fresh = self.fresh.current()
        filters = ItemFilter(retired=retired)
        if request.filters is not None:
            f = request.filters
            filters = ItemFilter(
                set(f.include_genres),
                set(f.exclude_genres),
                set(f.exclude_item_ids),
                set(f.include_item_ids),
                retired,
                f.published_since(time.time()),
            )
            if filters.published_after is not None and model.catalog.published_at is None:
                raise ApiError(409, str(NoPublicationTimesError()))
        activity = user_activity(
            self.store.events.feed_events(request.user_id),
            self.store.triage.complained_items(request.user_id),
            self.store.events.user_items(request.user_id),
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
            self.profiles.feed_rules(request.user_id, model, complained=bool(activity.blocked)),
            fresh,
        )
        return RecommendResponse(
            user_id=request.user_id,
            items=self._describe_items(model, feed.items, fresh),
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
        model, model_ref = self._recommender()
        retired = ItemFilter(retired=self.retirements.current())
        fresh = self.fresh.current()
        if fresh is not None and len(fresh) and model.answers_text_queries:
            recs = similar_with_fresh(model, request.item_id, request.k, retired, fresh)
        else:
            recs = model.similar_items(request.item_id, request.k, retired)
        return SimilarItemsResponse(
            item_id=request.item_id,
            items=self._describe_items(model, recs, fresh),
            model=model_ref,
        )

    @staticmethod
    def _describe_items(
        model: Recommender, recs: list[Recommendation], fresh: FreshItems | None = None
    ) -> list[RecommendedItem]:
        infos = describe_with_fresh(model, fresh, [rec.item_id for rec in recs])
        return [
            RecommendedItem(
                item_id=rec.item_id,
                score=rec.score,
                title=info.title,
                genres=list(info.genres),
                published_at=info.published_at,
                fresh=fresh is not None and rec.item_id in fresh,
            )
            for rec, info in zip(recs, infos, strict=True)
        ]

    # -- triage -------------------------------------------------------------------------------

    def _engine(self) -> TriageEngine:
        """The served triage engine, from one snapshot of the served models."""
        served = self.served
        if TRIAGE not in served.parts:
            raise ApiError(503, not_served(TRIAGE, served.parts))
        if served.triage is None:
            raise ApiError(503, f"no triage champions ({why_unserved(served, triage_needs)})")
        return served.triage

    @bentoml.api(input_spec=TriageRequest)
    @answers_errors(REFUSALS)
    def triage(self, ctx: bentoml.Context, **body: Any) -> TriageResponse:
        """Triage one text; with a customer_id it is recorded (and counts as a contact).

        An idempotency key (body field or `Idempotency-Key` header) makes a retry of a recorded
        triage return the first triage_id without adding a contact; the same key for another
        contact is a 409.
        """
        request = TriageRequest.model_construct(**body)
        key = _keyed(ctx, request.idempotency_key, "idempotency_key")
        customer = request.customer_id
        if customer is None:
            # Nothing is stored without a customer_id, so a retry needs no key: a header key
            # is then unused (a gateway that stamps one on every POST had such triages
            # refused); a body key without a customer_id is refused by TriageRequest.
            key = None
        engine = self._engine()
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
        engine = self._engine()
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
        # An event sent without a timestamp is stamped with the time of receipt, one stamp for
        # the request; a retry of it is the same event though a second passed, so the log
        # leaves those stamps out when it compares a re-sent event_id with the stored one.
        received = int(time.time())
        stamped = {e.event_id for e in request.events if "timestamp" not in e.model_fields_set}
        batch, repeats = _one_per_id(
            [
                Event(
                    e.event_id,
                    e.user_id,
                    e.item_id,
                    e.type,
                    e.timestamp if "timestamp" in e.model_fields_set else received,
                    e.weight,
                )
                for e in request.events
            ]
        )
        written = self.store.events.add(batch, stamped_on_receipt=stamped)
        ops_metrics.events_written(written.inserted, written.duplicates + repeats)
        return EventsResponse(accepted=written.inserted, duplicates=written.duplicates + repeats)

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
            request.item_ids, _agent(ctx, "a retirement"), request.reason
        )
        return self._items_changed(change.changed, change.unchanged)

    @bentoml.api(route="/items/restore", input_spec=RestoreItemsRequest)
    @answers_errors(REFUSALS)
    def restore_items(self, ctx: bentoml.Context, **body: Any) -> ItemsChangedResponse:
        """Put retired items back (an item never retired is answered as unchanged)."""
        request = RestoreItemsRequest.model_construct(**body)
        change = self.store.retirements.restore(request.item_ids, _agent(ctx, "a restoration"))
        return self._items_changed(change.changed, change.unchanged)

    @bentoml.api(route="/items", input_spec=PublishItemsRequest)
    @answers_errors(REFUSALS)
    async def publish_items(self, ctx: bentoml.Context, **body: Any) -> PublishItemsResponse:
        """Add items published after training (id, title, text, genres; up to 100): the served
        content encoder embeds them, and they take a bounded share of feeds and similar items
        until a retrained model knows them (README "Fresh items"). This worker serves them at
        once, every other worker within AGORA_FRESH_REFRESH_S (default 2 s)."""
        request = PublishItemsRequest.model_construct(**body)
        items = [
            PublishedItem(i.item_id, i.title, i.text, tuple(dict.fromkeys(i.genres)))
            for i in request.items
        ]
        agent = _agent(ctx, "a publication")
        # Stored and embedded on a thread of its own: as a sync API it held the worker's one
        # API thread, and every feed waited for the embedding (100 long texts: tens of seconds).
        return await anyio.to_thread.run_sync(self._publish, items, agent)

    def _publish(self, items: list[PublishedItem], agent: str) -> PublishItemsResponse:
        stored, unchanged = self.store.published.publish(items, agent)
        self.fresh.catch_up()  # embedded before the answer: this worker's next feed has them
        fresh = self.fresh.current()
        return PublishItemsResponse(
            stored=list(stored), unchanged=list(unchanged), fresh_now=len(fresh) if fresh else 0
        )

    def _items_changed(
        self, changed: tuple[str, ...], unchanged: tuple[str, ...]
    ) -> ItemsChangedResponse:
        # Read the change back before answering: this worker's next feed already follows it.
        self.retirements.catch_up()
        retired: RetiredItems = self.retirements.current()
        return ItemsChangedResponse(
            changed=list(changed), unchanged=list(unchanged), retired_now=len(retired)
        )

    @bentoml.api(input_spec=CorrectionRequest)
    @answers_errors(REFUSALS)
    def corrections(self, ctx: bentoml.Context, **body: Any) -> CorrectionResponse:
        """An agent's correction of a recorded triage; the agent is the name of the API key."""
        request = CorrectionRequest.model_construct(**body)
        # An unknown record is a 404 whatever the label; a label is then checked against the
        # served models' labels: a misspelt one would otherwise be stored, shown on the desk,
        # refile knowledge-base cases and train the next retrain.
        language = self.store.triage.language_of(request.triage_id)
        if language is None:
            raise ApiError(404, "unknown triage_id: correct a triage the service recorded")
        label = self._engine().correction_label(request.field, request.correct_label, language)
        correction_id, stored = self.store.triage.add_correction(
            request.triage_id,
            request.field,
            label,
            _agent(ctx, "a correction"),
            _keyed(ctx, request.correction_id, "correction_id"),
        )
        if stored:
            ops_metrics.correction_stored(request.field)
        return CorrectionResponse(correction_id=correction_id, stored=stored)

    @bentoml.api(input_spec=ResolutionRequest)
    @answers_errors(REFUSALS)
    def resolutions(self, ctx: bentoml.Context, **body: Any) -> ResolutionResponse:
        """An agent's resolution of a recorded triage (stored redacted); the agent is the name
        of the API key. Resolved and worked-around cases join the knowledge base that
        `/triage`'s similar_cases search, in every worker within a few seconds. A resolved case
        is resolved again only by a resolution that `replaces` its latest one (409 otherwise,
        naming who resolved it and when): two agents on one case never both resolve it."""
        request = ResolutionRequest.model_construct(**body)
        try:
            resolution_id, stored = self.store.resolutions.add(
                request.triage_id,
                request.resolution,
                request.outcome,
                _agent(ctx, "a resolution"),
                _keyed(ctx, request.resolution_id, "resolution_id"),
                replaces=request.replaces,
            )
        except CaseAlreadyResolvedError as refused:
            if refused.latest is None:  # `replaces` named a resolution of a case with none
                raise ApiError(409, str(refused)) from None
            # The desk shows who resolved the case and when, and offers to replace it.
            latest = {name: getattr(refused.latest, name) for name in _LATEST_SHOWN}
            details = {"resolution": latest}
            raise ApiError(409, str(refused), ALREADY_RESOLVED, details) from None
        if stored:
            ops_metrics.resolution_stored(request.outcome)
        return ResolutionResponse(resolution_id=resolution_id, stored=stored)


def _one_per_id(events: list[Event]) -> tuple[list[Event], int]:
    """The batch without exact repeats, and how many there were (answered as duplicates, as a
    re-sent batch would be); one event_id with two contents is a 409, as across batches."""
    first: dict[str, Event] = {}
    for event in events:
        if first.setdefault(event.event_id, event) != event:
            raise ApiError(409, "a batch sends one event_id twice with different content")
    return list(first.values()), len(events) - len(first)


def _keyed(ctx: bentoml.Context, in_body: str | None, field: str) -> str | None:
    """The id `field` from the body or the `Idempotency-Key` header: a gateway that retries a
    POST with that header stored a correction twice when only the body's id counted."""
    try:
        in_header = one_idempotency_header(ctx.request.headers.getlist("idempotency-key"))
        return idempotency_key_of(in_body, in_header, field)
    except ValueError as error:
        raise ApiError(400, str(error)) from None


def _agent(ctx: bentoml.Context, what: str = "a correction") -> str:
    """The name of the key that sent the request (serving.api_key_guard puts it in the scope)."""
    state = ctx.request.scope.get("state") or {}
    name = getattr(state.get("principal"), "name", None)
    if not name:
        raise ApiError(401, f"{what} needs an agent's API key: its name is the agent")
    return str(name)


# Added before the guards, so outside them: every answer carries its request id (whoever
# refused it), every non-2xx body leaves in the one error shape, and /docs.json is the OpenAPI
# document post-processed to tell the truth (serving.openapi).
Agora.add_asgi_middleware(RequestIdHeader)
Agora.add_asgi_middleware(ErrorShapeMiddleware)
Agora.add_asgi_middleware(OpenApiDocs, service=Agora)
guard_service(Agora)
