"""An import's rows checked a chunk at a time: ids as text, ratings as numbers, timestamps as
epoch seconds, each refused row counted under one reason (`validate_rows`), and how the file's
columns are read, decided from the first chunks that show it and kept for the rest
(`ColumnReading`), with every decision as a note for the import's report.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data import schemas as S
from data.events import ENTITY_ID_LENGTH, ID_CONTROL_CHARACTER
from data.schemas import SCHEMAS, Kind
from data.timestamps import EpochSeconds


@dataclass
class ColumnReading:
    """How a file's columns are read, decided from its first chunks and kept for the rest (the
    timestamp spelling, ids written as whole floats, a decimal comma), and what was decided,
    for the report."""

    timestamps: EpochSeconds = field(default_factory=EpochSeconds)
    id_notes: dict[str, str] = field(default_factory=dict)
    decimal_comma: str | None = None  # the note, once a rating written '4,5' is read
    # Per time column, the first value read as no time: the rejection reason shows it.
    unread_times: dict[str, str] = field(default_factory=dict)

    def no_time_reason(self, column: str, raw: pd.Series, unread: pd.Series) -> str:
        """The reason a row whose `column` value is no time is rejected, naming an example (the
        file's first), so a refusal shows which spelling was not understood."""
        if unread.any():
            self.unread_times.setdefault(column, str(raw[unread].iloc[0])[:_SHOWN_CHARS])
        example = self.unread_times.get(column)
        shown = f" (e.g. '{example}')" if example is not None else ""
        return f"{column} is neither epoch seconds nor a date{shown}"

    @property
    def notes(self) -> list[str]:
        rating = [self.decimal_comma] if self.decimal_comma else []
        return [*self.id_notes.values(), *rating, *self.timestamps.notes]

    def ids(self, column: str, values: pd.Series) -> pd.Series:
        """`values` as id text: outer spaces removed; a column of whole numbers written as floats
        (`115.0`, what a spreadsheet or pandas writes for an integer column with a gap) read as
        the integers, so they match the same ids written `115` in another file."""
        text = values.astype(str).str.strip()
        floats = text.str.contains(".", regex=False)
        if floats.any() and text.str.fullmatch(_INTEGER_OR_WHOLE_FLOAT).all():
            example = text[floats].iloc[0]
            self.id_notes.setdefault(
                column,
                f"{column} values written as whole floats (e.g. '{example}') read as integers",
            )
            text = text.str.replace(_WHOLE_FLOAT_TAIL, "", regex=True)
        return text


_SHOWN_CHARS = 40  # of a value a reason shows
_INTEGER_OR_WHOLE_FLOAT = re.compile(r"-?\d+(\.0+)?")
_WHOLE_FLOAT_TAIL = re.compile(r"\.0+$")
_DECIMAL_COMMA = re.compile(r"-?\d+,\d+")


def validate_rows(
    frame: pd.DataFrame, kind: Kind, reading: ColumnReading | None = None
) -> tuple[pd.DataFrame, Counter[str]]:
    """Split rows into kept and rejected; return the kept frame and rejection reasons counted.

    `reading` carries what earlier chunks of the same file decided (a fresh one by default).
    """
    reading = reading or ColumnReading()
    schema = SCHEMAS[kind]
    bad = np.zeros(len(frame), dtype=bool)
    reasons: Counter[str] = Counter()

    def reject(mask: pd.Series, reason: str) -> None:
        # A row is counted once, under the first reason that rejects it.
        new = mask.to_numpy(dtype=bool) & ~bad
        if new.any():
            reasons[reason] += int(new.sum())
        bad[new] = True

    for column in schema.required:
        text = frame[column].astype(str).str.strip()
        reject(frame[column].isna() | (text == "") | (text == "nan"), f"empty {column}")
    for column in (S.USER_ID, S.ITEM_ID):
        if column in frame and not bad.all():
            # As object first: ids become text, which a number column cannot hold in place.
            ids = frame[column].astype(object)
            ids[~bad] = reading.ids(column, frame.loc[~bad, column])
            frame[column] = ids
    for column in (S.USER_ID, S.ITEM_ID):
        # Ids the service refuses (`data.events.check_identifier`) would be trained on and then
        # be unreachable: /recommend, /similar_items and /events answer 400 for them.
        if column in frame:
            ids = frame[column].astype(str)
            reject(
                ids.str.len() > ENTITY_ID_LENGTH,
                f"{column} longer than {ENTITY_ID_LENGTH} characters, the most the service takes",
            )
            reject(
                ids.str.contains(ID_CONTROL_CHARACTER),
                f"{column} holds a control character (a tab or line break), "
                "which the service refuses in ids",
            )
    if S.RATING in frame:
        # "4,5": a decimal comma, as spreadsheets write in locales that separate CSV by ';'.
        written = frame[S.RATING].astype(str).str.strip()
        commas = written.str.fullmatch(_DECIMAL_COMMA)
        if commas.any() and reading.decimal_comma is None:
            reading.decimal_comma = (
                f"{S.RATING} values with a decimal comma (e.g. '{written[commas].iloc[0]}') "
                "read with ',' as the decimal mark"
            )
        written = written.where(~commas, written.str.replace(",", "."))
        ratings = pd.to_numeric(written.where(frame[S.RATING].notna()), errors="coerce")
        reject(ratings.isna() | ~np.isfinite(ratings.fillna(0)), f"{S.RATING} is not a number")
        frame[S.RATING] = ratings
    if S.TIMESTAMP in frame:
        raw = frame[S.TIMESTAMP]
        blank = raw.isna() | (raw.astype(str).str.strip() == "")
        reject(blank, f"empty {S.TIMESTAMP}")
        stamps = reading.timestamps(raw.where(~blank))
        reason = reading.no_time_reason(S.TIMESTAMP, raw, stamps.isna() & ~blank)
        reject(stamps.isna(), reason)
        frame[S.TIMESTAMP] = stamps
    if S.PUBLISHED_AT in frame:
        # A post without a date is still a post: blank is unknown (0, which no recency filter
        # admits), while a value that is no time at all is refused as a timestamp is.
        raw = frame[S.PUBLISHED_AT]
        blank = raw.isna() | (raw.astype(str).str.strip() == "")
        stamps = reading.timestamps(raw.where(~blank))
        unread = ~blank & stamps.isna()
        reject(unread, reading.no_time_reason(S.PUBLISHED_AT, raw, unread))
        frame[S.PUBLISHED_AT] = stamps.fillna(0)
    kept = frame[~bad].copy()
    for column in (S.TIMESTAMP, S.PUBLISHED_AT):
        if column in kept:
            kept[column] = kept[column].astype("int64")
    return kept, reasons
