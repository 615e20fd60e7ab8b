"""Put catalog datasets into the local cache, verified, from a mirror or the publisher."""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from data.catalog import DatasetSpec, get_spec
from data.paths import data_dir, mirror_dir

logger = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 20
_CHUNK = 1 << 20


class FetchError(RuntimeError):
    """A dataset could not be put into the cache; the message says what was tried."""


class ChecksumError(FetchError):
    """A file's sha256 differs from the catalog's."""


@dataclass(frozen=True)
class FileStatus:
    path: str
    present: bool
    ok: bool
    actual_sha256: str | None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_dir(name: str, cache: Path | None = None) -> Path:
    return (cache or data_dir()) / name


def verify_folder(spec: DatasetSpec, folder: Path) -> list[FileStatus]:
    """Check every catalog file of `spec` inside `folder`."""
    statuses = []
    for data_file in spec.files:
        path = folder / data_file.path
        if not path.is_file():
            statuses.append(FileStatus(data_file.path, False, False, None))
            continue
        actual = sha256_of(path)
        statuses.append(FileStatus(data_file.path, True, actual == data_file.sha256, actual))
    return statuses


def is_cached(spec: DatasetSpec, cache: Path | None = None) -> bool:
    """True when the cache holds every file of `spec` (hashes were checked when it was written)."""
    folder = dataset_dir(spec.name, cache)
    return all((folder / f.path).is_file() for f in spec.files)


def _raise_on_mismatch(spec: DatasetSpec, folder: Path, origin: str) -> None:
    for status, data_file in zip(verify_folder(spec, folder), spec.files, strict=True):
        if not status.present:
            raise FetchError(f"{spec.name}: {origin} has no file '{data_file.path}'")
        if not status.ok:
            raise ChecksumError(
                f"{spec.name}: checksum mismatch for '{data_file.path}' from {origin}: "
                f"expected sha256 {data_file.sha256}, got {status.actual_sha256}"
            )


def _install(staging: Path, target: Path) -> None:
    """Swap a verified staging folder into place so readers never see a partial dataset."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        backup = target.with_name(target.name + ".old")
        shutil.rmtree(backup, ignore_errors=True)
        target.rename(backup)
        staging.rename(target)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        staging.rename(target)


def _copy_from_mirror(spec: DatasetSpec, source: Path, staging: Path) -> None:
    for data_file in spec.files:
        src = source / data_file.path
        if not src.is_file():
            raise FetchError(f"{spec.name}: mirror folder {source} has no file '{data_file.path}'")
        dest = staging / data_file.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)


def _download(spec: DatasetSpec, staging: Path) -> None:
    assert spec.download_url is not None
    download = staging / "_download"
    with (
        urllib.request.urlopen(spec.download_url, timeout=DOWNLOAD_TIMEOUT_S) as response,
        download.open("wb") as handle,
    ):
        shutil.copyfileobj(response, handle, _CHUNK)
    if spec.download_url.endswith(".zip"):
        with zipfile.ZipFile(download) as archive:
            for data_file in spec.files:
                member = spec.archive_prefix + data_file.path
                dest = staging / data_file.path
                dest.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, dest.open("wb") as out:
                    shutil.copyfileobj(src, out, _CHUNK)
    else:
        if len(spec.files) != 1:
            raise FetchError(f"{spec.name}: a plain download can only provide one file")
        download.rename(staging / spec.files[0].path)
    download.unlink(missing_ok=True)


def fetch(
    name: str,
    mirror: str | Path | None = None,
    cache: Path | None = None,
    force: bool = False,
) -> Path:
    """Make dataset `name` present and verified in the cache; return its folder.

    Tries the mirror folder first (flag, else AGORA_DATA_MIRROR), then the publisher's URL.
    A checksum mismatch is raised at once rather than falling through to the next source:
    a corrupt mirror is something the operator must hear about.
    """
    spec = get_spec(name)
    target = dataset_dir(name, cache)
    if not force and is_cached(spec, cache):
        logger.info("%s already cached at %s", name, target)
        return target
    attempts: list[str] = []
    mirror_root = mirror_dir(mirror)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as tmp:
        staging = Path(tmp) / name
        staging.mkdir()
        if mirror_root is not None:
            source = mirror_root / spec.mirror_folder
            if source.is_dir():
                _copy_from_mirror(spec, source, staging)
                _raise_on_mismatch(spec, staging, f"mirror {source}")
                _install(staging, target)
                logger.info("%s copied from mirror %s", name, source)
                return target
            attempts.append(f"mirror {source} (not found)")
        else:
            attempts.append("no mirror (set --mirror or AGORA_DATA_MIRROR)")
        if spec.download_url is not None:
            try:
                _download(spec, staging)
            except (urllib.error.URLError, OSError, zipfile.BadZipFile, KeyError) as error:
                attempts.append(f"URL {spec.download_url} ({_reason(error)})")
            else:
                _raise_on_mismatch(spec, staging, spec.download_url)
                _install(staging, target)
                logger.info("%s downloaded from %s", name, spec.download_url)
                return target
        else:
            attempts.append(f"no public download URL: {spec.manual_step}")
    raise FetchError(f"could not fetch dataset '{name}': tried " + "; ".join(attempts))


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


def require(name: str, cache: Path | None = None, mirror: str | Path | None = None) -> Path:
    """The cached folder of `name`, fetching it first when it is absent."""
    spec = get_spec(name)
    if is_cached(spec, cache):
        return dataset_dir(name, cache)
    return fetch(name, mirror=mirror, cache=cache)
