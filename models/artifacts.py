"""One artifact dialect for every saved model, recommenders and text classifiers alike.

A saved model is a folder holding `manifest.json` and pickle-free files (JSON, .npz,
safetensors). The manifest names the format, its version, the model family ("recommender" or
"classifier") and the model type; the rest of its fields belong to the model. `SavedModel`
templates save and load: saving writes into a staging folder that replaces the target in one
rename (`atomic_directory`), so a crash never leaves a half-written model where a loader could
find it; loading checks the manifest before the model reads anything else.

Folders written by earlier versions (`classifier.json` with a `kind`, or `manifest.json` with
format `agora-recommender`) are still read: `read_manifest` turns them into today's fields.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
import scipy.sparse as sp

from data.environment import apply_stack_environment
from data.locks import file_lock
from models.errors import ModelFormatError, NotFittedError

Family = Literal["recommender", "classifier"]

MANIFEST_FILE = "manifest.json"
FORMAT = "agora-model"
FORMAT_VERSION = 2
# Earlier dialects, still readable (see _upgrade_legacy).
_LEGACY_CLASSIFIER_FILE = "classifier.json"
_LEGACY_RECOMMENDER_FORMAT = "agora-recommender"
# Type names that changed: the old name in a legacy manifest -> today's name.
_RENAMED_TYPES = {"item-knn": "itemknn"}


@contextlib.contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `target` that replaces it when the block succeeds.

    A crash while writing leaves the previous artifact (if any) untouched and no half-written
    folder under the final name; the old folder is moved aside before the rename, then removed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield staging
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, retired / "model")
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def keyed_folder(cache_dir: Path, prefix: str, *key: object) -> Path:
    """`cache_dir/<prefix>-<16 hex digits of key>`: one folder per derived artefact and version."""
    digest = hashlib.sha256("|".join(str(part) for part in key).encode()).hexdigest()[:16]
    return cache_dir / f"{prefix}-{digest}"


def build_once(folder: Path, marker: str, build: Callable[[Path], None]) -> Path:
    """`folder`, made by `build(staging folder)` first when `folder / marker` is missing.

    For derived files every process may need (an exported or distilled encoder). Processes that
    need it together take turns on a lock file beside the folder (`.<name>.lock`, kept), so one
    builds and the others wait, then find the marker: two serving workers starting together
    used to distil the same encoder twice, each at the full cost. The folder is written aside
    and renamed, so no process sees half of it. `build` writes `marker` last.
    """
    if (folder / marker).exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(folder.parent / f".{folder.name}.lock"):
        if (folder / marker).exists():  # built by the process that held the lock before us
            return folder
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
        try:
            build(staging)
            if folder.exists():  # a folder without its marker: an interrupted older build
                shutil.rmtree(folder)
            os.rename(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


# The folder holding the top-level packages: a child interpreter imports them from there, whatever
# its working directory.
_PROJECT_ROOT = Path(__file__).resolve().parents[1]


def build_in_child(module: str, *args: str, timeout_s: float) -> None:
    """Run `python -m module args...` in a child interpreter; RuntimeError with the end of its
    error output if it fails or outlives `timeout_s`.

    For builds that need torch (exporting or distilling the knowledge base's encoder): a serving
    worker that calls one never loads torch and transformers itself (about 500 MB it would keep
    for its life), and its log gets none of their progress bars.
    """
    paths = [str(_PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    command = [sys.executable, "-m", module, *args]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, env=environment
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{module} did not finish within {timeout_s:.0f} s") from None
    if done.returncode != 0:
        tail = done.stderr.strip()[-2000:]
        raise RuntimeError(f"{module} failed (exit {done.returncode}): {tail}")


def run_build(argv: Sequence[str], build: Callable[[str, Path], None]) -> None:
    """The child side of `build_in_child`: `build(NAME, Path(OUT))` for the arguments NAME OUT,
    offline (the packaged model, no hub calls)."""
    name, out = argv
    apply_stack_environment()
    build(name, Path(out))


def write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Named dense arrays in one uncompressed .npz (read back without pickle)."""
    np.savez(path, **arrays)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files}


def save_sparse(path: Path, matrix: sp.spmatrix) -> None:
    sp.save_npz(path, sp.csr_matrix(matrix), compressed=False)


def load_sparse(path: Path) -> sp.csr_matrix:
    return sp.csr_matrix(sp.load_npz(path))


