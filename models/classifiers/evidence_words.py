"""Character n-gram evidence shown as the word of the text it came from.

A TF-IDF model's strongest features are often character n-grams of the `char_wb` analyzer:
" dela", "ncel", "rude ". Shown to a support agent as evidence they read as noise. Each such
n-gram lies inside one whitespace-separated word of the text (char_wb never crosses a word
boundary; its padding spaces mark a word's start and end), so the evidence names that word as
written ("delayed", "Cancelled"). Chinese and Japanese are written without spaces: there a
"word" is a whole clause, so an n-gram holding such characters is shown as itself.
"""

from __future__ import annotations

import bisect
import re
import string

from features.text import CJK_CHARACTERS

_CJK = re.compile(f"[{CJK_CHARACTERS}]")
# Punctuation a word carries at its ends in running text, not part of what it says.
# A handle's "@" and a hashtag's "#" stay: "@user" and "#fail" say more than "user" and "fail".
_END_PUNCTUATION = string.punctuation.replace("@", "").replace("#", "") + "“”‘’«»…–—¡¿。，！？"
# Shorter Latin grams (" l", "a") sit in too many words to stand for the one they were read in:
# shown as that word, they would credit it with what its letters share with other words.
MIN_GRAM_CHARACTERS = 3


class EvidenceWords:
    """Finds, for character n-grams of one text, the words of the text they lie in."""

    def __init__(self, text: str) -> None:
        self._words = text.split()
        # The words lowercased as the vectorizer read them, each padded by one space as char_wb
        # pads them, side by side: one `find` locates an n-gram and the word it lies in.
        self._lowered = [word.lower() for word in self._words]
        self._joined = " " + " ".join(self._lowered) + " "
        self._starts: list[int] = []
        position = 1
        for word in self._lowered:
            self._starts.append(position)
            position += len(word) + 1

    def word_of(self, gram: str) -> str:
        """The word of the text (as written, outer punctuation dropped) that holds `gram`;
        `gram` itself, without its padding, when it holds CJK characters or is not found;
        "" (no evidence) for a Latin gram shorter than `MIN_GRAM_CHARACTERS`."""
        bare = gram.strip()
        if _CJK.search(bare):
            return bare
        if len(bare) < MIN_GRAM_CHARACTERS:
            return ""
        found = self._joined.find(gram)
        if found < 0:
            return bare
        # The word whose padded span holds the match: the last one starting at or before it
        # (a match that begins with the padding space starts one character earlier).
        at = found + 1 if gram.startswith(" ") else found
        index = bisect.bisect_right(self._starts, at) - 1
        word = self._words[index]
        return word.strip(_END_PUNCTUATION) or word
