"""TF-IDF features of a batch with a fixed vocabulary, faster than `TfidfVectorizer.transform`.

Serving vectorises every text it triages, and scikit-learn's transform spends most of its time in
Python: it slices every character n-gram of every text and looks each one up behind a
try/except. Character n-grams of the `char_wb` analyzer never cross a word boundary, so a text's
n-grams are the concatenation of its words' n-grams; this module keeps each word's vocabulary
columns in a bounded cache (words repeat across texts far more than texts do), and looks word
n-grams up without exceptions. The counts are then weighted with the vectorizer's own IDF and
normalised with scikit-learn's own row kernels, in the order its `TfidfTransformer.transform`
applies them, so the matrix is the one `transform` returns (tests compare them entry by entry).
Calling the transformer itself would re-validate the matrix on every call: for the one text of a
`/triage` request that validation cost more than the weighting.

Only the settings this project's TF-IDF model uses take the fast path (`supports`); any other
vectorizer falls back to its own `transform`.

`CJK_TOKEN_PATTERN` is the word analyzer's token pattern: Chinese and Japanese are written without
spaces, so scikit-learn's default pattern takes a whole clause ("送餐太慢了") as one "word" that
rarely repeats. This pattern makes every Han or kana character a token (word bigrams become the
character bigrams that carry Chinese text) and reads other words as the default does, whatever
language the text is tagged with. On text without Han or kana its tokens equal the default's.
Hangul is left to the default: Korean puts spaces between words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.sparsefuncs_fast import (
    inplace_csr_row_normalize_l1,
    inplace_csr_row_normalize_l2,
)

from features.text import CJK_CHARACTERS

_DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_CJK = CJK_CHARACTERS  # Han, kana, bopomofo
CJK_TOKEN_PATTERN = rf"(?u)[{_CJK}]|[^\W{_CJK}]{{2,}}"
# The space scikit-learn puts between the tokens of a word n-gram, where both sides are CJK.
_CJK_GAP = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")
_CACHED_WORDS = 50_000  # per vectorizer (about 10 MiB at most), then the cache starts over
_LONGEST_CACHED_WORD = 40  # chars; longer "words" (unspaced Chinese sentences) rarely repeat


def supports(vectorizer: TfidfVectorizer) -> bool:
    """Whether `vectorizer`'s settings are the ones `FastTfidf` reproduces exactly."""
    return (
        vectorizer.analyzer in ("word", "char_wb")
        and vectorizer.input == "content"
        and vectorizer.preprocessor is None
        and vectorizer.tokenizer is None
        and vectorizer.strip_accents is None
        and vectorizer.stop_words is None
        and vectorizer.token_pattern in (_DEFAULT_TOKEN_PATTERN, CJK_TOKEN_PATTERN)
        and not vectorizer.binary
        and vectorizer.use_idf
        and hasattr(vectorizer, "idf_")
        and vectorizer.norm in (None, "l1", "l2")
    )


def display_term(term: str) -> str:
    """A word n-gram as it reads in the text: "难 吃" (two character tokens) becomes "难吃"."""
    return _CJK_GAP.sub("", term)


class FastTfidf:
    """`vectorizer.transform(texts)`, computed with cached per-word n-gram columns."""

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self.vectorizer = vectorizer
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._low, self._high = vectorizer.ngram_range
        self._lowercase = bool(vectorizer.lowercase)
        self._tokens = re.compile(vectorizer.token_pattern)
        self._idf: np.ndarray = vectorizer.idf_
        self._sublinear = bool(vectorizer.sublinear_tf)
        self._normalise: Callable[[sparse.csr_matrix], None] | None = {
            "l1": inplace_csr_row_normalize_l1,
            "l2": inplace_csr_row_normalize_l2,
        }.get(vectorizer.norm)
        self._word_columns: dict[str, tuple[int, ...]] = {}
        self._columns_of: Callable[[str], list[int]] = (
            self._char_wb_columns if vectorizer.analyzer == "char_wb" else self._word_ngram_columns
        )

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The TF-IDF matrix of `texts` (float dtype, sorted indices), as `transform` gives it."""
        if not texts:
            return sparse.csr_matrix((0, len(self._vocabulary)), dtype=self.vectorizer.dtype)
        columns: list[int] = []
        indptr = [0]
        for text in texts:
            columns.extend(self._columns_of(text.lower() if self._lowercase else text))
            indptr.append(len(columns))
        counts = sparse.csr_matrix(
            (
                np.ones(len(columns), dtype=self.vectorizer.dtype),
                np.asarray(columns, dtype=np.int32),
                np.asarray(indptr, dtype=np.int32),
            ),
            shape=(len(texts), len(self._vocabulary)),
        )
        counts.sum_duplicates()  # repeated n-grams become counts; indices end up sorted
        return self._weighted(counts)

    def _weighted(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """`TfidfTransformer.transform` of `counts`, in place: sublinear TF, IDF, row norm."""
        data = counts.data
        if self._sublinear:
            np.log(data, out=data)
            data += 1.0
        data *= self._idf[counts.indices]
        if self._normalise is not None:
            self._normalise(counts)
        return counts

    def _char_wb_columns(self, text: str) -> list[int]:
        # sklearn collapses whitespace runs, then splits on whitespace: split() alone is the same.
        found: list[int] = []
        cache = self._word_columns
        for word in text.split():
            columns = cache.get(word)
            if columns is None:
                columns = self._padded_word_columns(word)
                if len(word) <= _LONGEST_CACHED_WORD:
                    if len(cache) >= _CACHED_WORDS:
                        cache.clear()  # atomic under the GIL, like the get and set around it
                    cache[word] = columns
            found.extend(columns)
        return found

    def _padded_word_columns(self, word: str) -> tuple[int, ...]:
        """Columns of the n-grams of " word ", in sklearn's `_char_wb_ngrams` multiset."""
        padded = f" {word} "
        length = len(padded)
        if length < self._low:  # sklearn counts a word shorter than every n once, whole
            grams = [padded]
        else:
            grams = [
                padded[i : i + n]
                for n in range(self._low, min(self._high, length) + 1)
                for i in range(length - n + 1)
            ]
        return tuple(column for column in map(self._vocabulary.get, grams) if column is not None)

    def _word_ngram_columns(self, text: str) -> list[int]:
        """Columns of sklearn's word n-grams (tokens, then space-joined runs of n tokens)."""
        tokens = self._tokens.findall(text)
        grams: list[str] = list(tokens) if self._low == 1 else []
        for n in range(max(self._low, 2), min(self._high, len(tokens)) + 1):
            grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return [column for column in map(self._vocabulary.get, grams) if column is not None]
