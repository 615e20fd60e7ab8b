"""Word counts beside the static vectors: the knowledge base's `static-lexical` encoder.

The static encoder (`static_encoder`) averages word-piece vectors, so a long narrative becomes a
blur of its common words: on CFPB complaint narratives it found fewer cases of the same issue than
plain TF-IDF (precision@3 0.223 against 0.344, bench/kb_retrieval.py). Shared rare words (a
product, a bank's process, "foreclosure", "garnishment") are what TF-IDF sees and averaging loses.
This encoder puts the two side by side in one vector:

    [ sqrt(w) * static(text),  sqrt(1 - w) * words(text) ]

with both halves unit length, so the cosine of two such vectors is w x the static cosine +
(1 - w) x the cosine of their word counts, and the knowledge base's index, cache and thresholds
work on it unchanged. `words` is stateless, so a case's vector never changes as the knowledge
base grows (IDF weights would, and every case would need embedding again): letters-only words of
two or more characters, English stop words dropped, sublinear counts (1 + log n), hashed into
`LEXICAL_DIMS` dimensions (scikit-learn's HashingVectorizer). CFPB's "XX/XX/XXXX" redactions are
not words here.

Measured with bench/kb_retrieval.py (seed 0; precision@3 alone / with the query's reason first):
static 0.223 / 0.401 on CFPB and 0.941 / 0.996 on Bitext; this encoder (w = 0.5, 512
dimensions) 0.320 / 0.457 and 0.963 / 0.997. 1,024 dimensions: 0.332 / 0.460; 256: 0.308 / 0.452;
w = 0.3 at 4,096: 0.347 / 0.468; word pairs added: 0.309 / 0.452. About 0.05 ms per message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol

import numpy as np

LEXICAL_DIMS: Final = 512  # 3 KB a case with the static half; 1,024 found no more (see above)
STATIC_WEIGHT: Final = 0.5  # w: the two halves count alike
FORMAT: Final = 1  # part of the cache key: bump when the words or their weighting change


class DenseEncoder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class WordCounts:
    """Texts as hashed, sublinear, unit-length word counts (see the module docstring)."""

    def __init__(self, dims: int = LEXICAL_DIMS) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        if dims < 1:
            raise ValueError(f"dims must be >= 1, got {dims}")
        self.dims = dims
        self._hashing = HashingVectorizer(
            n_features=dims,
            alternate_sign=False,
            norm=None,
            lowercase=True,
            stop_words="english",
            token_pattern=r"(?u)\b[^\W\d_]{2,}\b",  # letters only: no numbers, no "_"
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        counts = self._hashing.transform([_without_redactions(text) for text in texts])
        counts.data = 1.0 + np.log(counts.data)
        vectors = counts.toarray().astype(np.float32)
        # A text of no word (stop words only, another script) keeps a zero half.
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _without_redactions(text: str) -> str:
    # "XXXX" / "XX/XX/XXXX" stand for removed names and dates in CFPB exports: not words.
    return text.replace("XX", " ").replace("xx", " ")


class StaticLexicalEncoder:
    """A dense sentence encoder's unit vectors beside hashed word counts, weighted to sum."""

    def __init__(
        self, dense: DenseEncoder, weight: float = STATIC_WEIGHT, dims: int = LEXICAL_DIMS
    ) -> None:
        if not 0.0 < weight < 1.0:
            raise ValueError(f"weight must be in (0, 1), got {weight}")
        self.dense = dense
        self.words = WordCounts(dims)
        self.weight = weight
        # An EmbeddingCache key: vectors differ with the dense half, the words and the weight.
        self.name = f"{dense.name}+words{dims}-w{weight:g}-v{FORMAT}"

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        # show_progress: EmbeddingCache's signature; both halves are fast enough to go without.
        dense = np.asarray(self.dense.encode(texts), dtype=np.float32)
        words = self.words.encode(texts)
        return np.hstack([np.sqrt(self.weight) * dense, np.sqrt(1.0 - self.weight) * words])
