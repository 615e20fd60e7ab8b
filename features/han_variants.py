"""Traditional Chinese characters folded to their Simplified forms, one character for one.

A desk in mainland China writes its keywords (报警, 起诉) and labels its tickets in Simplified
characters, while its users in Hong Kong and Taiwan write 報警, 起訴. Text compared character by
character with the other script misses: a Traditional death threat with 報警 in it was triaged
`normal`, where the same words in Simplified were `critical`. Folding both sides to Simplified
before comparing makes the two scripts one.

The table is OpenCC's character table (`TSCharacters.txt`, Apache-2.0, shipped by the
`opencc-python-reimplemented` package), taking each character's first, most common Simplified
form and only one-for-one entries: the folded text has exactly the length of the original, so a
match in it points at the same characters of what the user wrote, and folding costs one
`str.translate` (C speed) rather than OpenCC's phrase segmentation in Python. The price is the
phrases a character table cannot tell apart (乾 is 干 in 乾燥 but stays 乾 in 乾隆): fine for
matching words, which is all it is used for.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

_TABLE_PACKAGE = "opencc"  # the import name of opencc-python-reimplemented
_TABLE_FILE = "dictionary/TSCharacters.txt"


@functools.cache
def _table() -> dict[int, str]:
    """Traditional code point -> its Simplified character (read once, about 4,000 entries)."""
    lines = resources.files(_TABLE_PACKAGE).joinpath(_TABLE_FILE).read_text(encoding="utf-8")
    table: dict[int, str] = {}
    for line in lines.splitlines():
        traditional, _, simplified = line.partition("\t")
        first = simplified.split(" ")[0]
        if len(traditional) == 1 and len(first) == 1 and first != traditional:
            table[ord(traditional)] = first
    return table


# Han characters (the CJK blocks the table's keys lie in): a text without one, English or any
# other script, is returned as it is after one regex scan of plain ranges, far cheaper than
# `translate`'s lookup of every character.
_HAN = re.compile("[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def fold_traditional(text: str) -> str:
    """`text` with each Traditional Chinese character replaced by its Simplified form; every
    other character (Simplified, Latin, digits, punctuation) as it was, at the same position."""
    if _HAN.search(text) is None:
        return text
    return text.translate(_table())
