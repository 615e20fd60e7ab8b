"""Where Agora keeps local data. Read from the environment when asked, never at import time."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

DATA_DIR_ENV = "AGORA_DATA_DIR"
MIRROR_ENV = "AGORA_DATA_MIRROR"
DEFAULT_DATA_DIR = Path("~/.cache/agora/datasets")
HOME_ENV = "AGORA_HOME"
DEFAULT_HOME = Path("~/.agora")


def data_dir() -> Path:
    """The dataset cache: `AGORA_DATA_DIR`, else ~/.cache/agora/datasets."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser()


def mirror_dir(explicit: str | Path | None = None) -> Path | None:
    """The mirror folder to copy datasets from: the explicit flag, else `AGORA_DATA_MIRROR`."""
    value = explicit if explicit is not None else os.environ.get(MIRROR_ENV)
    return Path(value).expanduser() if value else None


def agora_home() -> Path:
    """Agora's own state (MLflow store, serving cache): `AGORA_HOME`, else ~/.agora."""
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser()


def default_tracking_uri() -> str:
    """The local MLflow store used when MLFLOW_TRACKING_URI is unset: SQLite under AGORA_HOME.

    It lives here, below both layers, on purpose: training writes to this store and serving
    reads its champions from it, and both must agree on the default without importing each
    other. The CLI cannot pass it down to serving, because a Bento or a plain `bentoml serve`
    runs the service without the CLI. It is a path under AGORA_HOME like the event store's, and
    only a string: the data layer stays free of MLflow.
    """
    return f"sqlite:///{agora_home() / 'mlflow.db'}"


def tracking_uri(explicit: str | None = None) -> str:
    """The MLflow store to use: the explicit flag, else MLFLOW_TRACKING_URI, else the default."""
    return explicit or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


def unwritable_reason(folder: Path) -> str | None:
    """Why no file can be created in `folder` (made first if missing), or None when one can:
    the check a command or the service makes before work that must write there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".agora-write-check-"):
            pass
    except OSError as error:
        return error.strerror or type(error).__name__
    return None
