"""Service settings, read from the environment once at start-up.

Two kinds live here: the registry/store settings (`Settings.from_env`, read by each worker) and
the guards' limits and access configuration (body limits, route roles, keys, origins, hosts,
workers). The limits are constants so the schemas, the middlewares and the docs share one value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from data.paths import agora_home, tracking_uri
from models.served_models import RECOMMENDER_MODEL, TRIAGE_SLOTS

API_KEYS_ENV = "AGORA_API_KEYS"  # role:name:key or role:key entries, comma-separated
LEGACY_API_KEY_ENV = "AGORA_API_KEY"  # the old single key: refused at start, with a sentence
INSECURE_DEV_ENV = "AGORA_INSECURE_DEV"  # "1": every route open (local development only)
ALLOWED_ORIGINS_ENV = "AGORA_ALLOWED_ORIGINS"  # comma-separated; default none (no CORS)
ALLOWED_HOSTS_ENV = "AGORA_ALLOWED_HOSTS"  # comma-separated Host names; default local names
BIND_HOST_ENV = "AGORA_HOST"  # the interface the service binds (the launcher sets it)
WORKERS_ENV = "AGORA_WORKERS"  # worker processes; default: the number of cores
MAX_IN_FLIGHT_ENV = "AGORA_MAX_IN_FLIGHT"  # per worker; more requests are shed with a 503

DEFAULT_HOST = "127.0.0.1"  # never every interface unless asked: the service holds customer text
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_MAX_IN_FLIGHT = 16  # x a few ms per request: excess is told in tens of ms, not queued

MAX_TEXT_BYTES = 100 * 1024  # a triage text over 100 KB is refused with a 413-style 4xx
MAX_BATCH = 1000

KIB = 1024
# Request body limits per route, enforced on the raw bytes before any parsing (413 beyond).
BODY_LIMITS: dict[str, int] = {
    "/triage": 128 * KIB,
    "/triage_batch": 2 * KIB * KIB,
    "/events": 1 * KIB * KIB,
    "/corrections": 64 * KIB,
    "/recommend": 64 * KIB,
    "/similar_items": 64 * KIB,
}
DEFAULT_BODY_LIMIT = 16 * KIB

# Which roles may call each route. A route missing here is answered 404 (and the service refuses
# to start if one of its API routes is missing), so a new endpoint is never open by accident.
ROUTE_ROLES: dict[str, frozenset[str]] = {
    "/recommend": frozenset({"read"}),
    "/similar_items": frozenset({"read"}),
    "/model_info": frozenset({"read", "admin"}),
    "/events": frozenset({"events"}),
    "/triage": frozenset({"triage"}),
    "/triage_batch": frozenset({"triage"}),
    "/corrections": frozenset({"agent"}),
    "/admin/reload": frozenset({"admin"}),
}
ROLES = frozenset({"read", "events", "triage", "agent", "admin"})
# Open without a key: health, readiness, metrics and the API docs (BentoML's UI and its assets).
OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/livez", "/metrics", "/", "/docs.json", "/schema.json"}
)
OPEN_PREFIXES = ("/static_content/", "/assets/")
UNSHED_PATHS = frozenset({"/healthz", "/readyz", "/livez", "/metrics"})


def body_limit(path: str) -> int:
    """The largest request body `path` accepts, in bytes."""
    return BODY_LIMITS.get(path, DEFAULT_BODY_LIMIT)


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
    value = (os.environ if environ is None else environ).get(WORKERS_ENV, "").strip()
    if value:
        workers = int(value)
        if workers < 1:
            raise ValueError(f"{WORKERS_ENV} must be a positive integer, not {value!r}")
        return workers
    return os.cpu_count() or 1


def max_in_flight(environ: Mapping[str, str] | None = None) -> int:
    """Requests one worker serves at once before it sheds more with a 503 (AGORA_MAX_IN_FLIGHT)."""
    value = (os.environ if environ is None else environ).get(MAX_IN_FLIGHT_ENV, "").strip()
    limit = int(value) if value else DEFAULT_MAX_IN_FLIGHT
    if limit < 1:
        raise ValueError(f"{MAX_IN_FLIGHT_ENV} must be a positive integer, not {value!r}")
    return limit


def _parse_pairs(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in text.split(","):
        if part.strip():
            key, _, value = part.partition("=")
            if not value:
                raise ValueError(f"AGORA_TRIAGE_MODELS entry '{part}' is not slot=registered-name")
            pairs[key.strip()] = value.strip()
    return pairs


def default_triage_models() -> dict[str, str]:
    """Serving slot -> registered name, from the served-models table (models.served_models)."""
    return {entry.slot: entry.registered_name for entry in TRIAGE_SLOTS}


@dataclass(frozen=True)
class Settings:
    """Where the registry and the stores are, and which registered model each slot serves.

    `AGORA_TRIAGE_MODELS=slot=name,...` replaces the triage slots' models (e.g. to serve another
    dataset's model in the category slot); slots are those of `models.served_models`.
    """

    tracking_uri: str
    cache_dir: Path
    store_url: str
    recommender_model: str
    triage_models: dict[str, str] = field(default_factory=dict)
    reload_interval_s: float = 0.0  # > 0: watch the @champion aliases and reload on a change

    @classmethod
    def from_env(cls) -> Settings:
        # Here, not at the top: the launcher and the CLI read this module's constants without
        # paying for the store's database imports.
        from data.store import default_store_url

        triage = os.environ.get("AGORA_TRIAGE_MODELS")
        return cls(
            tracking_uri=tracking_uri(),
            cache_dir=Path(
                os.environ.get("AGORA_SERVING_CACHE") or agora_home() / "serving-cache"
            ).expanduser(),
            store_url=default_store_url(),
            recommender_model=os.environ.get("AGORA_RECOMMENDER_MODEL", RECOMMENDER_MODEL),
            triage_models=_parse_pairs(triage) if triage else default_triage_models(),
            reload_interval_s=float(os.environ.get("AGORA_RELOAD_INTERVAL", "0") or 0),
        )
