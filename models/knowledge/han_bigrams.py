"""Chinese messages in the knowledge base: hashed character pairs, not the English encoders.

The knowledge base's sentence encoders are English models (see `knowledge_base`): to them a
Chinese message is a string of unknown word pieces, and unrelated Chinese complaints look alike,
so such messages used to get no similar cases at all, which left a Chinese support desk without
the feature. Chinese puts no spaces between words, but two adjacent characters are a good stand-in
for a word ("退款" refund, "到账" credited, "闪退" crashes): the same bag-of-pairs reading
`features.complaint_terms` uses for emerging terms. A Chinese message is its pairs of adjacent Han
characters (a lone character standing between non-Han text counts as itself) plus its Latin words
("app", "vip"), lower-cased, counted sublinearly (1 + log n), hashed into `HAN_DIMS` dimensions
and scaled to unit length. Traditional characters are read as Simplified
(`features.han_variants`): a Hong Kong customer's 帳號被盜 is the same complaint as 账号被盗.
Like `lexical.WordCounts` it is stateless, so a case's vector never changes as the knowledge
base grows, and it costs microseconds: no model to load.

Chinese cases are held in an index of their own (`script_routed`): a cosine between pair counts
and a cosine between English sentence vectors are on different scales, and a Chinese query is
only compared with Chinese cases.

Threshold (`HAN_MIN_SIMILARITY`): on the negative reviews of waimai-10k (one domain, food
delivery, so unrelated pairs share more than across a platform's topics), 99 % of random pairs
of reviews score below 0.20 and 99.9 % below 0.38 (2,048 dimensions, 0.21 / 0.38 at 1,024); a
rewording of one complaint ("充值了会员但是没有到账" / "充值会员没有到账，钱扣了") scores above 0.5.
0.3 keeps rewordings and lets 0.3 % of unrelated same-domain pairs through.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import numpy as np

from features.han_variants import fold_traditional
from features.language import script_profile

HAN_DIMS: Final = 2048
HAN_MIN_SIMILARITY: Final = 0.3
READ_CHARS: Final = 2_000  # as the English encoders' MAX_QUERY_CHARS: more text is only cost
_HAN_RUN: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD: Final = re.compile(r"[A-Za-z]{2,}")


def han_reads(text: str) -> bool:
    """Whether `text` is Chinese for the knowledge base: most of its letters are Han (Japanese,
    whose kana the profile tells apart, is not)."""
    return script_profile(text[:READ_CHARS]).dominant == "Han"


def han_terms(text: str) -> list[str]:
    """The terms a Chinese message is counted by: adjacent Han pairs and Latin words."""
    terms: list[str] = []
    for run in _HAN_RUN.findall(text):
        terms.extend([run[i : i + 2] for i in range(len(run) - 1)] or [run])
    terms.extend(word.lower() for word in _LATIN_WORD.findall(text))
    return terms


class HanBigrams:
    """Texts as unit-length, sublinear, hashed counts of `han_terms` (see the module docstring)."""

    name = f"han-bigrams{HAN_DIMS}-v2"  # v2: Traditional folded to Simplified

    def __init__(self, dims: int = HAN_DIMS) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        if dims < 1:
            raise ValueError(f"dims must be >= 1, got {dims}")
        self._hashing = HashingVectorizer(
            n_features=dims, alternate_sign=False, norm=None, analyzer=han_terms
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        counts = self._hashing.transform([fold_traditional(text[:READ_CHARS]) for text in texts])
        counts.data = 1.0 + np.log(counts.data)
        vectors = counts.toarray().astype(np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
