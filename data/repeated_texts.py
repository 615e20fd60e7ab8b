"""Texts that occur in several rows of a labelled set, and whether their rows agree on the label.

Training learns each text once, from its first row (`features.text_splits`: a copy on both sides
of the split would score the model on what it memorised). A helpdesk export repeats texts
often (a customer sends the same message twice, "在吗？" comes from everyone) and agents label the
copies differently, so some of the file's labels are never learnt. The import and the training
say how many, with one example, instead of choosing silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

_EXAMPLE_CHARS = 40  # of the example text quoted in a note


@dataclass(frozen=True)
class RepeatedTexts:
    repeated_rows: int  # rows whose text an earlier row already has
    conflicting_texts: int  # texts whose rows carry more than one label
    example: tuple[str, str, tuple[str, ...]] | None = None  # text, first label, the others

    def note(self) -> str | None:
        """One sentence for the user, or None when no text repeats."""
        if not self.repeated_rows:
            return None
        said = f"{self.repeated_rows} rows repeat an earlier row's text"
        if not self.conflicting_texts or self.example is None:
            return f"{said}: training learns each text once"
        text, first, others = self.example
        if len(text) > _EXAMPLE_CHARS:
            text = text[:_EXAMPLE_CHARS] + "..."
        return (
            f"{said}, and {self.conflicting_texts} of those texts carry different labels in "
            f"different rows (e.g. '{text}': {first}, also {', '.join(others)}): training "
            "learns each text once, with its first row's label; make the rows agree in the "
            "file to choose"
        )


def repeated_texts(texts: pd.Series, labels: pd.Series) -> RepeatedTexts:
    """How many rows repeat a text and how many texts disagree on their label (one pass of
    grouping by text, so its cost grows with the rows, not with their square)."""
    texts = texts.reset_index(drop=True)
    labels = labels.astype(str).reset_index(drop=True)
    repeated = int(texts.duplicated().sum())
    if not repeated:
        return RepeatedTexts(0, 0)
    first = labels.groupby(texts, sort=False).transform("first")
    differs = labels != first
    conflicting = int(texts[differs].nunique())
    if not conflicting:
        return RepeatedTexts(repeated, 0)
    text = str(texts[differs].iloc[0])
    same = texts == text
    others = tuple(dict.fromkeys(labels[same & differs]))
    return RepeatedTexts(repeated, conflicting, (text, str(first[same].iloc[0]), others))
