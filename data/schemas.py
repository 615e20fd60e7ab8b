"""Canonical frame schemas: every loader returns one of these, every later layer reads these names.

Column names live here and only here, so a rename is one edit. Identifiers are strings in
canonical frames (MovieLens' integer ids become "196"), because a platform's own ids may be
UUIDs or handles and one id type end to end keeps the id maps simple.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

# Interactions
USER_ID = "user_id"
ITEM_ID = "item_id"
RATING = "rating"  # explicit rating or implicit weight (1.0 for a plain event)
TIMESTAMP = "timestamp"  # seconds since the Unix epoch, int64

# Items
TITLE = "title"
ITEM_TEXT = "text"  # free description; may be empty
GENRES = "genres"  # "|"-joined tags, e.g. "Action|Sci-Fi"; may be empty
PUBLISHED_AT = "published_at"  # when the item was published, epoch seconds; 0: unknown

# Labelled texts
TEXT = "text"
LABEL = "label"
REASON = "reason"  # complaint reason when the source has one, else empty
CATEGORY = "category"  # routing category when the source has one, else empty
LANGUAGE = "language"  # ISO 639-1 code, e.g. "en", "zh"

# The column each triage task's labels are in (the splits in features.text_splits read it; an
# import's --task says which of them a file's labels fill).
TASK_COLUMNS: dict[str, str] = {"sentiment": LABEL, "reason": REASON, "category": CATEGORY}

TAG_SEPARATOR = "|"


class Kind(StrEnum):
    """The three kinds of canonical frame a dataset can provide."""

    INTERACTIONS = "interactions"
    ITEMS = "items"
    LABELLED_TEXT = "labelled-text"


@dataclass(frozen=True)
class FrameSchema:
    """Required and optional columns of one kind of frame, with their pandas dtype family."""

    kind: Kind
    required: dict[str, str]
    optional: dict[str, str]

    @property
    def columns(self) -> list[str]:
        return [*self.required, *self.optional]


SCHEMAS: dict[Kind, FrameSchema] = {
    Kind.INTERACTIONS: FrameSchema(
        Kind.INTERACTIONS,
        required={USER_ID: "str", ITEM_ID: "str"},
        optional={RATING: "float", TIMESTAMP: "int"},
    ),
    Kind.ITEMS: FrameSchema(
        Kind.ITEMS,
        required={ITEM_ID: "str"},
        optional={TITLE: "str", ITEM_TEXT: "str", GENRES: "str", PUBLISHED_AT: "int"},
    ),
    Kind.LABELLED_TEXT: FrameSchema(
        Kind.LABELLED_TEXT,
        required={TEXT: "str", LABEL: "str"},
        optional={REASON: "str", CATEGORY: "str", LANGUAGE: "str"},
    ),
}

# What an optional column holds when the source lacks it.
DEFAULTS: dict[str, object] = {
    RATING: 1.0,
    TIMESTAMP: 0,
    TITLE: "",
    ITEM_TEXT: "",
    GENRES: "",
    PUBLISHED_AT: 0,
    REASON: "",
    CATEGORY: "",
    LANGUAGE: "",
}


class SchemaError(ValueError):
    """A frame does not match its canonical schema."""


def conform(frame: pd.DataFrame, kind: Kind) -> pd.DataFrame:
    """Return `frame` with canonical columns first, defaults filled and dtypes fixed.

    Raises SchemaError naming the first missing required column or an uncastable one.
    Extra columns are kept after the canonical ones (loaders pass source fields through).
    """
    schema = SCHEMAS[kind]
    missing = [c for c in schema.required if c not in frame.columns]
    if missing:
        raise SchemaError(f"{kind} frame lacks required column '{missing[0]}'")
    # A shallow copy: columns are replaced, never written into, so the caller's frame is
    # untouched, and a conformed frame of 20M rows is not copied twice over (about 2 s).
    out = frame.copy(deep=False)
    for column, default in DEFAULTS.items():
        if column in schema.optional and column not in out.columns:
            out[column] = default
    for column, family in {**schema.required, **schema.optional}.items():
        out[column] = _cast(out[column], family, column)
    extra = [c for c in out.columns if c not in schema.columns]
    ordered = [*schema.columns, *extra]
    if list(out.columns) != ordered:
        out = out[ordered]
    if not out.index.equals(pd.RangeIndex(len(out))):
        out = out.reset_index(drop=True)
    return out


def _cast(series: pd.Series, family: str, column: str) -> pd.Series:
    try:
        if family == "str":
            return _as_text(series)
        if family == "float":
            return series.astype("float64")
        if family == "int":
            return series.astype("int64")
    except (TypeError, ValueError) as error:
        raise SchemaError(f"column '{column}' cannot be read as {family}: {error}") from error
    raise AssertionError(f"unknown dtype family {family}")


def _as_text(series: pd.Series) -> pd.Series:
    """Values as strings, missing ones as "". A categorical of string categories (ids read
    dictionary-encoded, `data.id_categories`) stays categorical: its values are already text."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        return series.fillna("").astype(str)
    if pd.api.types.infer_dtype(series.cat.categories, skipna=False) != "string":
        return series.astype(object).fillna("").astype(str)
    if series.isna().any():
        if "" not in series.cat.categories:
            series = series.cat.add_categories([""])
        series = series.fillna("")
    return series


def split_tags(value: str) -> list[str]:
    """Split a "|"-joined tag string; the empty string means no tags."""
    return [tag for tag in value.split(TAG_SEPARATOR) if tag]
