"""The script-mix encoder: a text's Latin words go to the sentence encoder, its Han characters to
the catalog's n-grams, joined by the text's Han share (a stand-in sentence encoder here)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pytest

from features.script_mix import ScriptMixEncoder, han_weights

CHINESE = ["猫粮和猫砂推荐", "火锅探店分享", "手机续航测评", "猫咪驱虫心得", "烤肉火锅食谱"]
ENGLISH = ["cat food and litter", "hotpot restaurant review", "phone battery life test"]


class WordHashes:
    """A stand-in sentence encoder: unit bag-of-words vectors over 16 hashed buckets; records
    what it was asked to read."""

    def __init__(self, dims: int = 16) -> None:
        self.dims = dims
        self.read: list[str] = []

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        self.read.extend(texts)
        vectors = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                bucket = int(hashlib.sha256(word.encode()).hexdigest(), 16) % self.dims
                vectors[row, bucket] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)


@pytest.fixture()
def fitted() -> tuple[ScriptMixEncoder, WordHashes]:
    sentence = WordHashes()
    encoder = ScriptMixEncoder.fit([*CHINESE, *ENGLISH], sentence, "word-hashes", sentence.dims)
    sentence.read.clear()
    return encoder, sentence


def test_han_weights_count_han_characters_against_latin_words() -> None:
    # "我的bag丢了": four Han characters and one Latin word
    assert han_weights(["猫粮推荐", "cat food", "我的bag丢了", "!!!"]).tolist() == pytest.approx(
        [1.0, 0.0, 0.8, 0.0]
    )


def test_each_script_is_read_by_its_encoder_only(
    fitted: tuple[ScriptMixEncoder, WordHashes],
) -> None:
    encoder, sentence = fitted
    vectors = encoder.encode(["猫粮推荐", "cat food"])
    assert vectors.shape == (2, 16 + encoder.han.dimension)
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
    assert not vectors[0, :16].any() and not vectors[1, 16:].any()
    assert sentence.read == ["cat food"]  # a Chinese text never reaches the sentence encoder


def test_cosines_within_a_language_are_that_languages_encoders(
    fitted: tuple[ScriptMixEncoder, WordHashes],
) -> None:
    encoder, sentence = fitted
    english = encoder.encode(ENGLISH[:2])
    words = sentence.encode(ENGLISH[:2])
    assert english[0] @ english[1] == pytest.approx(words[0] @ words[1], abs=1e-6)
    chinese = encoder.encode(CHINESE[:2])
    ngrams = encoder.han.encode(CHINESE[:2])
    assert chinese[0] @ chinese[1] == pytest.approx(ngrams[0] @ ngrams[1], abs=1e-6)


def test_a_mixed_text_is_weighted_by_its_han_share(
    fitted: tuple[ScriptMixEncoder, WordHashes],
) -> None:
    encoder, _ = fitted
    vector = encoder.encode(["猫粮bag推荐"])[0]  # four Han characters the n-grams know
    assert np.linalg.norm(vector[:16]) ** 2 == pytest.approx(0.2, abs=1e-5)
    assert np.linalg.norm(vector[16:]) ** 2 == pytest.approx(0.8, abs=1e-5)


def test_the_saved_arrays_give_the_same_vectors(
    fitted: tuple[ScriptMixEncoder, WordHashes],
) -> None:
    encoder, sentence = fitted
    again = ScriptMixEncoder.from_arrays(encoder.arrays(), sentence, "word-hashes")
    texts = ["新手猫砂推荐 Nike", "hotpot and noodles"]
    assert np.array_equal(again.encode(texts), encoder.encode(texts))
    assert again.name == encoder.name == "word-hashes+han-ngrams-v1"


def test_a_catalog_without_han_text_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one item text with Han script"):
        ScriptMixEncoder.fit(ENGLISH, WordHashes(), "word-hashes", 16)


def test_a_sentence_encoder_of_another_width_is_refused(
    fitted: tuple[ScriptMixEncoder, WordHashes],
) -> None:
    encoder, _ = fitted
    narrower = encoder.with_sentence(WordHashes(dims=8))
    with pytest.raises(ValueError, match="8-d vectors"):
        narrower.encode(["cat food"])
