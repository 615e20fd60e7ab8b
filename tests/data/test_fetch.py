"""Fetching from a mirror, checksum verification, and failure messages (no network needed)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from data import catalog
from data.catalog import DataFile, DatasetSpec
from data.fetch import ChecksumError, FetchError, fetch, verify_folder
from data.schemas import Kind


@pytest.fixture
def tiny_spec(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[DatasetSpec, Path]:
    """A one-file dataset in a temporary mirror, registered in the catalog for this test."""
    content = b"label,review\n1,good\n0,bad\n"
    mirror = tmp_path / "mirror"
    (mirror / "tiny").mkdir(parents=True)
    (mirror / "tiny" / "tiny.csv").write_bytes(content)
    spec = DatasetSpec(
        name="tiny",
        title="tiny",
        mirror_folder="tiny",
        kinds=(Kind.LABELLED_TEXT,),
        publisher="tests",
        license="none",
        files=(DataFile("tiny.csv", hashlib.sha256(content).hexdigest()),),
        homepage="http://127.0.0.1:9/",
        download_url="http://127.0.0.1:9/tiny.csv",  # a closed local port: fails at once
    )
    monkeypatch.setitem(catalog.CATALOG, "tiny", spec)
    return spec, mirror


def test_fetch_copies_and_verifies(tiny_spec: tuple[DatasetSpec, Path], tmp_path: Path) -> None:
    spec, mirror = tiny_spec
    folder = fetch("tiny", mirror=mirror, cache=tmp_path / "cache")
    assert (folder / "tiny.csv").read_bytes() == (mirror / "tiny" / "tiny.csv").read_bytes()
    assert all(status.ok for status in verify_folder(spec, folder))


def test_changed_byte_fails_naming_file_and_both_hashes(
    tiny_spec: tuple[DatasetSpec, Path], tmp_path: Path
) -> None:
    spec, mirror = tiny_spec
    path = mirror / "tiny" / "tiny.csv"
    data = bytearray(path.read_bytes())
    data[3] ^= 1
    path.write_bytes(bytes(data))
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError) as error:
        fetch("tiny", mirror=mirror, cache=cache)
    message = str(error.value)
    assert "tiny.csv" in message
    assert spec.files[0].sha256 in message
    assert hashlib.sha256(bytes(data)).hexdigest() in message
    assert not (cache / "tiny").exists()  # nothing half-installed


def test_missing_mirror_and_unreachable_url_name_both(
    tiny_spec: tuple[DatasetSpec, Path], tmp_path: Path
) -> None:
    with pytest.raises(FetchError) as error:
        fetch("tiny", mirror=tmp_path / "nowhere", cache=tmp_path / "cache")
    message = str(error.value)
    assert "'tiny'" in message and "nowhere" in message and "http://127.0.0.1:9/tiny.csv" in message


def test_manual_only_dataset_explains_the_manual_step(
    tiny_spec: tuple[DatasetSpec, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, _ = tiny_spec
    manual = replace(spec, download_url=None, manual_step="log in and download it")
    monkeypatch.setitem(catalog.CATALOG, "tiny", manual)
    with pytest.raises(FetchError, match="log in and download it"):
        fetch("tiny", mirror=None, cache=tmp_path / "cache")


def test_catalog_entries_are_complete() -> None:
    for spec in catalog.CATALOG.values():
        assert spec.files and spec.license and spec.homepage
        assert spec.download_url or spec.manual_step, spec.name
        assert all(len(f.sha256) == 64 for f in spec.files)
