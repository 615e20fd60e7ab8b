"""Pieces both retrain pipelines share: the champion's artifact, promotion, telling the service."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import yaml
from mlflow.tracking import MlflowClient

from training.promotion import (
    PromotionRefusedError,
    VersionSummary,
    champion,
    list_versions,
    promote,
)
from training.recommender.config import RecommenderRunConfig
from training.recommender.tracking import logged_run_config

logger = logging.getLogger(__name__)

SERVICE_URL_ENV = "AGORA_SERVICE_URL"
# The key the reload call sends: AGORA_ADMIN_KEY, else the first `admin` entry of the service's
# own AGORA_API_KEYS (a retrain running beside the service shares its environment).
ADMIN_KEY_ENV = "AGORA_ADMIN_KEY"
API_KEYS_ENV = "AGORA_API_KEYS"


@dataclass(frozen=True)
class RetrainOutcome:
    """What a retrain did: the candidate, the champion it was compared with, and the swap."""

    registered_name: str
    candidate_version: str
    candidate_score: float
    champion_version: str | None
    champion_score: float | None
    metric: str
    promoted: bool
    decision: str
    service_reloaded: bool | None  # None: no service was told
    seconds: float


@contextmanager
def champion_artifact(name: str) -> Iterator[tuple[str, Path] | None]:
    """The current champion's version and native model folder (downloaded to a temp dir)."""
    current = champion(MlflowClient(), name)
    if current is None:
        yield None
        return
    version = current.version
    with tempfile.TemporaryDirectory(prefix="agora-champion-") as folder:
        local = Path(
            mlflow.artifacts.download_artifacts(f"models:/{name}/{version}", dst_path=folder)
        )
        spec = yaml.safe_load((local / "MLmodel").read_text())
        native = spec["flavors"]["python_function"]["artifacts"]["native"]["path"]
        yield version, local / native


def champion_run_config(name: str) -> tuple[str, RecommenderRunConfig] | None:
    """The champion's version and the run config its training run logged, or None when there
    is no champion or its run logged no config (runs from before configs were logged)."""
    current = champion(MlflowClient(), name)
    if current is None or current.run_id is None:
        return None
    config = logged_run_config(current.run_id)
    return None if config is None else (current.version, config)


def promote_if_not_worse(
    name: str,
    version: str,
    champion: tuple[str | None, float | None],
    reason: str,
    tolerance: float = 0.0,
    champion_metrics: Mapping[str, float] | None = None,
) -> tuple[bool, str]:
    """Promote `version` through the gate, `champion` (version, score) re-scored on the same
    data, with the family's default guards on `champion_metrics` (every metric of that
    re-scoring); refused if another champion was promoted meanwhile."""
    try:
        promoted = promote(
            MlflowClient(),
            name,
            version,
            reason=reason,
            champion_score=champion[1],
            tolerance=tolerance,
            scored_champion=champion[0],
            champion_metrics=champion_metrics,
        )
    except PromotionRefusedError as refused:
        logger.info("%s v%s not promoted: %s", name, version, refused)
        # On the version, as a promotion records its reason: the comparison (the champion's
        # re-scored figure is in no run) is then in the registry beside the version it refused.
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        client = MlflowClient()
        client.set_model_version_tag(name, version, "agora.refused_at", when)
        client.set_model_version_tag(name, version, "agora.refused_reason", str(refused))
        return False, str(refused)
    return True, promoted.tags.get("agora.promoted_reason", "promoted")


MODEL_TAG = "agora.model"  # the kind of model a version is (training.tracking.run_tags)


class NothingNewToLearnError(Exception):
    """A version of the retrain's kind was trained on the same data: a retrain would copy it."""


def refuse_a_copy(
    name: str,
    kind: str,
    current: VersionSummary | None,
    learned: Callable[[VersionSummary, dict[str, str]], bool],
    what: str,
    instead: str = "another --model or a --config",
) -> None:
    """NothingNewToLearnError when the champion `current`, or the newest version (a candidate
    the gate refused), is of `kind` and `learned(version, its run's params)` says it was trained
    on what this retrain holds (`what` says what that is, `instead` what else to ask for).

    Retraining then fits that version again: a nightly retrain with nothing new registered a
    copy and moved `@champion` to it on the tie, every night (or, after a refusal, registered
    one more refused copy each night).
    """
    client = MlflowClient()
    versions = [current] if current is not None else []
    newest = list_versions(client, name)[:1]
    versions += [v for v in newest if current is None or v.version != current.version]
    for version in versions:
        if version.run_id is None or version.tags.get(MODEL_TAG) != kind:
            continue
        if learned(version, client.get_run(version.run_id).data.params):
            which = "the champion" if version is current else "refused by the gate"
            raise NothingNewToLearnError(
                f"nothing new to learn: {name} v{version.version} ({which}) was trained on "
                f"{what}, so no version was registered; retrain once there is more, or give "
                f"{instead}"
            )


