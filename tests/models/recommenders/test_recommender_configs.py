"""Recommender configs: frozen, unknown keys rejected, validated with the field named, YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.config import ConfigError
from models.recommenders import create_recommender, recommender_classes
from models.recommenders.ease import EASEConfig
from models.recommenders.factorization import ALSConfig, BPRConfig
from models.recommenders.hybrid import HybridConfig
from models.recommenders.item_knn import ItemKNNConfig


@pytest.mark.parametrize(
    ("config_class", "values", "field"),
    [
        (ALSConfig, {"factors": 0}, "factors"),
        (ALSConfig, {"regularization": -0.1}, "regularization"),
        (ALSConfig, {"weighting": "log"}, "weighting"),
        (ALSConfig, {"bm25_b": 1.5}, "bm25_b"),
        (BPRConfig, {"learning_rate": 0}, "learning_rate"),
        (EASEConfig, {"regularization": 0}, "regularization"),
        (EASEConfig, {"dropout": 1.0}, "dropout"),
        (ItemKNNConfig, {"neighbours": 0}, "neighbours"),
        (ItemKNNConfig, {"similarity": "jaccard"}, "similarity"),
        (ALSConfig, {"factor": 8}, "factor: unknown field"),
    ],
)
def test_invalid_values_name_the_field(config_class: type, values: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        config_class.from_mapping(values)


def test_configs_are_frozen() -> None:
    config = ALSConfig()
    with pytest.raises(ValueError, match="frozen"):
        config.factors = 3  # type: ignore[misc]


def test_every_type_builds_from_its_defaults() -> None:
    for model_type, cls in recommender_classes().items():
        model = create_recommender(model_type)
        assert isinstance(model, cls) and not model.is_fitted
    with pytest.raises(ValueError, match="unknown recommender type 'svd'"):
        create_recommender("svd")


def test_yaml_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "als.yaml"
    path.write_text("factors: 16\nregularization: 2.5\nweighting: bm25\nbm25_k1: 50\n")
    config = ALSConfig.from_yaml(path)
    assert (config.factors, config.regularization, config.weighting) == (16, 2.5, "bm25")


def test_hybrid_config_validates_components() -> None:
    with pytest.raises(ConfigError, match="unknown recommender type 'svd'"):
        HybridConfig.from_mapping({"components": [{"type": "svd"}]})
    with pytest.raises(ConfigError, match=r"component 0 \(als\).*factors"):
        HybridConfig.from_mapping({"components": [{"type": "als", "config": {"factors": -1}}]})
    with pytest.raises(ConfigError, match="hybrid cannot contain a hybrid"):
        HybridConfig.from_mapping({"components": [{"type": "hybrid"}]})
    with pytest.raises(ConfigError, match="weight > 0"):
        HybridConfig.from_mapping({"components": [{"type": "ease", "weight": 0}]})
    with pytest.raises(ConfigError, match="at most one embedding"):
        HybridConfig.from_mapping({"components": [{"type": "embedding"}, {"type": "embedding"}]})


def test_hybrid_components_named_the_legacy_way_still_validate() -> None:
    """Regression: hybrids saved before the rename list an `item-knn` component."""
    config = HybridConfig.from_mapping({"components": [{"type": "item-knn"}]})
    assert config.components[0].type == "itemknn"
