"""Fast baseline: TF-IDF word and character n-grams with a logistic-regression head.

Character n-grams make it language-agnostic: Chinese has no spaces, so the char_wb block's
1-5-grams carry the signal ("难吃", "太慢"), and the word analyzer reads every Han or kana character
as a token (`CJK_TOKEN_PATTERN`), whatever language a text is tagged with, so its bigrams are
character bigrams rather than whole clauses. The artifact is the two vocabularies (JSON), their
idf vectors and the head's arrays (.npz): no pickle, and a loaded model scores in plain
numpy/scipy. `explain` decomposes a prediction into per-term contributions.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
from pydantic import Field, model_validator
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from models.artifacts import read_json, write_json
from models.classifiers.base import (
    ScoredTexts,
    TermWeight,
    TextClassifier,
    check_texts,
    check_training_data,
)
from models.classifiers.calibration import CalibrationConfig
from models.classifiers.evidence_words import EvidenceWords
from models.classifiers.linear import ClassWeight, LinearHead, fit_calibrated_head
from models.classifiers.tfidf_features import (
    CJK_TOKEN_PATTERN,
    FastTfidf,
    display_term,
    supports,
)

logger = logging.getLogger(__name__)

_ARRAYS_FILE = "arrays.npz"


class TfidfConfig(CalibrationConfig):
    """Hyper-parameters of the TF-IDF + logistic-regression classifier."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (1, 5)
    min_df: int = Field(2, ge=1)
    max_features: int = Field(300_000, ge=1, description="per analyzer (word, char)")
    sublinear_tf: bool = True
    c: float = Field(8.0, gt=0, description="inverse regularisation strength of the LR head")
    nb_weighting: bool = Field(
        False,
        description="NB-LR: scale features by each class's naive-Bayes log-count ratio, one "
        "binary LR per class (models/classifiers/linear.py)",
    )
    nb_smoothing: float = Field(1.0, gt=0, description="additive smoothing of the NB ratios")
    class_weight: ClassWeight = "balanced"
    max_iter: int = Field(2000, ge=1)
    calibration_folds: int = Field(
        3, ge=0, description="folds for out-of-fold calibration; 0 or 1 = no calibration"
    )
    seed: int = 42

    @model_validator(mode="after")
    def _check_ranges(self) -> Self:
        for name in ("word_ngrams", "char_ngrams"):
            low, high = getattr(self, name)
            if not 1 <= low <= high:
                raise ValueError(f"{name} must be (min, max) with 1 <= min <= max, got {low, high}")
        return self


def _vectorizer_params(config: TfidfConfig) -> list[dict[str, object]]:
    """Constructor arguments of the word and char vectorizers (JSON-serialisable)."""
    shared = {"sublinear_tf": config.sublinear_tf, "lowercase": True, "dtype": "float32"}
    return [
        {
            "analyzer": "word",
            "ngram_range": list(config.word_ngrams),
            "token_pattern": CJK_TOKEN_PATTERN,
            **shared,
        },
        {"analyzer": "char_wb", "ngram_range": list(config.char_ngrams), **shared},
    ]


def _make_vectorizer(params: dict[str, object], **extra: object) -> TfidfVectorizer:
    kwargs = {**params, **extra}
    kwargs["ngram_range"] = tuple(kwargs["ngram_range"])  # type: ignore[arg-type]
    kwargs["dtype"] = np.dtype(str(kwargs["dtype"]))
    return TfidfVectorizer(**kwargs)  # type: ignore[arg-type]