def write_manifest(folder: Path, family: Family, model_type: str, **fields: Any) -> None:
    """Write `manifest.json`: format, version, family, type, save time, then `fields`."""
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "family": family,
        "type": model_type,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **fields,
    }
    write_json(folder / MANIFEST_FILE, manifest)


def read_manifest(
    folder: str | Path, family: Family | None = None, expected_type: str | None = None
) -> dict[str, Any]:
    """The manifest of a saved model; ModelFormatError names what is wrong.

    `family` and `expected_type`, when given, must match what the folder holds.
    """
    folder = Path(folder)
    path = folder / MANIFEST_FILE
    legacy_classifier = folder / _LEGACY_CLASSIFIER_FILE
    if not path.is_file() and legacy_classifier.is_file():
        path = legacy_classifier
    if not path.is_file():
        raise ModelFormatError(f"{folder} is not a saved model: no {MANIFEST_FILE}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFormatError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict):
        raise ModelFormatError(f"{path} must hold a JSON object")
    manifest = _upgrade_legacy(path, manifest)
    if manifest.get("format") != FORMAT:
        raise ModelFormatError(f"{path}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: format_version {manifest.get('format_version')!r} is not supported "
            f"(this code reads {FORMAT_VERSION})"
        )
    if family is not None and manifest.get("family") != family:
        raise ModelFormatError(
            f"{folder} holds a {manifest.get('family')!r} model, not a {family!r} model"
        )
    if expected_type is not None and manifest.get("type") != expected_type:
        raise ModelFormatError(
            f"{folder} holds a '{manifest.get('type')}' {manifest.get('family')}, "
            f"not '{expected_type}'"
        )
    return manifest


def _upgrade_legacy(path: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Today's fields for a manifest written by an earlier version (format_version 1)."""
    if path.name == _LEGACY_CLASSIFIER_FILE and manifest.get("format_version") == 1:
        fields = {k: v for k, v in manifest.items() if k not in ("kind", "format_version")}
        return _current("classifier", str(manifest.get("kind")), fields)
    if manifest.get("format") == _LEGACY_RECOMMENDER_FORMAT and manifest.get("format_version") == 1:
        fields = {k: v for k, v in manifest.items() if k not in ("format", "format_version")}
        fields.pop("type", None)
        return _current("recommender", str(manifest.get("type")), fields)
    return manifest


def current_type_name(model_type: str) -> str:
    """Today's name of a model type: legacy manifests (and configs naming a model type, such as
    a hybrid's components) may use an older one."""
    return _RENAMED_TYPES.get(model_type, model_type)


def _current(family: Family, model_type: str, fields: dict[str, Any]) -> dict[str, Any]:
    model_type = current_type_name(model_type)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "family": family,
        "type": model_type,
        **fields,
    }


class SavedModel(ABC):
    """Save and load templated once for both model families.

    Subclasses set `family` and `model_type`, and implement `_write` (write the model's files
    into a folder and return the manifest fields that describe them), `_read` (rebuild the model
    from a folder and its manifest) and `is_fitted`.
    """

    family: ClassVar[Family]
    model_type: ClassVar[str]

    @property
    @abstractmethod
    def is_fitted(self) -> bool: ...

    @abstractmethod
    def _write(self, folder: Path) -> dict[str, Any]:
        """Write the model's files into `folder`; return its manifest fields."""

    @classmethod
    @abstractmethod
    def _read(cls, folder: Path, manifest: dict[str, Any], **init: Any) -> Self:
        """The model saved in `folder`, whose checked manifest is `manifest`."""

    def require_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted: call fit() or load() before using it"
            )

    def save(self, path: str | Path) -> Path:
        """Write the model folder atomically (replacing what is there); returns its path."""
        self.require_fitted()
        with atomic_directory(path) as staging:
            self.write_into(staging)
        return Path(path)

    def write_into(self, folder: Path) -> None:
        """The model's files and manifest in an existing folder (for models nested in another)."""
        self.require_fitted()
        fields = self._write(folder)
        write_manifest(folder, self.family, self.model_type, **fields)

    @classmethod
    def load(cls, path: str | Path, **init: Any) -> Self:
        """Read a folder written by `save`; `init` goes to the constructor (e.g. `encoder`)."""
        folder = Path(path)
        manifest = read_manifest(folder, cls.family, cls.model_type)
        return cls._read(folder, manifest, **init)
