"""One text per item for the content (embedding) recommender: title, genres, free text.

The sentence encoder reads prose better than pipe-joined tags, so genres become a short phrase
("Genres: Action, Sci-Fi (science fiction)."). A few tag spellings that encoders know poorly are
spelled out next to the tag; the tag itself stays so exact-word queries still match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from data import schemas as S

# Spelled-out forms of common catalog tags (kept beside the tag, never replacing it).
TAG_GLOSSES: Mapping[str, str] = {
    "Sci-Fi": "science fiction",
    "Film-Noir": "film noir, dark crime drama",
    "Children's": "children, family",
    "Doc": "documentary",
}


def item_text(
    title: str = "",
    genres: str = "",
    text: str = "",
    glosses: Mapping[str, str] = TAG_GLOSSES,
    max_chars: int = 2000,
) -> str:
    """Readable description of one item; empty when the item has no title, genres or text."""
    parts: list[str] = []
    if title.strip():
        parts.append(title.strip().rstrip(".") + ".")
    tags = S.split_tags(genres)
    if tags:
        spelled = [f"{tag} ({glosses[tag]})" if tag in glosses else tag for tag in tags]
        parts.append("Genres: " + ", ".join(spelled) + ".")
    if text.strip():
        parts.append(text.strip())
    return " ".join(parts)[:max_chars]


def assemble_item_texts(
    items: pd.DataFrame | None,
    item_ids: Sequence[str],
    glosses: Mapping[str, str] = TAG_GLOSSES,
    max_chars: int = 2000,
) -> list[str]:
    """Texts for `item_ids` in that order, from a canonical items frame.

    Items missing from the frame (or a missing frame) get "" — the caller decides what an item
    without content means (the embedding model gives it a zero vector).
    """
    if items is None or len(items) == 0:
        return ["" for _ in item_ids]
    if S.ITEM_ID not in items.columns:
        raise ValueError(f"items frame lacks required column '{S.ITEM_ID}'")
    frame = items.drop_duplicates(S.ITEM_ID, keep="last").set_index(S.ITEM_ID)
    frame = frame.reindex([str(item_id) for item_id in item_ids])

    def column(name: str) -> list[str]:
        if name not in frame.columns:
            return ["" for _ in item_ids]
        return frame[name].fillna("").astype(str).tolist()

    return [
        item_text(title, genres, text, glosses=glosses, max_chars=max_chars)
        for title, genres, text in zip(
            column(S.TITLE), column(S.GENRES), column(S.ITEM_TEXT), strict=True
        )
    ]
