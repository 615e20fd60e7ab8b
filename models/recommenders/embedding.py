"""Content recommender: sentence embeddings of item text, user profile = mean of their items.

Item vectors come from the sentence encoder over each item's assembled text (title, genres,
description), so every catalog item can be served, including items nobody interacted with yet,
and a free-text query ("space adventure") can be answered directly. The artifact stores the item
vectors and the encoder's name; the encoder itself is loaded only to embed new text.

Which encoder reads the item texts is chosen per catalog at fit (`text_encoder`, default "auto"):
the sentence encoder (all-MiniLM-L6-v2, an English model) when no item text is mostly Han; Han
characters, which it barely reads, are read by `features.han_ngrams` (character n-grams fitted on
the catalog's own texts, saved with the model) when every item text is mostly Han; a catalog
mixing the two is read by both (`script-mix`, `features.script_mix`: each text by the sentence
encoder and the n-grams, weighted by its Han share). Text queries and items published later go
through the same encoder, whatever their own script: one catalog, one vector space. The choice is
logged, recorded in the artifact and described by `text_encoder_note`.

Large catalogs (`ann.min_items`, default 100,000 items): every score is a cosine of unit vectors,
so the norm bound that prunes a factor model's scan prunes nothing here; feeds, similar items and
text queries take their candidates from an HNSW graph over the item vectors instead (built at
training, saved beside the vectors in hnswlib's format) and re-score them exactly, filters and
seen items applied after (`NormOrderedItems` with no scan, `max_scan` 0; measured by
bench/embedding_retrieval.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features.embeddings import (
    DEFAULT_ENCODER,
    EmbeddingCache,
    TextEncoder,
    shared_text_encoder,
)
from features.han_ngrams import HanNgramEncoder, fit_han_encoder, han_share
from features.item_text import assemble_item_texts
from features.script_mix import LazySentence, ScriptMixEncoder
from models.artifacts import load_arrays, save_arrays
from models.errors import NoItemTextError
from models.recommenders.base import Recommender
from models.recommenders.contract import ItemFilter, Recommendation, RecommenderConfig
from models.recommenders.fitted_catalog import FittedCatalog
from models.recommenders.norm_index import NormIndexConfig, NormOrderedItems
from models.recommenders.ranking import check_k

logger = logging.getLogger(__name__)

VECTORS_FILE = "item_vectors.npz"
HAN_ENCODER_FILE = "han_ngram_encoder.npz"
MIX_ENCODER_FILE = "script_mix_encoder.npz"  # its n-gram arrays and its sentence part's width
# "auto" reads a catalog whose item texts are all mostly Han with n-grams, one with none with the
# sentence encoder, and any mix of the two with both (script-mix): on mixed synthetic catalogs
# (bench/mixed_catalog.py) either encoder alone misread the other language's posts at every share.
HAN_CATALOG_SHARE = 1.0
# Item-item cosine table kept for catalogs up to this many items (float64: 32 MiB at 2,048).
MAX_SIMILARITY_ITEMS = 2048
# Unit vectors: no scan before the graph (the norm bound never stops it), and fewer graph
# candidates than a factor model needs (inner product of unit vectors is a metric, which HNSW
# searches well), but a denser graph: item texts of one topic sit close together, and with 16
# links per item recall@10 stayed near 0.97-0.98 at any search width, with 32 at 0.989-0.995,
# with 48 at 0.996-0.999 (bench/embedding_retrieval.py, 100,000 items). A filter admitting
# under a fifth of the catalog scores just those items: the graph would fetch five times the
# candidates, slower than that.
ANN_DEFAULTS = NormIndexConfig(
    max_scan=0,
    graph_m=48,
    graph_ef_construction=200,
    graph_candidates=200,
    graph_ef_search=400,
    exact_below_share=0.2,
)


class EmbeddingConfig(RecommenderConfig):
    """encoder: hub name or local folder (the packaged MiniLM resolves offline).
    profile: "mean" weighs a user's items equally, "rating" by their interaction values.
    use_cache: reuse item embeddings from the on-disk EmbeddingCache.
    ann: when and how a large catalog is searched through an HNSW graph (min_items 0: never).
    text_encoder: "auto" reads a catalog whose item texts are all mostly Han with character
    n-grams, one with none with `encoder`, and a mix with "script-mix": each text by both,
    weighted by its Han share (`features.script_mix`); "sentence", "han-ngrams" and
    "script-mix" force one."""

    encoder: str = DEFAULT_ENCODER
    text_encoder: Literal["auto", "sentence", "han-ngrams", "script-mix"] = "auto"
    profile: Literal["mean", "rating"] = "mean"
    use_cache: bool = True
    ann: NormIndexConfig = ANN_DEFAULTS


class EmbeddingRecommender(Recommender):
    model_type = "embedding"
    takes_encoder = True
    config_class = EmbeddingConfig
    config: EmbeddingConfig
    serves_cold_items = True
    answers_text_queries = True

    def __init__(
        self, config: EmbeddingConfig | None = None, encoder: TextEncoder | None = None
    ) -> None:
        super().__init__(config)
        self._encoder = encoder
        self._han: HanNgramEncoder | None = None  # fitted on this catalog's Han texts
        self._mix: ScriptMixEncoder | None = None  # or MiniLM and n-grams, per text's script
        self.text_encoder_note: str | None = None  # what read the texts and why (not saved)
        self._items_frame: pd.DataFrame | None = None
        self._set_vectors(np.zeros((0, 0), dtype=np.float32))

    @property
    def encoder(self) -> TextEncoder | HanNgramEncoder | ScriptMixEncoder:
        """The encoder the item vectors came from: the catalog's n-grams (alone or joined to the
        sentence encoder) once fitted, else the sentence encoder."""
        if self._mix is not None:
            return self._mix
        if self._han is not None:
            return self._han
        return self._sentence_encoder()

    def _sentence_encoder(self) -> TextEncoder:
        """The sentence encoder (shared, loaded on first use)."""
        if self._encoder is None:
            self._encoder = shared_text_encoder(self.config.encoder)
        return self._encoder

    @property
    def text_encoder_name(self) -> str:
        """The name of the encoder that reads item texts and queries (what MLflow records)."""
        if self._mix is not None:
            return self._mix.name
        return self._han.name if self._han is not None else self.config.encoder

    def fit(self, interactions: pd.DataFrame, items: pd.DataFrame | None = None) -> Self:
        self._items_frame = items  # _fit reads free-text descriptions from it
        try:
            return super().fit(interactions, items)
        finally:
            self._items_frame = None

    def _fit(self, catalog: FittedCatalog) -> None:
        texts = assemble_item_texts(self._items_frame, catalog.items.ids)
        present = [i for i, text in enumerate(texts) if text]
        if not present:
            where = "no items file" if self._items_frame is None else "no item with any text"
            raise NoItemTextError(
                f"the embedding (content) model reads item texts and the dataset has {where}: "
                "import an items file with a title, genres or text column "
                "(agora data import ITEMS.csv --kind items --name DATASET --map item_id=...,"
                "title=...), or train a model that needs none (--model ease or als)"
            )
        read = [texts[i] for i in present]
        self._han, self._mix = None, None
        choice = self._choose_text_encoder(read)
        if choice == "han-ngrams":
            self._han = fit_han_encoder(read)
            encoded = self._han.encode(read)
        elif choice == "script-mix":
            sentence = self._sentence_encoder()
            self._mix = ScriptMixEncoder.fit(
                read, LazySentence(self._sentence_encoder), self.config.encoder, sentence.dimension
            )
            cached = EmbeddingCache(sentence) if self.config.use_cache else sentence
            encoded = self._mix.with_sentence(cached).encode(read)
        elif self.config.use_cache:  # a sentence encoder is slow: reruns reuse its vectors
            encoded = EmbeddingCache(self._sentence_encoder()).encode(read)
        else:
            encoded = self._sentence_encoder().encode(read)
        vectors = np.zeros((len(texts), encoded.shape[1]), dtype=np.float32)
        vectors[present] = encoded
        logger.info(
            "embedded %d item texts (%d items have none)", len(present), len(texts) - len(present)
        )
        self._set_vectors(vectors)

    def _choose_text_encoder(self, texts: list[str]) -> str:
        """Which encoder reads the catalog's texts (see the module docstring); says which and
        why in `text_encoder_note` and the log."""
        configured, share = self.config.text_encoder, han_share(texts)
        choice = configured
        if configured == "auto" and share >= HAN_CATALOG_SHARE:
            choice = "han-ngrams"
        elif configured == "auto":
            choice = "script-mix" if share > 0.0 else "sentence"
        why = f"{_percent(share)} of {len(texts)} item texts are Han script"
        why += f"; text_encoder={configured}"
        if choice == "han-ngrams":
            self.text_encoder_note = f"han-ngrams: character n-grams fitted on the catalog ({why})"
        elif choice == "script-mix":
            self.text_encoder_note = (
                f"script-mix: sentence encoder {self.config.encoder} for Latin script and "
                f"character n-grams fitted on the catalog for Han, by each text's share ({why})"
            )
        else:
            self.text_encoder_note = f"sentence encoder {self.config.encoder} ({why})"
        logger.info("item texts read by %s", self.text_encoder_note)
        return choice

    def _profile_scores(self, rows: sp.csr_matrix) -> np.ndarray:
        """Cosine of every item to each row's profile (the weighted sum of its item vectors).

        Scoring against every item vector reads the whole vector table per request, which
        dominates a feed's cost. A row with fewer items than the vectors have dimensions is
        scored from the item-item table instead (its items' rows of it), when the catalog is
        small enough to keep one. The choice depends on the row alone, so a user scores the
        same alone or in a batch.
        """
        weights = self._profile_weights(rows)
        vectors = self._vectors64
        short = np.diff(weights.indptr) < vectors.shape[1]
        similarity = self._similarity() if short.any() else None
        if similarity is None:
            short[:] = False
        scores = np.empty((weights.shape[0], vectors.shape[0]))
        if not short.all():
            scores[~short] = self._profiles(weights[~short]) @ vectors.T
        if similarity is not None:
            few = weights[short]
            raw = np.asarray(few @ similarity)  # profile · each item, before normalising
            row_of = np.repeat(np.arange(few.shape[0]), np.diff(few.indptr))
            squared = np.bincount(  # |profile|² = Σ_i w_i (profile · item i)
                row_of, weights=few.data * raw[row_of, few.indices], minlength=few.shape[0]
            )
            norms = np.sqrt(np.maximum(squared, 0.0))[:, None]
            scores[short] = raw / np.where(norms > 0, norms, 1.0)
        return scores

    def _profile_weights(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        weights = sp.csr_matrix(rows, dtype=np.float64, copy=True)
        if self.config.profile == "mean":
            weights.data[:] = 1.0
        return weights

    def _profiles(self, weights: sp.csr_matrix) -> np.ndarray:
        """Unit profile vectors (float64) of weighted history rows; zero for an empty row."""
        # Only the rows' items, in float64 (exact from float32): the same sums, in the same
        # order, as against the whole table, which a graph-served catalog never builds.
        items = np.unique(weights.indices)
        used = self.item_vectors[items].astype(np.float64)
        profiles = np.asarray(weights[:, items] @ used)
        norms = np.linalg.norm(profiles, axis=1, keepdims=True)
        return profiles / np.where(norms > 0, norms, 1.0)

    def _similarity(self) -> np.ndarray | None:
        """Item-item dot products (float64); None for large catalogs."""
        return self._item_similarity

    def _set_vectors(self, vectors: np.ndarray, graph: object | None = None) -> None:
        """Install item vectors, their float64 copy, (small catalogs) the item-item table and
        (large ones) the HNSW graph, once at fit or load rather than on a request. `graph`: the
        one saved with the model (else it is built)."""
        self.item_vectors = vectors
        self._vectors64_table: np.ndarray | None = None
        small = 0 < len(vectors) <= MAX_SIMILARITY_ITEMS
        self._item_similarity = self._vectors64 @ self._vectors64.T if small else None
        config = self.config.ann
        self.norm_index = None
        if config.min_items and len(vectors) >= config.min_items:
            every_item = np.arange(len(vectors), dtype=np.int64)  # all usable: text suffices
            self.norm_index = NormOrderedItems(vectors, every_item, config, graph)

    @property
    def _vectors64(self) -> np.ndarray:
        """float64 item vectors, made on first use: a large catalog answered from its graph
        re-scores candidates only and never needs the whole table (8 bytes per dimension)."""
        if self._vectors64_table is None:
            self._vectors64_table = self.item_vectors.astype(np.float64)
        return self._vectors64_table

    # The pruned top-k's hooks (see Recommender._select_pruned), used once norm_index is set.
    def user_queries(self, user_indices: np.ndarray) -> np.ndarray:
        return self.history_queries(self.catalog.history_rows(user_indices))

    def history_queries(self, rows: sp.csr_matrix) -> np.ndarray:
        return self._profiles(self._profile_weights(rows))

    def exact_scores(self, query: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
        if candidates is None:
            return self._vectors64 @ query
        # float32 -> float64 is exact: the same values as rows of `_vectors64`
        return self.item_vectors[candidates].astype(np.float64) @ query

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self._profile_scores(self.catalog.history_rows(user_indices))

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        return self._profile_scores(rows)

    def score_similar(self, item_index: int) -> np.ndarray:
        return self.item_vectors @ self.item_vectors[item_index]

    def score_text(self, query: str) -> np.ndarray:
        """Cosine of every item to the embedded query."""
        return self.item_vectors @ self._text_vector(query)

    def _text_vector(self, query: str) -> np.ndarray:
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        self.require_fitted()  # before loading the encoder
        vector = self.encoder.encode([query.strip()])[0]
        if vector.shape[0] != self.item_vectors.shape[1]:
            raise ValueError(
                f"encoder '{self.encoder.name}' gives {vector.shape[0]}-d vectors but the item "
                f"vectors are {self.item_vectors.shape[1]}-d"
            )
        return vector

    def recommend_for_text(
        self, query: str, k: int = 10, filters: ItemFilter | None = None
    ) -> list[Recommendation]:
        if self.norm_index is None:
            return super().recommend_for_text(query, k, filters)
        return self.recommend_for_vector(self._text_vector(query), k, filters)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.require_fitted()
        vectors = np.asarray(self.encoder.encode(list(texts)), dtype=np.float32)
        if len(texts) and vectors.shape[1] != self.item_vectors.shape[1]:
            raise ValueError(
                f"encoder '{self.encoder.name}' gives {vectors.shape[1]}-d vectors but the item "
                f"vectors are {self.item_vectors.shape[1]}-d"
            )
        return vectors

    def content_vectors(self, item_ids: Sequence[str]) -> np.ndarray:
        indices = self.catalog.items.lookup(item_ids)
        vectors = np.zeros((len(indices), self.item_vectors.shape[1]), dtype=np.float32)
        vectors[indices >= 0] = self.item_vectors[indices[indices >= 0]]
        return vectors

    def text_vector(self, query: str) -> np.ndarray:
        return self._text_vector(query)

    def recommend_for_vector(
        self, vector: np.ndarray, k: int = 10, filters: ItemFilter | None = None
    ) -> list[Recommendation]:
        k = check_k(k)
        query = np.asarray(vector, dtype=np.float64).reshape(-1)
        if query.shape[0] != self.item_vectors.shape[1]:
            raise ValueError(
                f"a {query.shape[0]}-d vector for {self.item_vectors.shape[1]}-d items"
            )
        allowed = self.catalog.allowed_items(filters)
        if self.norm_index is not None:
            return self._select_pruned(query, k, None, allowed)
        return self._select((self._vectors64 @ query)[None, :], k, None, allowed)[0]

    def similar_items(
        self, item_id: str, k: int = 10, filters: ItemFilter | None = None
    ) -> list[Recommendation]:
        if self.norm_index is None:
            return super().similar_items(item_id, k, filters)
        k = check_k(k)
        index = self._usable_item(item_id)
        itself = np.array([index], dtype=np.int64)
        allowed = self.catalog.allowed_items(filters)
        query = self.item_vectors[index].astype(np.float64)
        return self._select_pruned(query, k, itself, allowed)

    def _write(self, folder: Path) -> dict[str, Any]:
        # The manifest names what reads queries and new items ("auto" in the config does not).
        return {**super()._write(folder), "text_encoder": self.text_encoder_name}

    def _save_weights(self, folder: Path) -> None:
        save_arrays(folder / VECTORS_FILE, item_vectors=self.item_vectors)
        if self._han is not None:  # the encoder of queries and new items: part of the model
            save_arrays(folder / HAN_ENCODER_FILE, **self._han.arrays())
        if self._mix is not None:  # its sentence part is the config's `encoder`
            save_arrays(folder / MIX_ENCODER_FILE, **self._mix.arrays())
        if self.norm_index is not None:
            self.norm_index.save_graph(folder)

    def _load_weights(self, folder: Path) -> None:
        vectors = load_arrays(folder / VECTORS_FILE)["item_vectors"].astype(np.float32)
        if (folder / HAN_ENCODER_FILE).exists():
            self._han = HanNgramEncoder.from_arrays(load_arrays(folder / HAN_ENCODER_FILE))
        if (folder / MIX_ENCODER_FILE).exists():
            arrays = load_arrays(folder / MIX_ENCODER_FILE)
            self._mix = ScriptMixEncoder.from_arrays(
                arrays, LazySentence(self._sentence_encoder), self.config.encoder
            )
        graph = NormOrderedItems.load_graph(folder, vectors.shape[1], self.config.ann)
        self._set_vectors(vectors, graph)


def _percent(share: float) -> str:
    """A share as a whole percentage that never reads as none or all when it is neither: the
    choice of encoder turns on exactly that."""
    if 0.0 < share < 0.01:
        return "<1%"
    if 0.99 < share < 1.0:
        return ">99%"
    return f"{share:.0%}"
