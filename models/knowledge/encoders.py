"""Which sentence encoder the knowledge base embeds cases and messages with, and its threshold.

Cases and queries must be embedded by the same encoder: the service, `agora kb search` and the
benchmarks pick it by the same name (AGORA_KB_ENCODER, `--encoder`).

- `static-lexical` (default): the static vectors below beside hashed word counts, weighted
  half and half (`lexical`): shared rare words count as well as overall meaning. On CFPB
  narratives it finds cases of the same issue about as often as TF-IDF alone (precision@3 0.320
  against 0.344; static alone 0.223) and, ranked by the query's reason as served, 0.457 against
  0.401 for static; level on Bitext (0.997). About 0.05 ms per message on top of static.
- `static`: all-MiniLM-L6-v2 distilled to static word-piece vectors (`static_encoder`), about
  0.2 ms per message, so similar cases cost `/triage` almost nothing. It reads words, not
  context: a rewording scores close, a paraphrase in other words ("where is my luggage" / "lost
  bag") far less than with the transformer, and it finds fewer cases of the same issue in long
  narratives (bench/kb_retrieval.py).
- `minilm-int8`: the transformer itself as an int8 ONNX graph (`onnx_encoder`), about 3.4 ms per
  tweet on one core: a third of the CPU of a `/triage` with similar cases, which pushed its p99
  to 22-43 ms on 2 cores. Better matches (paraphrases, long narratives) where cores allow.

Each has its own similarity threshold: they put cosines on different scales.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Final

import numpy as np

from features.embeddings import DEFAULT_ENCODER
from models.knowledge.knowledge_base import Encoder
from models.knowledge.lexical import StaticLexicalEncoder
from models.knowledge.onnx_encoder import OnnxSentenceEncoder, ensure_exported
from models.knowledge.static_encoder import static_encoder


class KbEncoder(StrEnum):
    STATIC = "static"
    STATIC_LEXICAL = "static-lexical"
    MINILM_INT8 = "minilm-int8"


DEFAULT_KB_ENCODER: Final = KbEncoder.STATIC_LEXICAL

# Cosine below which a case is not "similar", per encoder (bench/kb_threshold.py measures it):
# the nearest case of 99 % of the held-out queries of bench/kb_retrieval.py's Bitext and CFPB
# splits scores above it, and 99 % of (airline compliment, lost-bag complaint) pairs below it.
# static-lexical, seed 0: nearest-case 1 % quantiles 0.624 / 0.328, unrelated 99 % quantile
# 0.312 (seed 1: 0.605 / 0.336, 0.303); 0.32 keeps 100 % / 99.7 % and lets 0.9 % of unrelated
# pairs through. static: 0.60 / 0.44, unrelated 0.40; MiniLM: 0.70 / 0.53, unrelated 95 % 0.55.
# It cuts off what is unrelated; it does not guarantee the same problem.
MIN_SIMILARITY: Final[Mapping[KbEncoder, float]] = {
    KbEncoder.STATIC: 0.4,
    KbEncoder.STATIC_LEXICAL: 0.32,
    KbEncoder.MINILM_INT8: 0.5,
}


def parse_kb_encoder(value: str, source: str = "the knowledge-base encoder") -> KbEncoder:
    """`value` as an encoder name, or ValueError with a sentence naming the choices."""
    try:
        return KbEncoder(value.strip())
    except ValueError:
        choices = ", ".join(kind.value for kind in KbEncoder)
        raise ValueError(f"{source} must be one of {choices}, got {value!r}") from None


def knowledge_encoder(
    cache_dir: Path, kind: KbEncoder = DEFAULT_KB_ENCODER, name: str = DEFAULT_ENCODER
) -> Encoder:
    """Encoder `kind` of sentence encoder `name`, made once under `cache_dir` and loaded."""
    builders: dict[KbEncoder, Callable[[], Encoder]] = {
        KbEncoder.STATIC: lambda: static_encoder(cache_dir, name),
        KbEncoder.STATIC_LEXICAL: lambda: StaticLexicalEncoder(static_encoder(cache_dir, name)),
        KbEncoder.MINILM_INT8: lambda: OnnxSentenceEncoder(ensure_exported(cache_dir, name)),
    }
    return builders[kind]()


class LazyEncoder:
    """An encoder built on its first use: a service whose knowledge base stays empty never
    distils, exports nor loads one."""

    def __init__(self, build: Callable[[], Encoder]) -> None:
        self._build = build
        self._encoder: Encoder | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        encoder = self._encoder
        if encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = self._build()
                encoder = self._encoder
        return encoder.encode(texts)
