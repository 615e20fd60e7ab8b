"""Recommender types by name: the one table of model names, used by configs, the CLI and loading.

A type's name is its class's `model_type`, the name its saved manifest records and the name
training and the command line use (`agora train recommender --model itemknn`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from features.embeddings import TextEncoder
from models.artifacts import read_manifest
from models.config import ConfigError
from models.recommenders.base import Recommender
from models.recommenders.contract import ModelFormatError, RecommenderConfig
from models.recommenders.ease import EASERecommender
from models.recommenders.embedding import EmbeddingRecommender
from models.recommenders.factorization import ALSRecommender, BPRRecommender
from models.recommenders.hybrid import HybridRecommender
from models.recommenders.item_knn import ItemKNNRecommender
from models.recommenders.popularity import PopularityRecommender

RECOMMENDER_CLASSES: dict[str, type[Recommender]] = {
    cls.model_type: cls
    for cls in (
        PopularityRecommender,
        ItemKNNRecommender,
        ALSRecommender,
        BPRRecommender,
        EASERecommender,
        EmbeddingRecommender,
        HybridRecommender,
    )
}
RECOMMENDER_TYPES: tuple[str, ...] = tuple(RECOMMENDER_CLASSES)


def recommender_classes() -> dict[str, type[Recommender]]:
    """Every recommender type by its name (a copy: callers may not change the table)."""
    return dict(RECOMMENDER_CLASSES)


def recommender_class(model_type: str) -> type[Recommender]:
    if model_type not in RECOMMENDER_CLASSES:
        raise ValueError(
            f"unknown recommender type '{model_type}'; known: {', '.join(RECOMMENDER_TYPES)}"
        )
    return RECOMMENDER_CLASSES[model_type]


def recommender_config(model_type: str, params: dict[str, Any] | None) -> RecommenderConfig:
    """`params` validated as the config of `model_type`; ConfigError names the type and field."""
    try:
        cls = recommender_class(model_type)
    except ValueError as error:
        raise ConfigError(f"model: {error}") from None
    try:
        return cls.config_class.from_mapping(params)
    except ConfigError as error:
        raise ConfigError(f"params of {model_type}: {error}") from None


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
    """Load any saved recommender (today's or a legacy folder): the manifest's type picks the
    class."""
    manifest = read_manifest(path, family="recommender")
    try:
        cls = recommender_class(str(manifest.get("type")))
    except ValueError as error:
        raise ModelFormatError(f"{path}: {error}") from None
    return cls.load(path, encoder=encoder) if cls.takes_encoder else cls.load(path)
