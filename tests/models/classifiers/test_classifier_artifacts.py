"""Artifact handling shared by every classifier: atomic folders, manifests, dispatch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.artifacts import atomic_directory
from models.classifiers import ArtifactError, load_classifier
from models.classifiers.base import MANIFEST_FILE
from models.classifiers.tfidf import TfidfClassifier, TfidfConfig


def test_atomic_directory_keeps_the_old_folder_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "weights").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target) as staging:
        (staging / "weights").write_text("half-written")
        raise RuntimeError("disk full")
    assert (target / "weights").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_atomic_directory_replaces_on_success(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "weights").write_text("old")
    with atomic_directory(target) as staging:
        (staging / "weights").write_text("new")
    assert (target / "weights").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_load_refuses_a_folder_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=MANIFEST_FILE):
        load_classifier(tmp_path)


def test_load_refuses_unknown_kind_and_wrong_kind(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({"kind": "svm", "format_version": 1}))
    with pytest.raises(ArtifactError, match="unknown classifier kind 'svm'"):
        load_classifier(tmp_path)
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({"kind": "embedding", "format_version": 1}))
    with pytest.raises(ArtifactError, match="holds a 'embedding' classifier, not 'tfidf'"):
        TfidfClassifier.load(tmp_path)


def test_tfidf_artifact_is_pickle_free(tmp_path: Path) -> None:
    texts = ["late flight again", "great crew thanks", "late bag lost", "thanks lovely crew"] * 3
    labels = ["negative", "positive", "negative", "positive"] * 3
    TfidfClassifier(TfidfConfig(calibration_folds=0)).fit(texts, labels).save(tmp_path / "m")
    suffixes = {p.suffix for p in (tmp_path / "m").iterdir()}
    assert suffixes <= {".json", ".npz"}
    manifest = json.loads((tmp_path / "m" / MANIFEST_FILE).read_text())
    assert manifest["kind"] == "tfidf" and manifest["classes"] == ["negative", "positive"]
