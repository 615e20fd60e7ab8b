"""The n-gram encoder of Chinese item texts: its terms, its script share, fit and encode."""

from __future__ import annotations

import numpy as np
import pytest

from features.han_ngrams import (
    HASH_DIMS,
    HanNgramEncoder,
    fit_han_encoder,
    han_ngram_terms,
    han_share,
)


def test_terms_are_han_characters_pairs_and_latin_words() -> None:
    assert han_ngram_terms("猫粮 iPhone15 a") == ["猫", "粮", "猫粮", "iphone15"]


def test_traditional_characters_are_read_as_simplified() -> None:
    assert han_ngram_terms("貓糧") == han_ngram_terms("猫粮")


def test_han_share_counts_texts_by_their_dominant_script() -> None:
    assert han_share(["猫粮推荐", "best cat food", "", "宝宝辅食 Babycare"]) == pytest.approx(2 / 3)
    assert han_share(["", "  "]) == 0.0


def test_a_small_catalog_keeps_every_direction_and_unit_vectors() -> None:
    texts = ["火锅探店", "猫粮推荐", "手机续航", "火锅食谱"]
    encoder = HanNgramEncoder.fit(texts)
    vectors = encoder.encode(texts)
    assert vectors.shape == (4, 4)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 3] > similarity[0, 1]  # the two hotpot posts share 火锅
    assert encoder.encode(["!!!"])[0].tolist() == [0.0] * 4  # no term: no direction


def test_a_large_catalog_is_projected_to_dims() -> None:
    rng = np.random.default_rng(0)
    alphabet = list("猫狗粮砂火锅奶茶手机耳续航宝孩绘本")
    texts = ["".join(rng.choice(alphabet, 8)) for _ in range(60)]
    encoder = HanNgramEncoder.fit(texts, dims=16)
    assert encoder.encode(texts).shape == (60, 16)
    again = HanNgramEncoder.from_arrays(encoder.arrays())
    assert np.array_equal(again.encode(texts[:3]), encoder.encode(texts[:3]))


def test_bad_input_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="no Han character or Latin word"):
        HanNgramEncoder.fit(["！？", "……"])
    with pytest.raises(ValueError, match=f"idf of shape \\({HASH_DIMS},\\)"):
        HanNgramEncoder(np.ones(3), np.ones((2, HASH_DIMS)))


def test_refitting_the_same_catalog_reuses_its_encoder() -> None:
    texts = ["火锅探店", "猫粮推荐", "手机续航"]
    first = fit_han_encoder(texts)
    assert fit_han_encoder(list(texts)) is first  # a tuning trial pays no second SVD
    assert fit_han_encoder([*texts, "宝宝辅食"]) is not first
