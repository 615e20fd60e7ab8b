"""Recommender folders on disk: the manifest and the sparse/dense array files.

A saved recommender is a folder holding `manifest.json` (format, version, type, config) and
pickle-free files (JSON, .npz). Saving goes through `models.artifacts.atomic_directory`, so a
crash never leaves a half-written model where a loader could find it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from models.recommenders.contract import ModelFormatError

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = "agora-recommender"
FORMAT_VERSION = 1


def write_manifest(folder: Path, model_type: str, config: dict[str, Any], **extra: Any) -> None:
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "type": model_type,
        "config": config,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }
    write_json(folder / MANIFEST, manifest)


def read_manifest(folder: str | Path, expected_type: str | None = None) -> dict[str, Any]:
    """The manifest of a saved model; raises ModelFormatError naming what is wrong."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ModelFormatError(f"{folder} is not a saved recommender: no {MANIFEST}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ModelFormatError(f"{path} is not valid JSON: {error}") from None
    if manifest.get("format") != FORMAT:
        raise ModelFormatError(f"{path}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: format_version {version!r} is not supported (this code reads "
            f"{FORMAT_VERSION})"
        )
    if expected_type is not None and manifest.get("type") != expected_type:
        raise ModelFormatError(
            f"{folder} holds a '{manifest.get('type')}' recommender, not '{expected_type}'"
        )
    return manifest


def write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    np.savez(path, **arrays)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files}


def save_sparse(path: Path, matrix: sp.spmatrix) -> None:
    sp.save_npz(path, sp.csr_matrix(matrix), compressed=False)


def load_sparse(path: Path) -> sp.csr_matrix:
    return sp.csr_matrix(sp.load_npz(path))
