"""An items file's tags (`genres`) read as Agora's `|`-joined tag string, however the export
wrote the list.

Exports write a list of tags in several ways: `a|b` (Agora's own), a Parquet list column, a JSON
list (`["a", "b"]`), a Python list as pandas writes one to CSV (`['a', 'b']`), or a string
separated by commas (`a, b`, or the Chinese `a，b` / `a、b`). Read as text, each of these became
one tag (`["finance", "music"]`, or numpy's `['finance' 'music']` for a Parquet list), so a
genre filter never matched and feeds showed the brackets. Lists are read as lists; a column
with no `|` whose values are separated by one of `SEPARATORS` is split there. Every such
decision is a note of the import's report, never silent. Tags lose outer spaces; empty ones and
repeats within an item are dropped.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from data.schemas import GENRES, TAG_SEPARATOR

# Separators of a tag string that has no '|', tried in this order: the most common first.
SEPARATORS = (",", ";", "，", "、", "；")
_LIST_TEXT = re.compile(r"^\s*\[.*\]\s*$", re.DOTALL)


def _joined(tags: Iterable[object]) -> str:
    """`tags` as Agora's tag string: each stripped, empty ones and repeats dropped."""
    seen: dict[str, None] = {}
    for tag in tags:
        text = str(tag).replace(TAG_SEPARATOR, " ").strip()
        if text:
            seen.setdefault(text, None)
    return TAG_SEPARATOR.join(seen)


def _listed(value: str) -> list[object] | None:
    """The list a `[...]` text spells, in JSON or as Python writes it; None if it is none."""
    for parse in (json.loads, ast.literal_eval):
        try:
            parsed = parse(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(parsed, list | tuple) and all(
            isinstance(tag, str | int | float) for tag in parsed
        ):
            return list(parsed)
    return None


def read_tags(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """`values` (one items file's genres column) as `|`-joined tag strings, and the notes that
    say how they were read."""
    notes: list[str] = []
    arrays = values.map(lambda v: isinstance(v, list | tuple | np.ndarray))
    text = values.where(~arrays, "").fillna("").astype(str)
    out = text.copy()
    if arrays.any():
        out[arrays] = values[arrays].map(_joined)
        notes.append(f"{GENRES} read from a list column ({int(arrays.sum()):,} rows)")
    bracketed = ~arrays & text.str.match(_LIST_TEXT)
    if bracketed.any():
        # Each list parsed once: an items file has one row per item, and few are lists.
        parsed = text[bracketed].map(_listed)
        lists = parsed.notna()
        out[parsed.index[lists]] = parsed[lists].map(_joined)
        if lists.any():
            example = text[parsed.index[lists][0]]
            notes.append(
                f"{GENRES} values written as lists (e.g. '{example[:60]}') read as their tags "
                f"({int(lists.sum()):,} rows)"
            )
    plain = ~arrays & out.eq(text) & ~bracketed
    if plain.any() and not text[plain].str.contains(TAG_SEPARATOR, regex=False).any():
        for separator in SEPARATORS:
            split = text[plain].str.contains(separator, regex=False)
            if split.any():
                example = text[plain][split].iloc[0]
                out[plain] = text[plain].str.split(separator, regex=False).map(_joined)
                notes.append(
                    f"{GENRES} has no '{TAG_SEPARATOR}' and is separated by '{separator}' "
                    f"(e.g. '{example[:60]}'): split there ({int(split.sum()):,} rows)"
                )
                break
    rest = ~arrays & out.eq(text)
    out[rest] = text[rest].str.split(TAG_SEPARATOR, regex=False).map(_joined)
    return out, notes
