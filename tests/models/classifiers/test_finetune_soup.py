"""A seed soup: two fine-tunes of one carve averaged into one network, exported and calibrated as
a fit is; fine-tunes that cannot be averaged are refused with the reason.

The tiny random BERT of conftest stands in for MiniLM, so each fit takes seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.classifiers import load_classifier
from models.classifiers.finetune import FineTunedClassifier
from models.classifiers.finetune_config import FineTuneConfig
from models.classifiers.finetune_soup import SoupMismatchError, seed_soup


def _config(encoder: Path, seed: int, validation_seed: int | None = 1) -> FineTuneConfig:
    return FineTuneConfig.from_mapping(
        {
            "encoder": str(encoder),
            "max_length": 16,
            "batch_size": 8,
            "learning_rate": 3e-3,
            "epochs": 6,
            "evaluations_per_epoch": 1,
            "patience": 100,
            "validation_fraction": 0.2,
            "time_budget_minutes": None,
            "freeze_word_embeddings": False,
            "seed": seed,
            "validation_seed": validation_seed,
        }
    )


@pytest.fixture(scope="module")
def members(
    tiny_encoder: Path, tiny_train: tuple[list[str], list[str]]
) -> list[FineTunedClassifier]:
    return [FineTunedClassifier(_config(tiny_encoder, seed)).fit(*tiny_train) for seed in (1, 2)]


def test_the_soup_is_the_average_of_the_members_weights_and_serves_like_a_fit(
    members: list[FineTunedClassifier],
    tiny_train: tuple[list[str], list[str]],
    tiny_test: tuple[list[str], list[str]],
    tmp_path: Path,
) -> None:
    soup = seed_soup(members, *tiny_train)
    name = "head.weight"
    expected = (members[0]._network.state_dict()[name] + members[1]._network.state_dict()[name]) / 2
    torch.testing.assert_close(soup._network.state_dict()[name], expected)
    assert soup.runtime["engine"] == "onnx"  # exported as a fit's network is
    assert soup.temperature_ > 0
    assert soup.history_ is not None and "seeds 1, 2" in soup.history_.stopped_because
    texts, labels = tiny_test
    accuracy = np.mean(np.asarray(soup.predict(texts)) == np.asarray(labels))
    assert accuracy >= 0.8  # a working network, not a broken blend (chance is 1/3)
    soup.save(tmp_path / "soup")
    loaded = load_classifier(tmp_path / "soup")
    np.testing.assert_allclose(loaded.predict_proba(texts), soup.predict_proba(texts), atol=1e-6)


def test_members_with_different_validation_carves_are_refused(
    tiny_encoder: Path,
    members: list[FineTunedClassifier],
    tiny_train: tuple[list[str], list[str]],
) -> None:
    # Was possible before `validation_seed`: each seed carved its own rows, so no row would have
    # been unseen by both members for the soup's calibration.
    own_carve = FineTunedClassifier(_config(tiny_encoder, 3, validation_seed=None))
    own_carve.fit(*tiny_train)
    with pytest.raises(SoupMismatchError, match="carved their validation rows differently"):
        seed_soup([members[0], own_carve], *tiny_train)


def test_a_soup_needs_two_members_and_fitted_networks(
    members: list[FineTunedClassifier], tiny_train: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    with pytest.raises(SoupMismatchError, match="two fine-tunes or more"):
        seed_soup(members[:1], *tiny_train)
    members[0].save(tmp_path / "served")
    served = load_classifier(tmp_path / "served")  # an ONNX-served model has no network
    with pytest.raises(SoupMismatchError, match="without its network"):
        seed_soup([served, members[1]], *tiny_train)  # type: ignore[list-item]


def test_the_validation_seed_fixes_the_carve_whatever_the_training_seed(tiny_encoder: Path) -> None:
    labels = np.array([0, 1, 2] * 20)
    carves = [
        FineTunedClassifier(_config(tiny_encoder, seed, validation_seed=7))._validation_split(
            labels
        )
        for seed in (1, 2)
    ]
    assert carves[0] == carves[1]
    own = FineTunedClassifier(_config(tiny_encoder, 2, validation_seed=None))
    assert own._validation_split(labels) != carves[0]
