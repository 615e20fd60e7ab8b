"""Serving a fine-tuned network from ONNX: export, int8 choice, save/load, legacy artifacts.

A tiny random BERT saved with MiniLM's tokenizer stands in for the encoder, so a fit takes
seconds; the behaviour under test (export, quantise, choose, save, load) is the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from models.artifacts import MANIFEST_FILE
from models.classifiers import load_classifier
from models.classifiers.finetune import FineTunedClassifier, MeanPoolingClassifier
from models.classifiers.finetune_config import FineTuneConfig
from models.classifiers.finetune_runtime import ONNX_FILE, choose_onnx_runtime
from models.classifiers.onnx_export import export_network
from models.classifiers.onnx_runner import OnnxLogits


def _config(encoder: Path, **changes: object) -> FineTuneConfig:
    base: dict[str, object] = {
        "encoder": str(encoder),
        "max_length": 16,
        "batch_size": 8,
        "learning_rate": 3e-3,
        "epochs": 8,
        "evaluations_per_epoch": 1,
        "patience": 100,
        "validation_fraction": 0.2,
        "time_budget_minutes": None,
        "freeze_word_embeddings": False,
    }
    return FineTuneConfig.from_mapping({**base, **changes})


@pytest.fixture(scope="module")
def onnx_model(tiny_encoder: Path, tiny_train: tuple[list[str], list[str]]) -> FineTunedClassifier:
    return FineTunedClassifier(_config(tiny_encoder)).fit(*tiny_train)


def test_a_fit_serves_from_onnx_and_says_which_precision_and_why(
    onnx_model: FineTunedClassifier, tiny_test: tuple[list[str], list[str]]
) -> None:
    runtime = onnx_model.runtime
    assert runtime["engine"] == "onnx"
    assert runtime["precision"] in {"int8", "fp32"}
    accuracy = runtime["validation_accuracy"]
    assert set(accuracy) == {"eager", "fp32", "int8"}
    noise = runtime["int8_noise"]
    n_valid = round(0.2 * 90)  # validation_fraction of the 90 tiny training texts
    assert noise["standard_error"] == pytest.approx(
        np.sqrt(noise["changed_answers"]) / n_valid, abs=1e-5
    )
    beyond_noise = accuracy["eager"] - accuracy["int8"] - noise["standard_error"]
    assert (runtime["precision"] == "int8") == (beyond_noise <= 0.005)
    texts, labels = tiny_test
    predicted = onnx_model.predict(texts)
    assert np.mean([p == t for p, t in zip(predicted, labels, strict=True)]) >= 0.8


def test_the_saved_folder_holds_the_served_graph_and_loads_without_the_network(
    onnx_model: FineTunedClassifier, tiny_test: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    texts = [*tiny_test[0], "", "x" * 3000]
    onnx_model.save(tmp_path / "model")
    manifest = json.loads((tmp_path / "model" / MANIFEST_FILE).read_text())
    assert manifest["runtime"]["engine"] == "onnx"
    assert (tmp_path / "model" / ONNX_FILE).is_file()
    loaded = load_classifier(tmp_path / "model")
    assert isinstance(loaded, FineTunedClassifier)
    assert loaded._network is None  # the eager network is not even built
    np.testing.assert_allclose(
        loaded.predict_proba(texts), onnx_model.predict_proba(texts), atol=1e-6
    )
    # A model read from disk saves again (e.g. into an ensemble) with the same answers.
    loaded.save(tmp_path / "again")
    again = load_classifier(tmp_path / "again")
    np.testing.assert_allclose(again.predict_proba(texts), loaded.predict_proba(texts), atol=1e-6)


def test_a_torch_runtime_model_and_older_artifacts_serve_the_eager_network(
    tiny_encoder: Path, tiny_train: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    config = _config(tiny_encoder, runtime="torch", max_steps=5)
    model = FineTunedClassifier(config).fit(*tiny_train)
    assert model.runtime == {"engine": "torch"}
    model.save(tmp_path / "model")
    manifest_path = tmp_path / "model" / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    del manifest["runtime"]  # as written before models were served from ONNX
    manifest_path.write_text(json.dumps(manifest))
    loaded = load_classifier(tmp_path / "model")
    assert isinstance(loaded, FineTunedClassifier)
    assert loaded._network is not None and loaded.runtime == {"engine": "torch"}
    texts = tiny_train[0][:10]
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=1e-6)


def test_a_missing_graph_is_a_format_error(onnx_model: FineTunedClassifier, tmp_path: Path) -> None:
    from models.errors import ModelFormatError

    onnx_model.save(tmp_path / "model")
    (tmp_path / "model" / ONNX_FILE).unlink()
    with pytest.raises(ModelFormatError, match=ONNX_FILE):
        load_classifier(tmp_path / "model")


def test_the_export_matches_the_eager_network_for_any_batch_and_length(
    tmp_path: Path, tiny_network: Callable[[], MeanPoolingClassifier]
) -> None:
    network = tiny_network()
    runner = OnnxLogits(export_network(network, tmp_path / "n.onnx"), batch_size=3)
    rng = np.random.default_rng(0)
    sequences = [rng.integers(1, 50, size=length).tolist() for length in (1, 7, 3, 30, 12)]
    expected = []
    with torch.inference_mode():
        for sequence in sequences:  # one at a time: no padding at all
            ids = torch.tensor([sequence])
            expected.append(network(ids, torch.ones_like(ids)).numpy()[0])
    np.testing.assert_allclose(runner(sequences, pad_id=0), np.array(expected), atol=1e-4)


@pytest.mark.parametrize(("allowed_loss", "precision"), [(None, "fp32"), (1.0, "int8")])
def test_int8_is_served_only_within_the_allowed_accuracy_loss(
    allowed_loss: float | None, precision: str, tiny_network: Callable[[], MeanPoolingClassifier]
) -> None:
    network = tiny_network()
    rng = np.random.default_rng(0)
    ids = [rng.integers(1, 50, size=6).tolist() for _ in range(20)]
    labels = rng.integers(0, 3, size=20)
    with torch.inference_mode():
        batch = torch.tensor(ids)
        eager = network(batch, torch.ones_like(batch)).numpy()
    choice = choose_onnx_runtime(network, ids, labels, eager, 0, allowed_loss)
    assert choice.precision == precision
    assert ("int8" in choice.validation_accuracy) == (allowed_loss is not None)
    assert (choice.int8_noise is not None) == (allowed_loss is not None)


def test_prediction_reads_past_the_training_length_up_to_the_inference_limit(
    onnx_model: FineTunedClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    runner = onnx_model._runner
    assert runner is not None

    def recording(token_ids: list[list[int]], pad_id: int) -> np.ndarray:
        seen.extend(len(ids) for ids in token_ids)
        return runner(token_ids, pad_id)

    monkeypatch.setattr(onnx_model, "_runner", recording)
    words = " ".join(["service"] * 300)  # ~300 tokens: above max_length 16, above 256
    onnx_model.predict_proba([words, "short one"])
    config = onnx_model.config
    assert config.max_length == 16 and config.inference_max_length == 256
    assert sorted(seen) == [4, 256]  # [CLS] short one [SEP]; the long one cut at 256


def test_an_int8_model_answers_a_text_the_same_alone_and_in_a_batch(
    tiny_encoder: Path,
    tiny_train: tuple[list[str], list[str]],
    tiny_test: tuple[list[str], list[str]],
) -> None:
    # Allowed to lose anything: int8 is served, its activations scaled per row, run 8 per call.
    config = _config(tiny_encoder, int8_max_accuracy_loss=0.99, max_steps=10)
    model = FineTunedClassifier(config).fit(*tiny_train)
    assert model.runtime["precision"] == "int8"
    texts = [*tiny_test[0], "a much longer text than the others, to change the padding " * 3]
    together = model.predict_proba(texts)
    alone = np.vstack([model.predict_proba([text]) for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_a_runner_follows_a_changed_thread_setting(
    tmp_path: Path, tiny_network: Callable[[], MeanPoolingClassifier]
) -> None:
    from models.classifiers.onnx_runner import inference_threads, set_inference_threads

    previous = inference_threads()
    runner = OnnxLogits(export_network(tiny_network(), tmp_path / "n.onnx"))
    try:
        set_inference_threads(1)  # after the session was made, as the one-core speed check does
        before = runner([[1, 2, 3]], pad_id=0)
        assert runner._session.get_session_options().intra_op_num_threads == 1
        set_inference_threads(2)
        np.testing.assert_allclose(runner([[1, 2, 3]], pad_id=0), before, atol=1e-6)
        assert runner._session.get_session_options().intra_op_num_threads == 2
    finally:
        set_inference_threads(previous)