class TfidfClassifier(TextClassifier):
    """TF-IDF word + char n-grams -> multinomial logistic regression, calibrated."""

    model_type = "tfidf"

    def __init__(self, config: TfidfConfig | None = None) -> None:
        super().__init__()
        self.config = config or TfidfConfig()
        self._vectorizers: list[TfidfVectorizer] = []
        # Global feature index -> term (stripped, as explanations show it) and whether it is a
        # char n-gram; plain lists, since explanations read them one candidate at a time.
        self._terms: list[str] = []
        self._is_char: list[bool] = []
        self._head: LinearHead | None = None
        self._transforms: list[FastTfidf | TfidfVectorizer] = []  # per vectorizer

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        checked, y, classes = check_training_data(texts, labels)
        params = _vectorizer_params(self.config)
        vectorizers = []
        for p in params:
            # min_df may exceed what a tiny training set offers; fall back to 1 rather than fail.
            min_df = self.config.min_df if len(checked) >= 10 * self.config.min_df else 1
            vectorizers.append(
                _make_vectorizer(p, min_df=min_df, max_features=self.config.max_features)
            )
        blocks = []
        for vectorizer in vectorizers:
            try:
                blocks.append(vectorizer.fit_transform(checked))
            except ValueError:  # empty vocabulary (e.g. no word of 2+ chars): skip the analyzer
                blocks.append(None)
        kept = [(v, b) for v, b in zip(vectorizers, blocks, strict=True) if b is not None]
        if not kept:
            raise ValueError("no n-gram features could be extracted from the training texts")
        self._vectorizers = [v for v, _ in kept]
        features = sparse.hstack([b for _, b in kept], format="csr")
        logger.info("tfidf features: %d texts x %d n-grams", *features.shape)

        self._head, self.temperature_, self.class_bias_ = fit_calibrated_head(
            features,
            y,
            len(classes),
            self.config,
            nb_smoothing=self.config.nb_smoothing if self.config.nb_weighting else None,
        )
        self._index_terms()
        self.classes_ = classes
        return self

    def _index_terms(self) -> None:
        """Map global feature indices (word block, then char block) back to terms, and set up
        the fast transform of each vectorizer (`tfidf_features`)."""
        terms: list[str] = []
        is_char: list[bool] = []
        for vectorizer in self._vectorizers:
            by_index = sorted(vectorizer.vocabulary_.items(), key=lambda item: item[1])
            word = vectorizer.analyzer == "word"
            terms.extend(display_term(t) if word else str(t).strip() for t, _ in by_index)
            is_char.extend([not word] * len(by_index))
        self._terms = terms
        self._is_char = is_char
        self._transforms = [FastTfidf(v) if supports(v) else v for v in self._vectorizers]

    def _features(self, texts: list[str]) -> sparse.csr_matrix:
        return sparse.hstack([t.transform(texts) for t in self._transforms], format="csr")

    def _logits(self, texts: list[str]) -> np.ndarray:
        assert self._head is not None
        return self._head.logits(self._features(texts))

    def score(self, texts: Sequence[str]) -> ScoredTexts:
        """Probabilities of `texts`, keeping their feature matrix for `ScoredTexts.explain`."""
        checked = self._checked_for_inference(texts)
        if not checked:
            return ScoredTexts(self, checked, np.zeros((0, len(self.classes_)), dtype=np.float64))
        assert self._head is not None
        features = self._features(checked)
        return ScoredTexts(self, checked, self._calibrated(self._head.logits(features)), features)

    def explain(self, text: str, top_n: int = 5, label: str | None = None) -> list[TermWeight]:
        """Top terms pushing `text` towards `label`.

        Character n-grams overlap one another and the words they come from, so one that lies
        inside an already chosen term, or contains a chosen n-gram, is skipped as a repeat.
        Equal weights keep the feature order (a stable sort), as `explain_batch` does.
        """
        self.require_fitted()
        check_texts([text])
        assert self._head is not None
        class_index = self._check_label(label, text)
        indices, weights = self._head.contributions(self._features([text]), class_index)
        order = np.argsort(-weights, kind="stable")
        positive = order[weights[order] > 0]
        return self._pick_terms(indices[positive], weights[positive], top_n, EvidenceWords(text))

    def _explain_rows(
        self, scored: ScoredTexts, rows: list[int], classes: list[int], top_n: int
    ) -> list[list[TermWeight]]:
        """The batch's explanations from its feature matrix: one sparse product, one sort.

        Every stored entry's weight comes from `LinearHead.batch_contributions`; the positive
        ones are sorted by (row, descending weight) with a stable sort, which orders each row's
        candidates exactly as `explain` does; only the short pick of terms loops per text.
        """
        if not rows:
            return []
        assert self._head is not None and scored.features is not None
        features = sparse.csr_matrix(scored.features[rows])
        weights = self._head.batch_contributions(features, np.asarray(classes))
        row_of = np.repeat(np.arange(len(rows)), np.diff(features.indptr))
        positive = weights > 0
        row_of, weights = row_of[positive], weights[positive]
        columns = features.indices[positive]
        order = np.lexsort((-weights, row_of))
        row_of, weights, columns = row_of[order], weights[order], columns[order]
        bounds = np.searchsorted(row_of, np.arange(len(rows) + 1))
        return [
            self._pick_terms(
                columns[start:stop], weights[start:stop], top_n, EvidenceWords(scored.texts[row])
            )
            for row, (start, stop) in zip(rows, itertools.pairwise(bounds), strict=True)
        ]

    def _pick_terms(
        self, features: np.ndarray, weights: np.ndarray, top_n: int, words: EvidenceWords
    ) -> list[TermWeight]:
        """Up to `top_n` terms from candidates sorted by descending (positive) weight; a
        character n-gram is shown as the word of the text it lies in (`evidence_words`)."""
        chosen: list[TermWeight] = []
        kept_terms: list[str] = []
        for feature, weight in zip(features.tolist(), weights.tolist(), strict=True):
            if len(chosen) >= top_n:
                break
            is_char = self._is_char[feature]
            term = words.word_of(self._terms[feature]) if is_char else self._terms[feature]
            if not term:
                continue
            # Vocabulary terms are lowercased, words are shown as written: compared ignoring case.
            folded = term.casefold()
            if any(folded in kept or (is_char and kept in folded) for kept in kept_terms):
                continue
            kept_terms.append(folded)
            chosen.append(TermWeight(term=term, weight=weight))
        return chosen

    def _write_model(self, folder: Path) -> dict[str, Any]:
        assert self._head is not None
        arrays = self._head.to_arrays()
        vectorizers = []
        for i, vectorizer in enumerate(self._vectorizers):
            params = {
                "analyzer": vectorizer.analyzer,
                "ngram_range": list(vectorizer.ngram_range),
                "sublinear_tf": vectorizer.sublinear_tf,
                "lowercase": vectorizer.lowercase,
                "dtype": np.dtype(vectorizer.dtype).name,
            }
            if vectorizer.analyzer == "word":
                # Saved since CJK characters became tokens; an artifact without it was trained
                # with scikit-learn's default pattern and loads with it.
                params["token_pattern"] = vectorizer.token_pattern
            vocabulary_file = f"vocabulary_{i}.json"
            by_index = sorted(vectorizer.vocabulary_.items(), key=lambda item: item[1])
            write_json(folder / vocabulary_file, [term for term, _ in by_index])
            arrays[f"idf_{i}"] = vectorizer.idf_
            vectorizers.append({"params": params, "vocabulary": vocabulary_file})
        np.savez(folder / _ARRAYS_FILE, **arrays)
        return {"config": self.config.model_dump(mode="json"), "vectorizers": vectorizers}

    @classmethod
    def _read_model(cls, folder: Path, manifest: dict[str, Any]) -> Self:
        model = cls(TfidfConfig.from_mapping(manifest["config"]))
        with np.load(folder / _ARRAYS_FILE, allow_pickle=False) as arrays:
            model._head = LinearHead.from_arrays(arrays)
            for i, entry in enumerate(manifest["vectorizers"]):
                terms = read_json(folder / entry["vocabulary"])
                vectorizer = _make_vectorizer(
                    entry["params"], vocabulary={term: j for j, term in enumerate(terms)}
                )
                vectorizer.idf_ = arrays[f"idf_{i}"]
                model._vectorizers.append(vectorizer)
        model._index_terms()
        return model
