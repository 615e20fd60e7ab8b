"""Refuse an MLflow tracking URI before any work, in one sentence.

Three ways a tracking URI used to fail late or not at all:

- a bare path (`/tmp/x/mlflow.db`): MLflow reads it as its file store, which it refuses (maintenance
  mode) with a traceback; the SQLite store the user meant is `sqlite:////tmp/x/mlflow.db`;
- a SQLite file that does not exist, given to a command that only reads the registry: MLflow
  creates it (and its folder), and a mistyped path reads as an empty registry;
- an http(s) server nobody answers at: MLflow retries for minutes, after the training.

No MLflow import here: the CLI maps `TrackingStoreError` to its exit code without paying for it.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

# Seconds to wait for a tracking server's first answer: a live server answers in milliseconds.
REACH_TIMEOUT_S = 5.0
_SQLITE = "sqlite:///"
# Stores MLflow knows by name alone ("databricks", "databricks://PROFILE"): not paths.
_NAMED_STORES = frozenset({"databricks", "databricks-uc", "uc"})
# MLflow's own opt-in to its file store: with it a path or file: URI is the user's choice.
ALLOW_FILE_STORE_ENV = "MLFLOW_ALLOW_FILE_STORE"


class TrackingStoreError(ValueError):
    """The tracking URI cannot serve the command; the message says why and what to give."""


def check_tracking_store(
    uri: str,
    must_exist: bool = False,
    probe_server: bool = True,
    timeout_s: float = REACH_TIMEOUT_S,
) -> None:
    """TrackingStoreError for a bare path, for a SQLite store that does not exist when
    `must_exist` (commands that only read the registry), and with `probe_server` for an
    http(s) server that does not answer within `timeout_s` (a command that can fall back to
    the champion cache, as the service does, does not probe)."""
    scheme = urlsplit(uri).scheme.lower()
    if uri.split(":", 1)[0] in _NAMED_STORES:
        return
    if scheme in ("", "file") or len(scheme) == 1:  # one letter: a Windows drive (C:)
        if os.environ.get(ALLOW_FILE_STORE_ENV, "").lower() not in ("1", "true"):
            path = Path(urlsplit(uri).path if scheme == "file" else uri).expanduser().absolute()
            raise TrackingStoreError(
                f"the tracking URI {uri} is a file path (MLflow's file store, which it no longer "
                f"serves): give {_SQLITE}{path} for a SQLite store there, or an http(s):// "
                "tracking server"
            )
    elif uri.startswith(_SQLITE) and must_exist:
        path = sqlite_path(uri)
        if path is not None and not path.is_file():
            raise TrackingStoreError(
                f"no MLflow store at {path.absolute()}: this command works on an existing "
                "registry and does not create one; check --tracking-uri or MLFLOW_TRACKING_URI"
            )
    elif scheme in ("http", "https") and probe_server:
        check_server_answers(uri, timeout_s)


def sqlite_path(uri: str) -> Path | None:
    """The file of a `sqlite:///PATH` URI (None for an in-memory store)."""
    path = uri.removeprefix(_SQLITE).split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def check_server_answers(uri: str, timeout_s: float = REACH_TIMEOUT_S) -> None:
    """TrackingStoreError unless an HTTP server answers at `uri` (any status: a server that
    asks for credentials is there) within `timeout_s`."""
    try:
        with urllib.request.urlopen(uri, timeout=timeout_s):
            return
    except urllib.error.HTTPError as answer:
        answer.close()
        return
    except (OSError, ValueError) as error:  # URLError, refused, timed out, a malformed URI
        reason = getattr(error, "reason", error)
        raise TrackingStoreError(
            f"no MLflow tracking server answers at {uri} ({reason}): start it, or check "
            "--tracking-uri or MLFLOW_TRACKING_URI"
        ) from None
