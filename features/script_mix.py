"""Item text of a catalog mixing Chinese and English: each script read by an encoder that reads it.

A sentence encoder such as all-MiniLM-L6-v2 reads English but barely any Han character; the
catalog's character n-grams (`features.han_ngrams`) read Chinese. One encoder for a whole mixed
catalog misreads one of its languages, so this one joins both: a text's vector is its sentence
vector scaled by sqrt(1 - h) followed by its n-gram vector scaled by sqrt(h), where h is the Han
share of the text's script units (`features.language.script_profile`: one unit per Han character,
one per Latin word). Both parts are unit vectors, so the joined vector is too, and the cosine of
two texts is (1-h_a)^½(1-h_b)^½ × their sentence cosine + h_a^½ h_b^½ × their n-gram cosine: two
English posts compare as MiniLM compares them, two Chinese posts as the n-grams do, a Chinese
title with an English brand mostly by its n-grams. A Chinese and an English post are compared by
little but the brand names both carry: neither encoder relates the two languages' words.

The n-grams are fitted on the texts they read (h > 0); a text with h = 0 skips them, one with
h = 1 skips the sentence encoder (so a Chinese query loads no MiniLM). Saved pickle-free as the
n-gram arrays plus the sentence part's width; the sentence encoder is named in the model's config.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, Self

import numpy as np

from features.han_ngrams import READ_CHARS, HanNgramEncoder, fit_han_encoder
from features.language import script_profile


class SentenceReader(Protocol):
    """What the sentence part needs: unit float32 vectors of texts (an encoder or its cache)."""

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray: ...


class LazySentence:
    """A sentence encoder made on its first text: a model answering a Chinese query, or serving
    Chinese items only, never loads MiniLM."""

    def __init__(self, load: Callable[[], SentenceReader]) -> None:
        self._load = load

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        return self._load().encode(texts, show_progress=show_progress)


def han_weights(texts: Sequence[str]) -> np.ndarray:
    """The Han share of each text's script units (0 for a text with none)."""
    return np.array(
        [script_profile(text[:READ_CHARS]).shares.get("Han", 0.0) for text in texts],
        dtype=np.float64,
    )


class ScriptMixEncoder:
    """Sentence vectors and fitted Han n-gram vectors, joined by each text's Han share."""

    def __init__(
        self, sentence: SentenceReader, sentence_name: str, sentence_dims: int, han: HanNgramEncoder
    ) -> None:
        if sentence_dims < 1:
            raise ValueError(f"sentence_dims must be >= 1, got {sentence_dims}")
        self.sentence, self.sentence_name, self.sentence_dims = (
            sentence,
            sentence_name,
            sentence_dims,
        )
        self.han = han

    @classmethod
    def fit(
        cls, texts: Sequence[str], sentence: SentenceReader, sentence_name: str, sentence_dims: int
    ) -> Self:
        """The n-grams fitted on the texts they will read (any Han character in them)."""
        han_texts = [text for text, h in zip(texts, han_weights(texts), strict=True) if h > 0]
        if not han_texts:
            raise ValueError("a script-mix encoder needs at least one item text with Han script")
        return cls(sentence, sentence_name, sentence_dims, fit_han_encoder(han_texts))

    @property
    def name(self) -> str:
        return f"{self.sentence_name}+{self.han.name}"

    @property
    def dimension(self) -> int:
        return self.sentence_dims + self.han.dimension

    def with_sentence(self, sentence: SentenceReader) -> ScriptMixEncoder:
        """The same encoder reading its sentence part through `sentence` (e.g. a cache of it)."""
        return ScriptMixEncoder(sentence, self.sentence_name, self.sentence_dims, self.han)

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Unit float32 vectors of `texts`, `dimension` wide (see the module docstring)."""
        texts = list(texts)
        h = han_weights(texts)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        latin = np.flatnonzero(h < 1.0)
        if len(latin):
            read = self.sentence.encode([texts[i] for i in latin], show_progress=show_progress)
            if read.shape[1] != self.sentence_dims:
                raise ValueError(
                    f"sentence encoder '{self.sentence_name}' gives {read.shape[1]}-d vectors, "
                    f"this script-mix encoder was fitted with {self.sentence_dims}-d ones"
                )
            vectors[latin, : self.sentence_dims] = read * np.sqrt(1.0 - h[latin])[:, None]
        han = np.flatnonzero(h > 0.0)
        if len(han):
            read = self.han.encode([texts[i] for i in han])
            vectors[han, self.sentence_dims :] = read * np.sqrt(h[han])[:, None]
        return vectors

    def arrays(self) -> dict[str, np.ndarray]:
        """What `from_arrays` needs besides the sentence encoder: pickle-free, for an .npz."""
        return {**self.han.arrays(), "sentence_dims": np.array(self.sentence_dims)}

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], sentence: SentenceReader, sentence_name: str
    ) -> Self:
        han = HanNgramEncoder.from_arrays({k: v for k, v in arrays.items() if k != "sentence_dims"})
        return cls(sentence, sentence_name, int(arrays["sentence_dims"]), han)
