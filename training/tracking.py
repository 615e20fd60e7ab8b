"""MLflow tracking for every pipeline: where runs go, lineage, tags, params, model logging.

What both model families log the same way lives here; each family's own run logging is its
`tracking` module (`training/recommender/tracking.py`, `training/triage/tracking.py`).

The tracking URI comes from `--tracking-uri`, else `MLFLOW_TRACKING_URI`, else a local SQLite
store under ~/.agora (see `data.paths.default_tracking_uri`). Runs' artifacts go beside it,
never into the current directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient

from data.catalog import CATALOG
from data.imported import list_imported
from data.locks import file_lock
from data.paths import agora_home, default_tracking_uri, tracking_uri
from training.tracking_store import check_tracking_store

logger = logging.getLogger(__name__)


def configure_tracking(explicit: str | None = None, must_exist: bool = False) -> str:
    """Point MLflow at the chosen store (creating the local default folder); return the URI.

    A URI that cannot serve is refused first, creating nothing (TrackingStoreError, see
    `training.tracking_store`): a bare path, a tracking server that does not answer, and with
    `must_exist` (commands that only read the registry) a SQLite file that does not exist,
    unless it is the local default, which a fresh home has not created yet: it reads as empty.
    """
    # One progress bar per artifact download is noise in pipeline and CLI output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri(explicit)
    check_tracking_store(uri, must_exist and uri != default_tracking_uri())
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        _initialise_once(uri, path)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


_INITIALISED: set[str] = set()  # SQLite stores this process has brought up to date


def _initialise_once(uri: str, path: Path) -> None:
    """Create or migrate the SQLite store under a lock beside it, once per process: two commands
    started together on a fresh home both created its tables, and one failed (alembic: "expected
    to match one row"; "table ... already exists")."""
    if uri in _INITIALISED:
        return
    with file_lock(path.with_name(path.name + ".init-lock")):
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        client.search_experiments(max_results=1)  # creates or migrates the tracking tables
        client.search_registered_models(max_results=1)  # and the registry's (the same file)
    _INITIALISED.add(uri)


def check_registry_name(name: str, family: str) -> None:
    """ValueError when `name` cannot be registered, or already holds versions of another family
    (a classifier registered as a recommender broke every batch command that loaded it)."""
    if not name.strip() or "/" in name or ":" in name:
        raise ValueError(f"'{name}' cannot be a registered model name (not empty, no '/' or ':')")
    versions = MlflowClient().search_model_versions(f"name = '{_quoted(name)}'", max_results=1)
    held = versions[0].tags.get("agora.family") if versions else None
    if held is not None and held != family:
        raise ValueError(f"'{name}' holds {held} models; a {family} needs another name")


def _quoted(value: str) -> str:
    return value.replace("'", "''")


def ensure_experiment(name: str) -> str:
    """Get or create experiment `name`, with artifacts under AGORA_HOME for local stores."""
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if mlflow.get_tracking_uri().startswith("sqlite:"):
        location = (agora_home() / "mlartifacts" / name).resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


@contextmanager
def tracked_run(
    experiment: str, run_name: str, tags: Mapping[str, str] | None = None
) -> Iterator[Any]:
    """An MLflow run in `experiment`, tagged with the git commit when there is one."""
    experiment_id = ensure_experiment(experiment)
    all_tags = {"agora.git_commit": git_commit() or "unknown", **(tags or {})}
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=all_tags) as run:
        yield run


def git_commit() -> str | None:
    """The commit of the checkout Agora runs from, with '-dirty' when it has local changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def dataset_fingerprint(name: str) -> dict[str, str]:
    """Lineage of a dataset: catalog file hashes, or an imported dataset's source description."""
    if name in CATALOG:
        return {f"data.{name}.{f.path}.sha256": f.sha256 for f in CATALOG[name].files}
    manifest = list_imported().get(name, {})
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
    return {f"data.{name}.manifest.sha256": digest}


def metric_key(metric: str) -> str:
    """'ndcg@10' -> 'ndcg_at_10': MLflow keys allow letters, digits, _ - . / space and colon."""
    return metric.replace("@", "_at_")


def flatten_params(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists and tuples become strings (MLflow params are flat)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, f"{name}."))
        else:
            flat[name] = str(list(value)) if isinstance(value, list | tuple) else value
    return flat


def run_tags(family: str, model: str, **fields: object) -> dict[str, str]:
    """What a run trained, as tags both families share: agora.family, agora.model, agora.<field>.

    Set on the run and on the registered version, so runs compare without the registry.
    """
    return {
        "agora.family": family,
        "agora.model": model,
        **{f"agora.{name}": str(value) for name, value in fields.items()},
    }


def log_lineage(dataset: str, **split: Any) -> None:
    """Record which data a run used (name, file hashes) and how it was split (seed, ratio, ...)."""
    fingerprint = dataset_fingerprint(dataset)
    mlflow.set_tags({"agora.dataset": dataset, **fingerprint})
    mlflow.log_params({f"split.{k}": v for k, v in split.items()})
    mlflow.log_dict({"dataset": dataset, **fingerprint, "split": split}, "lineage.json")


def log_and_register_model(
    model_dir: Path,
    python_model_code: Path,
    registered_name: str,
    input_example: Any = None,
    tags: Mapping[str, str] | None = None,
    model_config: Mapping[str, Any] | None = None,
    signature: ModelSignature | None = None,
) -> str:
    """Log a saved native model folder as an MLflow pyfunc ("models from code") and register it.

    `model_dir` is the self-contained artifact a model's `save` wrote; serving downloads it and
    loads it with the model's own `load`, so the pyfunc wrapper is only for generic MLflow users.
    `model_config` reaches the wrapper as `context.model_config`. Returns the new registry
    version (as a string). Registering never moves `@champion`. Without a `signature` MLflow
    infers one by loading the logged model back and predicting on `input_example`.
    """
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(python_model_code),
        artifacts={"native": str(model_dir)},
        model_config=dict(model_config) if model_config else None,
        input_example=input_example,
        signature=signature,
        pip_requirements=[],  # Agora's own environment; keeps logging offline and fast
    )
    version = mlflow.register_model(info.model_uri, registered_name, tags=dict(tags or {}))
    logger.info(
        "registered %s version %s from %s", registered_name, version.version, info.model_uri
    )
    return str(version.version)
