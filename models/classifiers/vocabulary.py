"""Characters a pretrained tokenizer cannot represent, to add as new tokens before fine-tuning.

all-MiniLM-L6-v2 uses bert-base-uncased's WordPiece vocabulary: it has some CJK characters but
maps about two thirds of the characters of Chinese food reviews (and most emoji) to [UNK], which
erases the very words that carry sentiment ("难吃", "慢"). Adding the frequent unknown characters
as tokens, with embeddings learned during fine-tuning, gives the model those words back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any


def unknown_characters(tokenizer: Any, texts: Iterable[str], min_count: int) -> list[str]:
    """Characters of `texts` that `tokenizer` maps to its unknown token, seen >= min_count times.

    Sorted by descending frequency (ties by character) so the new token ids are deterministic.
    """
    counts = Counter(ch for text in texts for ch in text if not ch.isspace())
    unknown_id = tokenizer.unk_token_id
    vocabulary = tokenizer.get_vocab()
    found = []
    for character, count in counts.items():
        if count < min_count:
            continue
        normalised = character.lower()
        if normalised in vocabulary or character in vocabulary:
            continue
        # Not in the vocabulary as a whole token; it may still tokenize (e.g. accented letters
        # are stripped by the normaliser), so ask the tokenizer itself.
        ids = tokenizer(character, add_special_tokens=False)["input_ids"]
        if ids == [unknown_id]:
            found.append((character, count))
    found.sort(key=lambda item: (-item[1], item[0]))
    return [character for character, _ in found]
