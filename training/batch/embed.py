"""Item-text embeddings of a whole catalog, batch by batch, on any engine.

Embedding item texts is the costly part of training the embedding recommender (and the hybrid's
content component) on a large catalog: all-MiniLM-L6-v2 reads a few hundred texts a second per
core. `embed_all` spreads the texts over worker processes (each loads the encoder once) and
returns the vectors in the texts' order; `agora batch embed` stores them in the on-disk
`EmbeddingCache` the recommenders read, so a later `agora train recommender --model embedding`
embeds nothing it was given here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from features.embeddings import TextEncoder
from training.batch.engine import EngineSettings, per_second, run_batches, split_batches

logger = logging.getLogger(__name__)

DEFAULT_TEXTS_PER_BATCH = 256


@dataclass(frozen=True)
class EmbedBatchOutcome:
    """One L2-normalised float32 row per text, and how they were computed."""

    vectors: np.ndarray
    processes: int
    seconds: float

    @property
    def texts_per_second(self) -> float:
        return per_second(len(self.vectors), self.seconds)


class EmbedWorker:
    """One worker's sentence encoder, loaded when the worker starts (before the batches are
    timed, as the other batch workers load their models)."""

    def __init__(self, encoder: str) -> None:
        self.encoder = TextEncoder(encoder)
        _ = self.encoder.model

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode(list(texts))


def embed_all(
    texts: Sequence[str],
    encoder: str,
    settings: EngineSettings | None = None,
    texts_per_batch: int = DEFAULT_TEXTS_PER_BATCH,
) -> EmbedBatchOutcome:
    """The vectors of `texts` by `encoder` (a name or a local path every worker can read)."""
    settings = settings or EngineSettings()
    batches = split_batches(list(texts), texts_per_batch)
    run = run_batches(EmbedWorker, (encoder,), batches, settings)
    vectors = (
        np.vstack(run.results) if run.results else np.zeros((0, 0), dtype=np.float32)
    ).astype(np.float32, copy=False)
    logger.info(
        "embedded %d texts on %d %s process(es) in %.1f s",
        len(vectors),
        run.processes,
        settings.engine,
        run.seconds,
    )
    return EmbedBatchOutcome(vectors, run.processes, run.seconds)