def conclude(
    name: str,
    candidate: tuple[str, float],
    champion: tuple[str | None, float | None],
    metric: str,
    reason: str,
    tolerance: float,
    service_url: str | None,
    api_key: str | None,
    started: float,
    champion_metrics: Mapping[str, float] | None = None,
) -> RetrainOutcome:
    """The end every retrain shares: the gate on `metric` and the guards, the service told of
    a promotion, and the outcome. `candidate` and `champion` are (version, score) on the same
    evaluation; `champion_metrics` every metric of the champion's, for the guards."""
    promoted, decision = promote_if_not_worse(
        name, candidate[0], champion, reason, tolerance, champion_metrics
    )
    reloaded = notify_service(service_url, api_key) if promoted else None
    return RetrainOutcome(
        registered_name=name,
        candidate_version=candidate[0],
        candidate_score=candidate[1],
        champion_version=champion[0],
        champion_score=champion[1],
        metric=metric,
        promoted=promoted,
        decision=decision,
        service_reloaded=reloaded,
        seconds=time.perf_counter() - started,
    )


def check_service_url(url: str | None) -> None:
    """ValueError, before any work, when `url` (or $AGORA_SERVICE_URL) is not an http(s) URL: a
    retrain must not promote and only then find it cannot tell the service."""
    url = url or os.environ.get(SERVICE_URL_ENV)
    if not url:
        return
    parts = urllib.parse.urlsplit(url)
    if parts.username is not None or parts.password is not None:
        # urllib cannot send them (it reads "user:pw@host" as a host name), and every warning
        # about the service would print them: the admin key goes in its own variable.
        raise ValueError(
            f"--service-url holds credentials (user:password@): leave them out; the service "
            f"is called with the admin key of {ADMIN_KEY_ENV} or {API_KEYS_ENV}"
        )
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"--service-url '{url}' is not an http(s) URL such as http://127.0.0.1:3000"
        )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: urllib follows a 302 to any host with the request's headers, so
    the admin key would go wherever the answer points. A 3xx is then an HTTPError, logged as a
    refusal."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def notify_service(url: str | None, api_key: str | None = None) -> bool | None:
    """POST /admin/reload so a running service swaps to the new champions; None if no URL."""
    url = url or os.environ.get(SERVICE_URL_ENV)
    if not url:
        return None
    try:
        check_service_url(url)
    except ValueError as error:  # the promotion stands: say so, do not fail the command
        logger.warning("could not tell the service to reload: %s", error)
        return False
    key = api_key or os.environ.get(ADMIN_KEY_ENV) or admin_key_of(os.environ.get(API_KEYS_ENV))
    headers = {"content-type": "application/json", **({"x-api-key": key} if key else {})}
    request = urllib.request.Request(url.rstrip("/") + "/admin/reload", b"{}", headers)
    try:
        with _OPENER.open(request, timeout=120) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        logger.warning(
            "the service at %s refused to reload (%d): %s", url, error.code, _error_message(error)
        )
        return False
    except (urllib.error.URLError, OSError) as error:
        logger.warning("could not tell the service at %s to reload: %s", url, error)
        return False
    logger.info("service reloaded: %s", answer.get("models"))
    return bool(answer.get("reloaded"))


def admin_key_of(api_keys: str | None) -> str | None:
    """The key of the first `admin` entry (`admin:name:key` or `admin:key`) of AGORA_API_KEYS."""
    for entry in (api_keys or "").split(","):
        fields = [part.strip() for part in entry.split(":")]
        if len(fields) in (2, 3) and fields[0] == "admin" and fields[-1]:
            return fields[-1]
    return None


def _error_message(error: urllib.error.HTTPError) -> str:
    """The message of the service's error body (`{"error": {..., "message": ...}}`)."""
    try:
        return str(json.loads(error.read())["error"]["message"])
    except (ValueError, KeyError, TypeError, OSError):
        return str(error.reason)
