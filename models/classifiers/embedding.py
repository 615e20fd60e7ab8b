"""Logistic regression on frozen sentence embeddings (all-MiniLM-L6-v2 by default).

Cheap to train once the embeddings are cached (features.embeddings.EmbeddingCache) and robust
to paraphrase, but the encoder is frozen, so it trails a fine-tuned model on tweet sentiment. The
artifact records the encoder's hub name, not a local path, so it loads on any machine that has
the encoder (here: the packaged copy).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
from pydantic import Field

from features.embeddings import (
    DEFAULT_ENCODER,
    EmbeddingCache,
    TextEncoder,
    shared_text_encoder,
)
from models.classifiers.base import TextClassifier, check_training_data
from models.classifiers.calibration import CalibrationConfig
from models.classifiers.linear import ClassWeight, LinearHead, fit_calibrated_head

logger = logging.getLogger(__name__)

_ARRAYS_FILE = "head.npz"


class EmbeddingConfig(CalibrationConfig):
    """Hyper-parameters of the sentence-embedding + logistic-regression classifier."""

    encoder: str = DEFAULT_ENCODER
    batch_size: int = Field(64, ge=1)
    use_cache: bool = Field(
        True, description="training reuses embeddings from the on-disk cache (never inference)"
    )
    c: float = Field(4.0, gt=0)
    class_weight: ClassWeight = "balanced"
    max_iter: int = Field(3000, ge=1)
    calibration_folds: int = Field(3, ge=0)
    seed: int = 42


class EmbeddingClassifier(TextClassifier):
    """Frozen sentence encoder -> multinomial logistic regression, calibrated."""

    model_type = "embedding"

    def __init__(self, config: EmbeddingConfig | None = None) -> None:
        super().__init__()
        self.config = config or EmbeddingConfig()
        self._encoder: TextEncoder | None = None
        self._cache: EmbeddingCache | None = None
        self._head: LinearHead | None = None

    def embed(self, texts: list[str], cached: bool = False) -> np.ndarray:
        """L2-normalised sentence embeddings of `texts`.

        `cached` goes through the on-disk cache: worth it for training data that is embedded
        again on every rerun, wrong for inference, where each new text would rewrite the cache.
        """
        if self._encoder is None:
            self._encoder = shared_text_encoder(self.config.encoder, self.config.batch_size)
        if not cached:
            return self._encoder.encode(texts)
        if self._cache is None:
            self._cache = EmbeddingCache(self._encoder)
        return self._cache.encode(texts)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        checked, y, classes = check_training_data(texts, labels)
        features = self.embed(checked, cached=self.config.use_cache)
        logger.info("embedding features: %d texts x %d dims", *features.shape)

        self._head, self.temperature_, self.class_bias_ = fit_calibrated_head(
            features, y, len(classes), self.config
        )
        self.classes_ = classes
        return self

    def _logits(self, texts: list[str]) -> np.ndarray:
        assert self._head is not None
        return self._head.logits(self.embed(texts))

    def _write_model(self, folder: Path) -> dict[str, Any]:
        assert self._head is not None
        np.savez(folder / _ARRAYS_FILE, **self._head.to_arrays())
        return {"config": self.config.model_dump(mode="json")}

    @classmethod
    def _read_model(cls, folder: Path, manifest: dict[str, Any]) -> Self:
        model = cls(EmbeddingConfig.from_mapping(manifest["config"]))
        with np.load(folder / _ARRAYS_FILE, allow_pickle=False) as arrays:
            model._head = LinearHead.from_arrays(arrays)
        return model
