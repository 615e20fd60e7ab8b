"""The serving cache of champion models: resolved from the MLflow registry, kept on local disk.

At start-up (and on reload) the service asks the registry which version `@champion` points at,
downloads it once into the cache, and records that choice in `champion.json`. When the registry
cannot be reached, the last recorded champion is served from the cache, and `/readyz` and
`/model_info` say so, so a registry outage never takes the feed or the support desk down.

The slots' bindings (which registered model each slot serves, `training.slots`) are read the same
way: from the registry when it answers, recorded in `slot-bindings.json`, and from that record
when it does not, so a restart during an outage serves the same models as before it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from data.atomic import write_atomic
from data.error_text import first_line
from models.served_models import CHAMPION_ALIAS, SERVING_SLOT_TAG, bound_slots

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

logger = logging.getLogger(__name__)

POINTER_FILE = "champion.json"
BINDINGS_FILE = "slot-bindings.json"
# A serving process must fall back to its cache quickly when the registry is down, not retry
# for minutes; and a progress bar per download is noise in a service log.
_MLFLOW_CLIENT_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


class ChampionUnavailableError(RuntimeError):
    """Neither the registry nor the local cache can provide a champion for a model name."""


@dataclass(frozen=True)
class ChampionRef:
    """Which version is served, where it came from, and where its native artifact lies."""

    name: str
    version: str
    source: str  # "registry" or "local-cache"
    native_path: str
    fetched_at: str
    tracking_uri: str
    registry_error: str | None = None


def _native_artifact(model_dir: Path) -> Path:
    """The model's own saved folder inside an MLflow pyfunc model ("native" artifact)."""
    spec = yaml.safe_load((model_dir / "MLmodel").read_text())
    artifacts = spec["flavors"]["python_function"].get("artifacts", {})
    if "native" not in artifacts:
        raise ChampionUnavailableError(f"{model_dir} has no 'native' artifact")
    return model_dir / artifacts["native"]["path"]


def version_folder(version: str, source: str) -> str:
    """The cache folder of one model version: its number and a digest of its artifact's source.

    The number alone is not an identity: a replica's cache outlives a registry that was rebuilt,
    migrated or had a name re-registered, and its `v1` would then be another model.
    """
    return f"v{version}-{hashlib.sha256(source.encode()).hexdigest()[:12]}"


def _place(download: Path, target: Path) -> None:
    """Move a finished download to `target`, unless another worker of this replica (they share
    the cache and poll the registry alike) placed the same version first: that copy may be
    loading now, so it is kept, never replaced."""
    if (target / "MLmodel").is_file():
        return
    try:
        os.replace(download, target)  # atomic: `target` is whole or absent, never partial
    except OSError:  # another worker's rename won between the check and ours
        if not (target / "MLmodel").is_file():
            raise


@dataclass(frozen=True)
class SlotBindings:
    """Slot -> bound registered name, read from `source` ("registry" or "local-cache"; "none"
    when the registry failed and nothing was recorded: every slot serves its default)."""

    slots: dict[str, str]
    source: str
    registry_error: str | None = None


