"""The static-lexical encoder: stateless word counts beside a dense encoder's vectors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from models.knowledge.lexical import StaticLexicalEncoder, WordCounts


class Dense:
    """A dense encoder with known unit vectors: 'bag' texts along one axis, others along another."""

    name = "fake-dense"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([[1.0, 0.0] if "bag" in t else [0.6, 0.8] for t in texts], np.float32)


def test_words_skip_stop_words_numbers_and_redactions() -> None:
    words = WordCounts(dims=64)
    plain, noisy, empty = words.encode(
        ["garnishment of wages", "XX/XX/XXXX the garnishment of 2023 wages XXXX", "the of 2023"]
    )
    np.testing.assert_allclose(noisy, plain, atol=1e-6)
    assert np.linalg.norm(plain) == pytest.approx(1.0, abs=1e-6)
    assert not empty.any()  # no word at all: a zero half, similar to nothing


def test_repeats_count_sublinearly() -> None:
    words = WordCounts(dims=4096)
    once, many = words.encode(["refund refund refund refund delay", "refund delay"])
    # 1 + log 4 against 1 for "delay": closer to the single mention than raw counts would be.
    assert float(once @ many) > 0.9


def test_the_cosine_is_the_weighted_sum_of_the_two_halves() -> None:
    encoder = StaticLexicalEncoder(Dense(), weight=0.5, dims=256)
    texts = ["my bag was lost in transit", "a lost bag in Denver", "great crew, thanks"]
    fused = encoder.encode(texts)
    dense, words = Dense().encode(texts), WordCounts(256).encode(texts)
    for i, j in ((0, 1), (0, 2), (1, 2)):
        expected = 0.5 * dense[i] @ dense[j] + 0.5 * words[i] @ words[j]
        assert fused[i] @ fused[j] == pytest.approx(float(expected), abs=1e-6)
    assert np.allclose(np.linalg.norm(fused, axis=1), 1.0, atol=1e-6)
    # Stateless: a text's vector does not depend on what else is encoded, or when.
    np.testing.assert_allclose(encoder.encode(texts[:1]), fused[:1], atol=1e-7)


def test_the_name_keys_the_cache_by_every_part_and_the_weight_is_checked() -> None:
    names = {
        StaticLexicalEncoder(Dense(), weight=w, dims=d).name for w in (0.3, 0.5) for d in (256, 512)
    }
    assert len(names) == 4 and all(name.startswith("fake-dense+") for name in names)
    for weight in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="weight"):
            StaticLexicalEncoder(Dense(), weight=weight)
