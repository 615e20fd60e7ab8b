"""The start-up check: every setting the service reads, validated once before any worker starts.

It runs in BentoML's server process (`@bentoml.on_deployment`), so a mistake stops `bentoml
serve` (and `agora serve`, a container) with one sentence on stderr and exit code 2. Found in a
worker instead, a mistake was a traceback, and BentoML restarted the worker for ever: with an
unreachable store URL, `AGORA_MAX_IN_FLIGHT=lots` or a read-only cache folder, `agora serve`
waited without a word and `/readyz` never answered.

What it checks: the API keys, every numeric or named setting and config file (segments, triage),
the environment's AGORA_* names (a misspelt store URL variable left a replica writing events to a
local SQLite file), that the champion cache is writable, and that the store opens (its schema is
migrated here, once, before the workers).
"""

from __future__ import annotations

import difflib
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from data.paths import unwritable_reason
from serving.auth import check_start_keys

logger = logging.getLogger(__name__)

START_REFUSED_EXIT = 2  # as `agora`'s refused input (cli.exit_codes.BAD_INPUT)

# Every AGORA_* variable some part of Agora reads: the service, the CLI, the tests and CI
# (tests/serving/test_preflight.py keeps this list in step with the code). An unknown name close
# to one of these is a typo and refused; another unknown name is only warned about.
KNOWN_AGORA_ENV = frozenset(
    {
        "AGORA_ADMIN_KEY",
        "AGORA_ALERT_WEBHOOK_SECRET",
        "AGORA_ALERT_WEBHOOK_URL",
        "AGORA_ALLOWED_HOSTS",
        "AGORA_ALLOWED_ORIGINS",
        "AGORA_ANALYSIS_INTERVAL",
        "AGORA_ANALYSIS_WINDOW",
        "AGORA_ANALYTICS_TZ",
        "AGORA_API_KEY",
        "AGORA_API_KEYS",
        "AGORA_BODY_TIMEOUT_S",
        "AGORA_DATA_DIR",
        "AGORA_DATA_MIRROR",
        "AGORA_FRESH_REFRESH_S",
        "AGORA_FRESH_SHARE",
        "AGORA_EMBEDDING_CACHE",
        "AGORA_HOME",
        "AGORA_HOST",
        "AGORA_INSECURE_DEV",
        "AGORA_KB_ENCODER",
        "AGORA_KB_REFRESH_S",
        "AGORA_MAX_BATCHES_IN_FLIGHT",
        "AGORA_MAX_IN_FLIGHT",
        "AGORA_PARTS",
        "AGORA_PG_DATA",
        "AGORA_PG_PORT",
        "AGORA_READ_KEY",
        "AGORA_RECOMMENDER_MODEL",
        "AGORA_RELOAD_INTERVAL",
        "AGORA_REQUIRE_BROWSER",
        "AGORA_REQUIRE_POSTGRES",
        "AGORA_RETIRED_REFRESH_S",
        "AGORA_SEGMENTS_CONFIG",
        "AGORA_SERVICE_URL",
        "AGORA_SERVING_CACHE",
        "AGORA_SIMILAR_CASES",
        "AGORA_STORE_URL",
        "AGORA_TEST_ARTIFACTS",
        "AGORA_TEST_POSTGRES_URL",
        "AGORA_TRIAGE_CONFIG",
        "AGORA_TRIAGE_KEY",
        "AGORA_TRIAGE_MODELS",
        "AGORA_TRUSTED_PROXIES",
        "AGORA_WORKERS",
    }
)
# A one-letter slip of AGORA_STORE_URL scores 0.93; unrelated names stay below.
TYPO_SIMILARITY = 0.85


class StartRefusedError(ValueError):
    """A setting the service cannot start with; the message is the sentence for the operator."""


def unknown_agora_names(environ: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """AGORA_* names Agora does not read: (typo -> the known name it resembles, the others)."""
    typos: dict[str, str] = {}
    others: list[str] = []
    for name in sorted(environ):
        if not name.startswith("AGORA_") or name in KNOWN_AGORA_ENV:
            continue
        close = difflib.get_close_matches(name, KNOWN_AGORA_ENV, n=1, cutoff=TYPO_SIMILARITY)
        if close:
            typos[name] = close[0]
        else:
            others.append(name)
    return typos, others


def check_environment_names(environ: Mapping[str, str]) -> None:
    """Refuse a misspelt AGORA_* name; warn about other names Agora does not read."""
    typos, others = unknown_agora_names(environ)
    if typos:
        named = "; ".join(f"{typo} (did you mean {known}?)" for typo, known in typos.items())
        raise StartRefusedError(f"the environment sets names Agora does not read: {named}")
    if others:
        logger.warning("the environment sets names Agora does not read: %s", ", ".join(others))


def check_writable(folder: Path, what: str, env_hint: str) -> None:
    """Create `folder` if needed and write a file in it; StartRefusedError if that fails."""
    if (reason := unwritable_reason(folder)) is not None:
        raise StartRefusedError(f"{what} {folder} is not writable ({reason}): {env_hint}")


def check_start() -> None:
    """Every start-up check of this process's environment, in the order an operator would fix
    them; StartRefusedError, or a ValueError naming the setting, for the first that fails."""
    # Here, not at the top: the launcher imports serving modules without the store's imports.
    from data.store import open_engine
    from serving.complaint_analysis import AnalysisSettings
    from serving.complaint_summary import TZ_ENV, time_zone
    from serving.fresh_items import FreshSettings
    from serving.gateway_settings import body_timeout_s, trusted_proxies
    from serving.knowledge import KnowledgeSettings
    from serving.profile_routes import load_segments_config
    from serving.retired_items import RetirementSettings
    from serving.served_models import service_triage_config
    from serving.settings import Settings, max_batches_in_flight, max_in_flight, service_workers

    check_environment_names(os.environ)
    check_start_keys()
    service_workers()
    max_in_flight()
    max_batches_in_flight()
    body_timeout_s()
    trusted_proxies()
    KnowledgeSettings.from_env()
    RetirementSettings.from_env()
    FreshSettings.from_env()
    AnalysisSettings.from_env()
    try:
        time_zone(None)  # the analytics' default zone
    except ValueError as error:
        raise StartRefusedError(f"{TZ_ENV}: {error}") from None
    load_segments_config()
    service_triage_config()
    settings = Settings.from_env()
    check_writable(
        settings.cache_dir,
        "the champion cache",
        "set AGORA_SERVING_CACHE (or AGORA_HOME) to a folder of this replica's own disk",
    )
    open_engine(settings.store_url).dispose()  # reachable, and migrated once for all workers


def refuse_start(error: Exception) -> NoReturn:
    """Stop the server process: the sentence on stderr, exit code START_REFUSED_EXIT."""
    print(f"error: the service cannot start: {error}", file=sys.stderr, flush=True)
    raise SystemExit(START_REFUSED_EXIT)


def preflight() -> None:
    """`check_start`, turning a refusal into the sentence and the exit (not a traceback)."""
    try:
        check_start()
    except (ValueError, OSError) as error:  # settings, keys, the store (StoreError), files
        refuse_start(error)