class ChampionCache:
    """Resolves `models:/NAME@champion` for the serving process and caches each version locally.

    The cache also carries the reload generation token the workers of one service share.
    """

    def __init__(self, cache_dir: Path, tracking_uri: str) -> None:
        self.cache_dir = cache_dir
        self.tracking_uri = tracking_uri
        self._mlflow_client: MlflowClient | None = None
        # When the registry last answered, and how often listing the bindings failed: what the
        # service reports on /metrics (serving.ops_metrics). Alias lookups also fail for an alias
        # that is not set, so only the bindings' search counts as a failure to reach it.
        self.registry_reached_at: float | None = None
        self.registry_failures = 0
        for key, value in _MLFLOW_CLIENT_ENV.items():
            os.environ.setdefault(key, value)

    def _client(self) -> MlflowClient:
        """One client per cache: building one opens the store, which costs more than a lookup."""
        if self._mlflow_client is None:
            from mlflow.tracking import MlflowClient  # MLflow only once a registry is consulted

            self._mlflow_client = MlflowClient(
                tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
            )
        return self._mlflow_client

    @property
    def _generation_file(self) -> Path:
        return self.cache_dir / "reload-generation"

    def generation(self) -> str:
        """A token that changes whenever some worker was asked to reload (see bump)."""
        try:
            return self._generation_file.read_text().strip()
        except FileNotFoundError:
            return "0"

    def bump_generation(self) -> str:
        """Tell every worker of this service (they share the cache) to reload."""
        token = str(time.time_ns())
        write_atomic(self._generation_file, lambda tmp: tmp.write_text(token))
        return token

    def _pointer(self, name: str) -> Path:
        return self.cache_dir / name / POINTER_FILE

    def cached(self, name: str) -> ChampionRef | None:
        pointer = self._pointer(name)
        if not pointer.is_file():
            return None
        ref = ChampionRef(**json.loads(pointer.read_text()))
        return ref if Path(ref.native_path).is_dir() else None

    def resolve(self, name: str) -> ChampionRef:
        """The current champion: from the registry when reachable, else the cached one."""
        try:
            return self._from_registry(name)
        except Exception as error:  # any registry failure falls back to the cache
            # One line: a database error's message goes on with its SQL statement and a link,
            # which /model_info and a reload's 503 would otherwise show.
            reason = f"{type(error).__name__}: {first_line(error)}"
            cached = self.cached(name)
            if cached is None:
                raise ChampionUnavailableError(
                    f"no champion for '{name}': registry {self.tracking_uri} failed ({reason}) "
                    f"and the cache {self.cache_dir / name} holds none"
                ) from error
            logger.warning("registry unavailable for %s, serving cached v%s", name, cached.version)
            return ChampionRef(
                **{**asdict(cached), "source": "local-cache", "registry_error": reason[:500]}
            )

    def bindings(self) -> SlotBindings:
        """The slots' bindings: from the registry when reachable, else the last recorded."""
        try:
            models = self._client().search_registered_models(
                filter_string=f"tags.`{SERVING_SLOT_TAG}` != ''", max_results=1000
            )
            slots = bound_slots((m.name, dict(m.tags or {})) for m in models)
            self.registry_reached_at = time.time()
        except Exception as error:  # any registry failure falls back to the record
            self.registry_failures += 1
            reason = f"{type(error).__name__}: {error}"[:500]
            recorded = self._recorded_bindings()
            if recorded is None:
                return SlotBindings({}, "none", reason)
            return SlotBindings(recorded, "local-cache", reason)
        if self._recorded_bindings() != slots:  # workers rewrite it only when it changed
            payload = json.dumps(slots, indent=2, sort_keys=True)
            try:
                write_atomic(self.cache_dir / BINDINGS_FILE, lambda tmp: tmp.write_text(payload))
            except OSError as error:
                # The record only serves a restart during a registry outage: a full or
                # read-only cache disk must not stop the worker that read the bindings now.
                logger.warning(
                    "could not record the slot bindings in %s: %s", self.cache_dir, error
                )
        return SlotBindings(slots, "registry")

    def _recorded_bindings(self) -> dict[str, str] | None:
        """The bindings last read from the registry, None when none were recorded."""
        try:
            recorded = json.loads((self.cache_dir / BINDINGS_FILE).read_text())
        except (OSError, ValueError):
            return None
        return {str(k): str(v) for k, v in recorded.items()} if isinstance(recorded, dict) else None

    def champion_version(self, name: str) -> str | None:
        """The version `@champion` points at in the registry now, or None if it cannot say."""
        try:
            version = str(self._client().get_model_version_by_alias(name, CHAMPION_ALIAS).version)
        except Exception:  # registry down or alias unset: nothing to compare with
            return None
        self.registry_reached_at = time.time()
        return version

    def _from_registry(self, name: str) -> ChampionRef:
        import mlflow

        found = self._client().get_model_version_by_alias(name, CHAMPION_ALIAS)
        self.registry_reached_at = time.time()
        version = str(found.version)
        target = self.cache_dir / name / version_folder(version, found.source or "")
        if not (target / "MLmodel").is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmp:
                mlflow.set_registry_uri(self.tracking_uri)
                mlflow.set_tracking_uri(self.tracking_uri)
                download = Path(tmp) / "model"
                download.mkdir()
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=f"models:/{name}/{version}", dst_path=str(download)
                )
                _place(Path(local), target)
        ref = ChampionRef(
            name=name,
            version=version,
            source="registry",
            native_path=str(_native_artifact(target)),
            fetched_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            tracking_uri=self.tracking_uri,
        )
        self._write_pointer(ref)
        return ref

    def _write_pointer(self, ref: ChampionRef) -> None:
        pointer = self._pointer(ref.name)
        fd, tmp = tempfile.mkstemp(dir=pointer.parent, prefix=".champion-")
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(ref), handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, pointer)
