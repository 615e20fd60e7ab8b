"""Emerging terms: words whose share of recent complaint texts rose against a baseline period.

A term counts once per text (document frequency: one ranting message is one text). Terms are
English-style words of three letters or more (stop words dropped) and, for text written without
spaces (Chinese, Japanese: `features.text.CJK_CHARACTERS`), pairs of adjacent characters, the
usual index unit where no word segmenter is at hand: most Chinese words are two characters
("退款" refund, "配送" delivery), and a whole unspaced clause, which is what a word pattern reads,
almost never repeats. Terms are
ranked by the z-score of their weighted log-odds ratio with an informative Dirichlet prior
(Monroe, Colaresi and Quinn 2008, "Fightin' Words"): the prior is the term's share of both
periods together, so a word seen 4 times recently and never before does not outrank a word
whose share tripled over hundreds of texts, as a plain ratio would. A term needs `min_texts`
recent texts. Both samples are bounded by the caller (the store reads at most
`data.store.complaint_counts.MAX_TEXTS` texts per period).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from features.text import CJK_CHARACTERS

# Words of the redaction placeholders and of the social-media medium, never a topic.
PRIOR_WEIGHT = 1000.0  # pseudo-texts of prior: how strongly small counts shrink to the pool
_NOISE = frozenset({"http", "https", "co", "amp", "rt", "redacted", "email", "phone", "url"})
_CJK_RUN = re.compile(f"[{CJK_CHARACTERS}]+")
_WORD = re.compile(r"(?u)\b[^\W\d_]{3,}\b")


def complaint_terms(text: str) -> list[str]:
    """The terms of one text (see the module docstring), lower-cased."""
    text = text.lower()
    terms = [run[i : i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]
    words = _WORD.findall(_CJK_RUN.sub(" ", text))
    return terms + [word for word in words if word not in ENGLISH_STOP_WORDS]


@dataclass(frozen=True)
class EmergingTerm:
    term: str
    recent_texts: int
    baseline_texts: int
    recent_share: float
    baseline_share: float
    score: float  # z-score of the weighted log-odds ratio, recent against baseline


def emerging_terms(
    recent: Sequence[str], baseline: Sequence[str], top: int = 15, min_texts: int = 5
) -> list[EmergingTerm]:
    """The `top` terms rising most from `baseline` texts to `recent` texts."""
    if not recent:
        return []
    vectorizer = CountVectorizer(binary=True, analyzer=complaint_terms, max_features=20000)
    try:
        matrix = vectorizer.fit_transform([*recent, *baseline])
    except ValueError:  # nothing but stop words
        return []
    terms = vectorizer.get_feature_names_out()
    n_recent, n_base = len(recent), len(baseline)
    recent_df = np.asarray(matrix[:n_recent].sum(axis=0)).ravel().astype(float)
    base_df = np.asarray(matrix[n_recent:].sum(axis=0)).ravel().astype(float)
    # Weighted log-odds with an informative Dirichlet prior (the pooled frequencies).
    pooled = recent_df + base_df
    alpha = PRIOR_WEIGHT * pooled / pooled.sum()
    a0 = alpha.sum()
    n_r, n_b = recent_df.sum(), base_df.sum()
    delta = np.log((recent_df + alpha) / (n_r + a0 - recent_df - alpha)) - np.log(
        (base_df + alpha) / (n_b + a0 - base_df - alpha)
    )
    z = delta / np.sqrt(1 / (recent_df + alpha) + 1 / (base_df + alpha))
    keep = [
        i
        for i in np.argsort(-z)
        if z[i] > 0 and recent_df[i] >= min_texts and terms[i] not in _NOISE
    ][:top]
    return [
        EmergingTerm(
            term=str(terms[i]),
            recent_texts=int(recent_df[i]),
            baseline_texts=int(base_df[i]),
            recent_share=float(recent_df[i] / n_recent),
            baseline_share=float(base_df[i] / n_base) if n_base else 0.0,
            score=float(z[i]),
        )
        for i in keep
    ]
