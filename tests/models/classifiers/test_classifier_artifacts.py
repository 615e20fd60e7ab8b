"""Artifact handling shared by every classifier: atomic folders, manifests, dispatch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from features.text import TextConfig
from models.artifacts import MANIFEST_FILE, atomic_directory
from models.classifiers import ModelFormatError, load_classifier
from models.classifiers.ensemble import EnsembleClassifier
from models.classifiers.tfidf import TfidfClassifier, TfidfConfig

_TEXTS = ["late flight again", "great crew thanks", "late bag lost", "thanks lovely crew"] * 3
_LABELS = ["negative", "positive", "negative", "positive"] * 3


@pytest.fixture(scope="module")
def tiny_tfidf() -> TfidfClassifier:
    return TfidfClassifier(TfidfConfig(calibration_folds=0)).fit(_TEXTS, _LABELS)


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
    with pytest.raises(ModelFormatError, match=MANIFEST_FILE):
        load_classifier(tmp_path)


def test_load_refuses_unknown_type_wrong_type_and_other_family(
    tiny_tfidf: TfidfClassifier, tmp_path: Path
) -> None:
    tiny_tfidf.save(tmp_path / "m")
    manifest_file = tmp_path / "m" / MANIFEST_FILE
    manifest = json.loads(manifest_file.read_text())
    manifest_file.write_text(json.dumps({**manifest, "type": "svm"}))
    with pytest.raises(ModelFormatError, match="unknown classifier type 'svm'"):
        load_classifier(tmp_path / "m")
    manifest_file.write_text(json.dumps({**manifest, "type": "embedding"}))
    with pytest.raises(ModelFormatError, match="holds a 'embedding' classifier, not 'tfidf'"):
        TfidfClassifier.load(tmp_path / "m")
    manifest_file.write_text(json.dumps({**manifest, "family": "recommender"}))
    with pytest.raises(ModelFormatError, match="not a 'classifier' model"):
        load_classifier(tmp_path / "m")
    del manifest["classes"]
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="no 'classes' field"):
        load_classifier(tmp_path / "m")


def test_tfidf_artifact_is_pickle_free_in_the_shared_dialect(
    tiny_tfidf: TfidfClassifier, tmp_path: Path
) -> None:
    tiny_tfidf.save(tmp_path / "m")
    suffixes = {p.suffix for p in (tmp_path / "m").iterdir()}
    assert suffixes <= {".json", ".npz"}
    manifest = json.loads((tmp_path / "m" / MANIFEST_FILE).read_text())
    assert (manifest["format"], manifest["family"], manifest["type"]) == (
        "agora-model",
        "classifier",
        "tfidf",
    )
    assert manifest["classes"] == ["negative", "positive"]


def test_a_folder_saved_in_the_old_classifier_dialect_still_loads(
    tiny_tfidf: TfidfClassifier, tmp_path: Path
) -> None:
    """Regression: folders saved before the shared dialect (classifier.json + kind) must load."""
    tiny_tfidf.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / MANIFEST_FILE).read_text())
    legacy = {k: v for k, v in manifest.items() if k not in ("format", "family", "type", "text")}
    legacy.update(kind="tfidf", format_version=1)
    (tmp_path / "m" / MANIFEST_FILE).unlink()
    (tmp_path / "m" / "classifier.json").write_text(json.dumps(legacy))
    loaded = load_classifier(tmp_path / "m")
    assert isinstance(loaded, TfidfClassifier)
    assert loaded.text_config is None  # unknown: the engine falls back to its own
    np.testing.assert_allclose(loaded.predict_proba(_TEXTS), tiny_tfidf.predict_proba(_TEXTS))


def test_the_text_settings_are_saved_with_the_model_and_its_ensemble_members(
    tmp_path: Path,
) -> None:
    text = TextConfig(masked_names=("Zephyr",), mask_urls=False)
    ensemble = EnsembleClassifier([TfidfClassifier(TfidfConfig(calibration_folds=0))])
    ensemble.fit(_TEXTS, _LABELS).set_text_config(text)
    ensemble.save(tmp_path / "m")
    loaded = load_classifier(tmp_path / "m")
    assert loaded.text_config == text
    assert [m.text_config for m in loaded.members] == [text]  # type: ignore[attr-defined]
    assert load_classifier(tmp_path / "m" / "member_0_tfidf").text_config == text
