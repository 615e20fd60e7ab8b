"""Model name as on the command line -> a configured recommender from `models.recommenders`.

The CLI names are one word each (`itemknn`); the models' own type names (`item-knn`) are what
their saved manifests record. This table is the one place the two meet.
"""

from __future__ import annotations

from typing import Any

from models.config import ConfigError, FrozenConfig
from models.recommenders.base import Recommender
from models.recommenders.registry import create_recommender, recommender_class
from training.recommender.config import MODEL_NAMES

MODEL_TYPES: dict[str, str] = {
    "popularity": "popularity",
    "itemknn": "item-knn",
    "als": "als",
    "bpr": "bpr",
    "ease": "ease",
    "embedding": "embedding",
    "hybrid": "hybrid",
}
if set(MODEL_TYPES) != set(MODEL_NAMES):  # a model added to one list but not the other
    raise RuntimeError("training.recommender: MODEL_TYPES and MODEL_NAMES disagree")


def model_type(name: str) -> str:
    if name not in MODEL_TYPES:
        raise ConfigError(f"model: unknown model {name!r}; choose one of {', '.join(MODEL_TYPES)}")
    return MODEL_TYPES[name]


def config_class(name: str) -> type[FrozenConfig]:
    """The frozen pydantic config class of model `name`."""
    return recommender_class(model_type(name)).config_class


def model_config(name: str, params: dict[str, Any]) -> FrozenConfig:
    """Validate `params` as model `name`'s config; the error names the model and the field."""
    try:
        return config_class(name).from_mapping(params)
    except ConfigError as error:
        raise ConfigError(f"params of {name}: {error}") from None


def build_recommender(name: str, params: dict[str, Any]) -> Recommender:
    """An unfitted recommender `name` configured with `params` (validated first)."""
    return create_recommender(model_type(name), model_config(name, params))
