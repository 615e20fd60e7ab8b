"""Service settings, read from the environment once at start-up.

Two kinds live here: the registry/store settings (`Settings.from_env`, read by each worker) and
the guards' limits and access configuration (body limits, route roles, keys, origins, hosts,
workers). The limits are constants so the schemas, the middlewares and the docs share one value.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from data.paths import agora_home, tracking_uri
from models.served_models import RECOMMENDER_SLOT, default_registered_name, served_slot_names

API_KEYS_ENV = "AGORA_API_KEYS"  # role:name:key or role:key entries, comma-separated
LEGACY_API_KEY_ENV = "AGORA_API_KEY"  # the old single key: refused at start, with a sentence
INSECURE_DEV_ENV = "AGORA_INSECURE_DEV"  # "1": every route open (local development only)
ALLOWED_ORIGINS_ENV = "AGORA_ALLOWED_ORIGINS"  # comma-separated; default none (no CORS)
ALLOWED_HOSTS_ENV = "AGORA_ALLOWED_HOSTS"  # comma-separated Host names; default local names
BIND_HOST_ENV = "AGORA_HOST"  # the interface the service binds (the launcher sets it)
WORKERS_ENV = "AGORA_WORKERS"  # worker processes; default: the number of cores
MAX_IN_FLIGHT_ENV = "AGORA_MAX_IN_FLIGHT"  # per worker; more requests are shed with a 503
SIMILAR_CASES_ENV = "AGORA_SIMILAR_CASES"  # "0": /triage answers no similar_cases
KB_REFRESH_ENV = "AGORA_KB_REFRESH_S"  # seconds between knowledge-base catch-ups (default 2)
RETIRED_REFRESH_ENV = "AGORA_RETIRED_REFRESH_S"  # seconds between retirement-log reads (1)
FRESH_REFRESH_ENV = "AGORA_FRESH_REFRESH_S"  # seconds between published-items reads (2)
FRESH_SHARE_ENV = "AGORA_FRESH_SHARE"  # share of feed slots for fresh items (0.2; 0: off)
# static-lexical (default), static or minilm-int8: see models.knowledge
KB_ENCODER_ENV = "AGORA_KB_ENCODER"

DEFAULT_HOST = "127.0.0.1"  # never every interface unless asked: the service holds customer text
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_MAX_IN_FLIGHT = 16  # x a few ms per request: excess is told in tens of ms, not queued
# A batch keeps a core busy for seconds (1,000 texts): its own, small budget per worker, so a
# flood of batches is shed instead of taking every slot a feed or a single triage needs.
MAX_BATCHES_IN_FLIGHT_ENV = "AGORA_MAX_BATCHES_IN_FLIGHT"
DEFAULT_MAX_BATCHES_IN_FLIGHT = 2
BATCH_PATHS = frozenset({"/triage_batch"})

MAX_TEXT_BYTES = 100 * 1024  # a triage text over 100 KB is refused with a 413-style 4xx
MAX_BATCH = 1000

KIB = 1024
# JSON writers may escape every non-ASCII character (Python's json.dumps does by default): a
# character of 2-4 UTF-8 bytes becomes one or two 6-byte \uXXXX escapes, up to 3x its UTF-8
# size. A body limit sized for escaped text lets a client reach the documented text limits,
# which are checked on the decoded text (UTF-8 bytes) after parsing.
JSON_ESCAPE_FACTOR = 3
# Request body limits per route, enforced on the raw bytes before any parsing (413 beyond).
BODY_LIMITS: dict[str, int] = {
    "/triage": JSON_ESCAPE_FACTOR * MAX_TEXT_BYTES + 16 * KIB,
    "/triage_batch": 2 * KIB * KIB,  # the batch's total: 1,000 texts of 2 KB, or fewer longer
    "/events": 1 * KIB * KIB,
    "/corrections": 64 * KIB,
    # A resolution note is at most 8 KB of UTF-8 (data.store.resolutions).
    "/resolutions": JSON_ESCAPE_FACTOR * 8 * KIB + 8 * KIB,
    # 10,000 included or excluded item ids (serving.schemas.feeds.Filters) of a typical length.
    "/recommend": 256 * KIB,
    "/similar_items": 256 * KIB,
    # 1,000 item ids (data.store.item_retirements) of up to 256 characters, however escaped.
    "/items/retire": JSON_ESCAPE_FACTOR * MAX_BATCH * 256 + 16 * KIB,
    "/items/restore": JSON_ESCAPE_FACTOR * MAX_BATCH * 256 + 16 * KIB,
    # 100 items (data.store.published_items) of a 256-character id, 300-character title,
    # 2,000-character text and 20 genres of 64 characters, however escaped.
    "/items": JSON_ESCAPE_FACTOR * 100 * (256 + 300 + 2000 + 20 * 70) + 16 * KIB,
}
DEFAULT_BODY_LIMIT = 16 * KIB

# Which roles may call each route. A route missing here is answered 404 (and the service refuses
# to start if one of its API routes is missing), so a new endpoint is never open by accident.
ROUTE_ROLES: dict[str, frozenset[str]] = {
    "/recommend": frozenset({"read"}),
    "/similar_items": frozenset({"read"}),
    "/model_info": frozenset({"read", "admin"}),
    "/events": frozenset({"events"}),
    # The platform's backend, which already reports what happens on it (its events key), takes
    # down and restores content; an operator may too. A read key (held by apps, closer to users)
    # must never be able to empty feeds.
    "/items/retire": frozenset({"events", "admin"}),
    "/items/restore": frozenset({"events", "admin"}),
    "/items/retired": frozenset({"events", "admin"}),
    "/items": frozenset({"events", "admin"}),  # publishing, by the same hands as retiring
    "/triage": frozenset({"triage"}),
    "/triage_batch": frozenset({"triage"}),
    "/corrections": frozenset({"agent"}),
    "/resolutions": frozenset({"agent"}),
    "/admin/reload": frozenset({"admin"}),
    "/admin/analyse": frozenset({"admin"}),
    "/analytics/complaints": frozenset({"agent", "admin"}),
    "/desk/queue": frozenset({"agent"}),
    "/users/{user_id}/profile": frozenset({"read", "agent", "admin"}),
    # Erasing a customer's data (DELETE): an operator only. After the profile route: a path
    # `/users/a/profile` is that route's (serving.erasure_routes checks the role itself).
    "/users/{user_id}": frozenset({"admin"}),
}
ROLES = frozenset({"read", "events", "triage", "agent", "admin"})
# Open without a key: health, readiness, metrics and the API docs (BentoML's UI and its assets).
# The support desk's page, script and style sheet are open too: they hold no data (the agent
# signs in with their key, and every call the page makes needs the agent role).
OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/livez", "/metrics", "/", "/docs.json", "/schema.json"}
    | {"/desk", "/desk/desk.js", "/desk/desk.css"}
)
OPEN_PREFIXES = ("/static_content/", "/assets/")
UNSHED_PATHS = frozenset({"/healthz", "/readyz", "/livez", "/metrics"})
# The BentoML API routes: their input is the JSON body only. A query sent to them was ignored
# (`POST /recommend?k=5` with {"k": 1} answered one item), so a client's mistake went unseen.
BODY_ONLY_PATHS = frozenset(
    {"/recommend", "/similar_items", "/triage", "/triage_batch", "/events"}
    | {"/corrections", "/resolutions", "/admin/reload", "/items/retire", "/items/restore"}
    | {"/items"}
)


def body_limit(path: str) -> int:
    """The largest request body `path` accepts, in bytes."""
    return BODY_LIMITS.get(route_of(path) or path, DEFAULT_BODY_LIMIT)


def _fills(template: str, path: str) -> bool:
    """True if `path` fills `template`: the template's text before and after its one `{name}`,
    with a non-empty id between them. The id may hold `/`: an id is any text the store takes,
    `a/b` among them, and a client sends it as `a%2Fb`, which the server decodes before any
    route sees the path (matched segment by segment, such a user's profile was a 404)."""
    head, _, rest = template.partition("{")
    tail = rest.partition("}")[2]
    return len(path) > len(head) + len(tail) and path.startswith(head) and path.endswith(tail)


# Routes with a path parameter, e.g. "/users/{user_id}/profile", each with exactly one (the
# settings tests check it); matched by their fixed head and tail (never a regular expression),
# so a lookup costs one pass over the path.
_TEMPLATES: tuple[str, ...] = tuple(route for route in ROUTE_ROLES if "{" in route)


def route_of(path: str) -> str | None:
    """The ROUTE_ROLES entry serving `path`: the path itself, a template it fills, or None."""
    if path in ROUTE_ROLES:
        return path
    return next((t for t in _TEMPLATES if _fills(t, path)), None)


def roles_for(path: str) -> frozenset[str] | None:
    """The roles that may call `path` (None: the service has no such route)."""
    route = route_of(path)
    return ROUTE_ROLES[route] if route is not None else None


_N = TypeVar("_N", int, float)


def _csv(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def insecure_dev(environ: Mapping[str, str] | None = None) -> bool:
    """True when AGORA_INSECURE_DEV=1: no keys needed, every route open."""
    return (os.environ if environ is None else environ).get(INSECURE_DEV_ENV, "") == "1"


def allowed_origins(environ: Mapping[str, str] | None = None) -> list[str]:
    """Origins a browser may call the service from (none by default: no cross-origin access)."""
    return _csv((os.environ if environ is None else environ).get(ALLOWED_ORIGINS_ENV))


def allowed_hosts(environ: Mapping[str, str] | None = None) -> list[str]:
    """Host names the service answers: AGORA_ALLOWED_HOSTS, else local names and the bound host.

    A `*` entry allows any host (behind a proxy that checks it already).
    """
    env = os.environ if environ is None else environ
    configured = _csv(env.get(ALLOWED_HOSTS_ENV))
    if configured:
        return configured
    bound = env.get(BIND_HOST_ENV, DEFAULT_HOST)
    if bound in ("0.0.0.0", "::", ""):
        return ["*"]  # bound to every interface on purpose: the operator names hosts to narrow it
    return list(dict.fromkeys([*LOCAL_HOSTS, bound]))


def service_workers(environ: Mapping[str, str] | None = None) -> int:
    """Worker processes: AGORA_WORKERS, else one per core (one worker saturates one core)."""
    return _positive_int(WORKERS_ENV, os.cpu_count() or 1, environ)


def max_in_flight(environ: Mapping[str, str] | None = None) -> int:
    """Requests one worker serves at once before it sheds more with a 503 (AGORA_MAX_IN_FLIGHT)."""
    return _positive_int(MAX_IN_FLIGHT_ENV, DEFAULT_MAX_IN_FLIGHT, environ)


def max_batches_in_flight(environ: Mapping[str, str] | None = None) -> int:
    """Batch requests (`BATCH_PATHS`) one worker serves at once, apart from the other requests'
    budget (AGORA_MAX_BATCHES_IN_FLIGHT)."""
    return _positive_int(MAX_BATCHES_IN_FLIGHT_ENV, DEFAULT_MAX_BATCHES_IN_FLIGHT, environ)


def env_number(name: str, value: str, kind: type[_N]) -> _N:
    """`value` of environment variable `name` as an int or a float; ValueError naming `name`.

    Python's own message ("invalid literal for int() with base 10: 'lots'") names neither the
    variable nor what it wants, and it reached the operator as a worker's traceback."""
    try:
        return kind(value)
    except ValueError:
        wanted = "a whole number" if kind is int else "a number"
        raise ValueError(f"{name} must be {wanted}, not {value!r}") from None


def _positive_int(name: str, default: int, environ: Mapping[str, str] | None) -> int:
    value = (os.environ if environ is None else environ).get(name, "").strip()
    limit = env_number(name, value, int) if value else default
    if limit < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return limit


RELOAD_INTERVAL_ENV = "AGORA_RELOAD_INTERVAL"  # seconds between registry polls; 0: no polling
# A shared registry (an `mlflow server`, a database) is polled by default: a replica on another
# machine hears of a promotion only through it. A promotion reaches every replica within this
# interval plus one reload (resolve, download, load). A local SQLite store is not polled unless
# asked: its one service is told by `/admin/reload` (a retrain with `--service-url` calls it).
DEFAULT_SHARED_REGISTRY_RELOAD_S = 10.0
_LOCAL_REGISTRY_SCHEMES = ("sqlite:", "file:")


def reload_interval(tracking_uri: str, environ: Mapping[str, str] | None = None) -> float:
    """Seconds between the alias watch's registry polls (AGORA_RELOAD_INTERVAL; 0 turns it off),
    by default DEFAULT_SHARED_REGISTRY_RELOAD_S for a shared registry and 0 for a local store."""
    value = (os.environ if environ is None else environ).get(RELOAD_INTERVAL_ENV, "").strip()
    if value:
        interval = env_number(RELOAD_INTERVAL_ENV, value, float)
        if not 0 <= interval < math.inf:  # NaN and inf too: the watch sleeps this long
            raise ValueError(f"{RELOAD_INTERVAL_ENV} must be 0 or a positive number, not {value!r}")
        return interval
    bare_path = "://" not in tracking_uri and not tracking_uri.startswith("databricks")
    local = tracking_uri.startswith(_LOCAL_REGISTRY_SCHEMES) or bare_path
    return 0.0 if local else DEFAULT_SHARED_REGISTRY_RELOAD_S


# The model-backed parts a service serves. A support desk without feeds (or a feed service
# without triage) names its one part: the other's champions are not loaded or watched, and the
# service is ready without them (it was never ready without a recommender champion).
PARTS_ENV = "AGORA_PARTS"
FEEDS, TRIAGE = "feeds", "triage"
ALL_PARTS: frozenset[str] = frozenset({FEEDS, TRIAGE})


def served_parts(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """AGORA_PARTS: `feeds`, `triage` or both, comma-separated (default both); ValueError
    naming the variable for anything else."""
    value = (os.environ if environ is None else environ).get(PARTS_ENV, "").strip()
    if not value:
        return ALL_PARTS
    parts = {part.strip().lower() for part in value.split(",")}
    unknown = sorted(parts - ALL_PARTS)
    if unknown or not parts:
        raise ValueError(
            f"{PARTS_ENV} names {', '.join(repr(p) for p in unknown)}: give feeds, triage or "
            "feeds,triage"
        )
    return frozenset(parts)


def not_served(part: str, parts: frozenset[str]) -> str:
    """Why a route of `part` has no answer on a service serving only `parts`."""
    return f"this service does not serve {part} ({PARTS_ENV}={','.join(sorted(parts))})"


def slot_part(slot: str) -> str:
    """The part a serving slot belongs to: the recommender's serves feeds, the others triage."""
    return FEEDS if slot == RECOMMENDER_SLOT else TRIAGE


TRIAGE_MODELS_ENV = "AGORA_TRIAGE_MODELS"  # slot=registered-name,...: pins triage slots
RECOMMENDER_MODEL_ENV = "AGORA_RECOMMENDER_MODEL"  # pins the recommender slot

# Where the registered name a slot serves came from (reported by /model_info).
BINDING_ENVIRONMENT = "environment"  # AGORA_TRIAGE_MODELS / AGORA_RECOMMENDER_MODEL
BINDING_REGISTRY = "registry"  # a slot binding read from the registry now
BINDING_LOCAL_CACHE = "local-cache"  # the last binding read, the registry being unreachable
BINDING_DEFAULT = "default"  # no binding: the slot's default name (models.served_models)


def _parse_pairs(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in text.split(","):
        if part.strip():
            key, _, value = part.partition("=")
            if not value:
                raise ValueError(f"{TRIAGE_MODELS_ENV} entry '{part}' is not slot=registered-name")
            pairs[key.strip()] = value.strip()
    return pairs


@dataclass(frozen=True)
class SlotModel:
    """The registered model a slot serves, and where that choice came from (BINDING_*)."""

    name: str
    binding: str


def resolve_slot_models(
    pinned: Mapping[str, str], bound: Mapping[str, str], bound_from: str = BINDING_REGISTRY
) -> dict[str, SlotModel]:
    """Every slot's registered model: pinned by the environment, else bound in the registry
    (`bound`, read from `bound_from`: the registry or its cached copy), else the default name.

    The environment wins so an operator can pin one service (a canary, a rollback in a hurry)
    whatever the shared registry says.
    """
    resolved = {}
    # Language slots (reason-zh, ...) are served once bound or pinned; standing ones always.
    for slot in served_slot_names([*pinned, *bound]):
        if slot in pinned:
            resolved[slot] = SlotModel(pinned[slot], BINDING_ENVIRONMENT)
        elif slot in bound:
            resolved[slot] = SlotModel(bound[slot], bound_from)
        else:
            resolved[slot] = SlotModel(default_registered_name(slot), BINDING_DEFAULT)
    return resolved


@dataclass(frozen=True)
class Settings:
    """Where the registry and the stores are, and which slots the environment pins.

    `AGORA_TRIAGE_MODELS=slot=name,...` pins triage slots to registered models and
    `AGORA_RECOMMENDER_MODEL=name` the recommender's; every other slot serves the model bound to
    it in the registry (`agora models promote NAME --slot SLOT`), else its default name (see
    `resolve_slot_models`). Slots are those of `models.served_models`; an unknown one in
    AGORA_TRIAGE_MODELS is reported as a problem when the models load.
    """

    tracking_uri: str
    cache_dir: Path
    store_url: str
    pinned_models: dict[str, str] = field(default_factory=dict)  # slot -> registered name
    reload_interval_s: float = 0.0  # > 0: watch the aliases and bindings, reload on a change
    parts: frozenset[str] = ALL_PARTS  # the model-backed parts served (AGORA_PARTS)

    @classmethod
    def from_env(cls) -> Settings:
        # Here, not at the top: the launcher and the CLI read this module's constants without
        # paying for the store's database imports.
        from data.store import default_store_url

        pinned = _parse_pairs(os.environ.get(TRIAGE_MODELS_ENV) or "")
        recommender = os.environ.get(RECOMMENDER_MODEL_ENV, "").strip()
        if recommender:
            pinned[RECOMMENDER_SLOT] = recommender
        uri = tracking_uri()
        return cls(
            tracking_uri=uri,
            cache_dir=Path(
                os.environ.get("AGORA_SERVING_CACHE") or agora_home() / "serving-cache"
            ).expanduser(),
            store_url=default_store_url(),
            pinned_models=pinned,
            reload_interval_s=reload_interval(uri),
            parts=served_parts(),
        )
