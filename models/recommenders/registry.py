"""Model types by name: build one from a config mapping, or load any saved one by its manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from features.embeddings import TextEncoder
from models.recommenders.artifacts import read_manifest
from models.recommenders.base import Recommender
from models.recommenders.contract import ModelFormatError, RecommenderConfig


def recommender_classes() -> dict[str, type[Recommender]]:
    """Every recommender type by its manifest name (imported on call: no import cycles)."""
    from models.recommenders.ease import EASERecommender
    from models.recommenders.embedding import EmbeddingRecommender
    from models.recommenders.factorization import ALSRecommender, BPRRecommender
    from models.recommenders.hybrid import HybridRecommender
    from models.recommenders.item_knn import ItemKNNRecommender
    from models.recommenders.popularity import PopularityRecommender

    classes: list[type[Recommender]] = [
        PopularityRecommender,
        ItemKNNRecommender,
        ALSRecommender,
        BPRRecommender,
        EASERecommender,
        EmbeddingRecommender,
        HybridRecommender,
    ]
    return {cls.model_type: cls for cls in classes}


def recommender_class(model_type: str) -> type[Recommender]:
    classes = recommender_classes()
    if model_type not in classes:
        raise ValueError(
            f"unknown recommender type '{model_type}'; known: {', '.join(sorted(classes))}"
        )
    return classes[model_type]


def create_recommender(
    model_type: str,
    config: RecommenderConfig | dict[str, Any] | None = None,
    encoder: TextEncoder | None = None,
) -> Recommender:
    """An unfitted model of `model_type`; a mapping config is validated (ConfigError names the
    field). `encoder` is used by the content models (embedding, hybrid) and ignored by others."""
    cls = recommender_class(model_type)
    if not isinstance(config, RecommenderConfig):
        config = cls.config_class.from_mapping(config)
    if cls.takes_encoder:
        return cls(config, encoder=encoder)  # type: ignore[call-arg]
    return cls(config)


def load_recommender(path: str | Path, encoder: TextEncoder | None = None) -> Recommender:
    """Load any saved recommender: the manifest's type picks the class."""
    manifest = read_manifest(path)
    model_type = manifest.get("type")
    try:
        cls = recommender_class(str(model_type))
    except ValueError as error:
        raise ModelFormatError(f"{path}: {error}") from None
    return cls.load(path, encoder=encoder) if cls.takes_encoder else cls.load(path)
