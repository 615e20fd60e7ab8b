"""Chinese item text as fitted character n-grams: the content encoder of a Han-script catalog.

all-MiniLM-L6-v2 is an English model: its word-piece vocabulary holds few Han characters, so a
Chinese title reaches it as mostly unknown pieces and unrelated posts look alike. Chinese writes
no spaces, but single characters and pairs of adjacent characters carry most of a short post's
topic ("猫粮" cat food, "续航" battery range, "减脂" fat loss). An item text is read as its Han
characters, its adjacent Han pairs and its Latin words or model numbers ("iphone", "ps5": real
posts mix in brand names), Traditional folded to Simplified (`features.han_variants`), hashed
into `HASH_DIMS` buckets, weighted by TF-IDF (sublinear counts, the catalog's document
frequencies: words every topic uses, "推荐" or "分享", count little) and projected on the
catalog's top `DIMS` singular directions (latent semantic analysis), then scaled to unit length.

The projection keeps vectors as short as MiniLM's (a hashed TF-IDF row is 16,384 wide) so the
embedding recommender's item table, item-item table and HNSW graph stay the size they are for
English; it also brings together posts of one topic that share no pair. A catalog of at most
`DIMS` texts keeps every direction (an exact SVD: cosines between its items are those of the
TF-IDF rows). The fitted arrays (document frequencies and the projection) are the whole encoder:
saved as .npz with the model, so a text query or a newly published item is embedded into the
same space after a reload. Measured figures are in the README ("Chinese catalogs").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Final, Self

import numpy as np
import scipy.sparse as sp

from features.han_variants import fold_traditional
from features.language import script_profile

NAME: Final = "han-ngrams-v1"
HASH_DIMS: Final = 16_384
DIMS: Final = 256
READ_CHARS: Final = 2_000  # item texts are cut at this length by features.item_text too
_HAN_RUN: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_TOKEN: Final = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*")


def han_ngram_terms(text: str) -> list[str]:
    """Han characters, adjacent Han pairs and Latin words (2+ characters), lower-cased."""
    text = fold_traditional(text[:READ_CHARS])
    terms: list[str] = []
    for run in _HAN_RUN.findall(text):
        terms.extend(run)
        terms.extend(run[i : i + 2] for i in range(len(run) - 1))
    terms.extend(word.lower() for word in _LATIN_TOKEN.findall(text) if len(word) > 1)
    return terms


def han_share(texts: Sequence[str]) -> float:
    """The share of non-empty `texts` whose dominant script is Han (0 for no text)."""
    read = [text for text in texts if text.strip()]
    if not read:
        return 0.0
    han = sum(script_profile(text[:READ_CHARS]).dominant == "Han" for text in read)
    return han / len(read)


def _hashed_counts(texts: Sequence[str]) -> sp.csr_matrix:
    from sklearn.feature_extraction.text import HashingVectorizer

    hashing = HashingVectorizer(
        n_features=HASH_DIMS, alternate_sign=False, norm=None, analyzer=han_ngram_terms
    )
    counts = sp.csr_matrix(hashing.transform(list(texts)), dtype=np.float64)
    counts.data = 1.0 + np.log(counts.data)  # sublinear: a repeated word is not a topic
    return counts


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


class HanNgramEncoder:
    """Fitted TF-IDF of `han_ngram_terms`, projected to at most `DIMS` dimensions."""

    name = NAME

    def __init__(self, idf: np.ndarray, components: np.ndarray) -> None:
        if idf.shape != (HASH_DIMS,) or components.ndim != 2 or components.shape[1] != HASH_DIMS:
            raise ValueError(
                f"a {NAME} encoder needs idf of shape ({HASH_DIMS},) and components of shape "
                f"(k, {HASH_DIMS}); got {idf.shape} and {components.shape}"
            )
        self.idf = np.asarray(idf, dtype=np.float32)
        # Kept as (HASH_DIMS, k), contiguous: a query's sparse row times it reads the rows of
        # its few terms, with no per-request copy of the 16 MiB table.
        self._projection = np.ascontiguousarray(np.asarray(components, dtype=np.float32).T)

    @classmethod
    def fit(cls, texts: Sequence[str], dims: int = DIMS, seed: int = 0) -> Self:
        """Document frequencies and the top `dims` directions of `texts` (the catalog's)."""
        if dims < 1:
            raise ValueError(f"dims must be >= 1, got {dims}")
        counts = _hashed_counts(texts)
        if counts.nnz == 0:
            raise ValueError(f"{NAME}: no Han character or Latin word in any of the item texts")
        documents = np.bincount(counts.indices, minlength=HASH_DIMS)
        # smoothed as scikit-learn's TfidfTransformer: a term in every text still counts 1
        idf = (np.log((1.0 + len(texts)) / (1.0 + documents)) + 1.0).astype(np.float32)
        weighted = _tfidf_rows(counts, idf)
        if len(texts) <= dims:  # every direction: exact, and small
            _, _, components = np.linalg.svd(weighted.toarray(), full_matrices=False)
        else:
            from sklearn.utils.extmath import randomized_svd

            # 4 power iterations: as close to the catalog's topics as the default 7 (same-topic
            # precision within 0.001 on a 4,000-post catalog) in about two thirds of the time
            _, _, components = randomized_svd(weighted, dims, n_iter=4, random_state=seed)
        return cls(idf, components.astype(np.float32))

    @property
    def dimension(self) -> int:
        return int(self._projection.shape[1])

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Unit float32 vectors (zero for a text with no Han character or Latin word)."""
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        weighted = _tfidf_rows(_hashed_counts(texts), self.idf).astype(np.float32)
        return _unit_rows(np.asarray(weighted @ self._projection)).astype(np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        """What `from_arrays` needs: pickle-free, for an .npz beside the item vectors."""
        return {"idf": self.idf, "components": self._projection.T}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Self:
        return cls(arrays["idf"], arrays["components"])


def _tfidf_rows(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Rows of `counts` weighted by `idf` and scaled to unit length (an empty row stays 0),
    on the stored values only: a query is a handful of terms, not a 16,384-wide product."""
    weighted = sp.csr_matrix(counts, dtype=np.float64, copy=True)
    weighted.data *= idf[weighted.indices]
    row_of = np.repeat(np.arange(weighted.shape[0]), np.diff(weighted.indptr))
    norms = np.sqrt(np.bincount(row_of, weights=weighted.data**2, minlength=weighted.shape[0]))
    weighted.data /= np.where(norms > 0, norms, 1.0)[row_of]
    return weighted


_LAST_FIT: dict[str, HanNgramEncoder] = {}


def fit_han_encoder(texts: Sequence[str], dims: int = DIMS, seed: int = 0) -> HanNgramEncoder:
    """`HanNgramEncoder.fit`, remembering the last catalog's encoder: tuning refits the content
    model on the same texts once per trial, and each fit is an SVD of the whole catalog."""
    digest = hashlib.sha256(f"{dims}|{seed}|{len(texts)}".encode())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\x00")
    key = digest.hexdigest()
    if key not in _LAST_FIT:
        _LAST_FIT.clear()  # one catalog at a time: the arrays are 16 MiB
        _LAST_FIT[key] = HanNgramEncoder.fit(texts, dims, seed)
    return _LAST_FIT[key]
