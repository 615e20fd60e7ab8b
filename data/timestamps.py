"""Epoch seconds from a user's timestamp column, whatever way their export spells time.

A file is imported a chunk at a time (`data.imported`), and a column's spelling is a property
of the file, so `EpochSeconds` decides once, from the first chunk that shows it, and applies
the same reading to every later chunk:

- datetime columns (Parquet, Arrow) are converted from their own unit;
- numbers are epoch seconds, milliseconds, microseconds or nanoseconds, told apart by size
  (1e11 seconds is the year 5138, 1e11 milliseconds is 1973);
- dates written with the year first are read as ISO 8601 (`2025年3月1日` as `2025-3-1`);
- dates written `04/07/2022` are day-first or month-first as the column's values show (a day
  above 12 settles it); a column where no value settles it is refused rather than guessed;
- anything else (`Jul 4, 2022`) is read by pandas' own parser, which needs no order.

Each decision is recorded in `notes`, which the import reports, so a reading is never silent.
Two readings are refused once the whole column is read (`check`), because each would otherwise
land rows centuries away: numbers whose sizes say different units (an export that switched from
seconds to milliseconds part-way), and any time before 1970 or after the end of next year.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

# `_guess_format` looks at this many distinct values among this many first rows of a column.
_GUESSES: Final = 20
_GUESS_ROWS: Final = 1_000
# Median absolute value at or above which numbers are read in the finer unit (see above).
_UNIT_THRESHOLDS: Final = ((1e17, "ns"), (1e14, "us"), (1e11, "ms"))
_SCALES: Final = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_YEAR_FIRST = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}")
_HAN_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?![\d])(.*)$")
_EPOCH = pd.Timestamp(0, tz="UTC")
_SHOWN_ROWS = 3  # offending rows a refusal names


class TimestampFormatError(ValueError):
    """The column's dates can be read more than one way; the message says how to settle it."""


@dataclass
class EpochSeconds:
    """Reads a timestamp column a chunk at a time (float epoch seconds, NaN where unreadable)."""

    unit: str | None = None  # for numbers: "s", "ms", "us" or "ns", once decided
    day_first: bool | None = None  # for dd/mm-or-mm/dd dates, once decided
    notes: list[str] = field(default_factory=list)
    # For `check`: numbers per the unit their own size says, the rows of each unit (a few)
    # with an example value, and the rows read outside the plausible years.
    units_seen: Counter[str] = field(default_factory=Counter)
    unit_rows: dict[str, list[str]] = field(default_factory=dict)
    out_of_range: int = 0
    out_of_range_rows: list[str] = field(default_factory=list)

    def __call__(self, values: pd.Series) -> pd.Series:
        """Epoch seconds of `values`; the index labels are the rows a refusal names."""
        if pd.api.types.is_datetime64_any_dtype(values):
            return self._in_range(values, _datetime_seconds(values))
        numeric = pd.to_numeric(values, errors="coerce")
        seconds = self._scaled(numeric)
        text = values.where(numeric.isna())
        text = text[text.notna()].astype(str).str.strip()
        text = text[text != ""]
        if len(text):
            seconds.loc[text.index] = self._dates(text)
        return self._in_range(values, seconds)

    def check(self) -> None:
        """Refuse the column (TimestampFormatError) when its numbers mix units or a time falls
        outside 1970 .. the end of next year; call once every chunk has been read."""
        if len(self.units_seen) > 1:
            counts = " and ".join(
                f"{n:,} are sized as epoch {_UNIT_WORDS[unit]} ({', '.join(self.unit_rows[unit])})"
                for unit, n in self.units_seen.most_common()
            )
            raise TimestampFormatError(
                f"timestamp numbers mix units: {counts}; re-export the column in one unit"
            )
        if self.out_of_range:
            first, last = _plausible_years()
            raise TimestampFormatError(
                f"{self.out_of_range:,} timestamps fall outside {first}..{last} "
                f"({', '.join(self.out_of_range_rows)}); correct or remove those rows"
            )

    def _in_range(self, values: pd.Series, seconds: pd.Series) -> pd.Series:
        low, high = _plausible_seconds()
        outside = seconds.notna() & ((seconds < low) | (seconds >= high))
        if outside.any():
            self.out_of_range += int(outside.sum())
            for row in seconds.index[outside][: _SHOWN_ROWS - len(self.out_of_range_rows)]:
                self.out_of_range_rows.append(
                    f"{_row_name(row)}: '{values[row]}' read as the year {_year(seconds[row])}"
                )
        return seconds

    def _scaled(self, numeric: pd.Series) -> pd.Series:
        found = numeric.dropna()
        if len(found) and self.unit is None:
            typical = float(np.median(np.abs(found.to_numpy(dtype=np.float64))))
            self.unit = next((u for limit, u in _UNIT_THRESHOLDS if typical >= limit), "s")
            if self.unit != "s":
                self.notes.append(
                    f"timestamp numbers read as epoch {_UNIT_NAMES[self.unit]} "
                    f"(typical value {typical:.4g})"
                )
            elif 0 < typical < _SMALL_SECONDS:
                self.notes.append(
                    f"timestamp numbers are small (typical value {typical:.4g}): read as epoch "
                    "seconds they are times before March 1973, kept so (they still order the "
                    "events); if they are a spreadsheet's serial dates (days since 1899-12-30: "
                    "45717 is 2025-03-01), export the column formatted as dates"
                )
        self._count_units(found)
        seconds = numeric.astype(np.float64)
        scale = _SCALES[self.unit or "s"]
        return seconds // scale if scale != 1 else seconds

    def _count_units(self, found: pd.Series) -> None:
        """Count the numbers by the unit their own size says (0, the epoch in any unit, aside)."""
        size = np.abs(found.to_numpy(dtype=np.float64))
        units = np.select(
            [size >= limit for limit, _ in _UNIT_THRESHOLDS],
            [unit for _, unit in _UNIT_THRESHOLDS],
            default="s",
        )
        for unit in np.unique(units[size != 0]):
            rows = found.index[(units == unit) & (size != 0)]
            self.units_seen[str(unit)] += len(rows)
            shown = self.unit_rows.setdefault(str(unit), [])
            for row in rows[: _SHOWN_ROWS - len(shown)]:
                shown.append(f"{_row_name(row)}: {found[row]:.0f}")

    def _dates(self, text: pd.Series) -> pd.Series:
        out = pd.Series(np.nan, index=text.index, dtype=np.float64)
        # '2025年3月1日 10:00' (a Chinese spreadsheet's long date) is year first: written as ISO.
        text = text.str.replace(_HAN_DATE, r"\1-\2-\3", regex=True)
        year_first = text.str.match(_YEAR_FIRST)
        if year_first.any():
            out[year_first] = _datetime_seconds(_year_first_dates(text[year_first]))
        parts = text[~year_first].str.extract(_NUMERIC_DATE)
        numbered = parts[0].notna()
        if numbered.any():
            out[numbered[numbered].index] = self._ordered_dates(parts[numbered])
        rest = text[~year_first][~numbered]
        if len(rest):
            out[rest.index] = _datetime_seconds(_written_dates(rest))
        return out

    def _ordered_dates(self, parts: pd.DataFrame) -> pd.Series:
        first, second = parts[0].astype(int), parts[1].astype(int)
        if self.day_first is None:
            days_first, months_first = int((first > 12).sum()), int((second > 12).sum())
            if days_first == months_first == 0:
                example = "/".join(parts.iloc[0, :3])
                raise TimestampFormatError(
                    f"timestamp dates such as '{example}' read both day-first and month-first, "
                    "and none of the first rows settles which (no day above 12); re-export them "
                    "as YYYY-MM-DD dates or epoch seconds"
                )
            self.day_first = days_first >= months_first
            order = "day first (DD/MM/YYYY)" if self.day_first else "month first (MM/DD/YYYY)"
            self.notes.append(f"timestamp dates read {order}, as the column's values show")
        day, month = (first, second) if self.day_first else (second, first)
        year = parts[2].astype(int)
        year = year.where(parts[2].str.len() == 4, np.where(year < 70, 2000 + year, 1900 + year))
        iso = (
            year.astype(str).str.zfill(4)
            + "-"
            + month.astype(str).str.zfill(2)
            + "-"
            + day.astype(str).str.zfill(2)
            + parts[3].fillna("").str.rstrip()
        )
        # A month above 12 (a row written the other way round) fails here and is rejected.
        return _datetime_seconds(_year_first_dates(iso))


# Epoch seconds below this (1973-03-03) are said: a spreadsheet's serial dates (45717 for
# 2025-03-01) read as seconds land on 1970-01-01 and pass the range check unnoticed.
_SMALL_SECONDS: Final = 1e8


def _year_first_dates(text: pd.Series) -> pd.Series:
    """Dates written year first: ISO 8601 (exact and fast), and what it cannot read by pandas'
    own parser, which keeps the written order: a zone by name ('2025-03-01 10:00:00 UTC', as
    BigQuery exports it) or a 12-hour clock ('2025-03-01 10:00 PM', made from '3/1/2025 10:00
    PM'). Before, both were rejected as no date at all."""
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    unread = parsed.isna()
    return _with_retried(parsed, _written_dates(text[unread])) if unread.any() else parsed


def _guess_format(text: pd.Series) -> str | None:
    """The strptime format that reads most of the column's first rows, among those pandas guesses
    from a few of their distinct values (None: no guess). One value is not enough: pandas
    guesses nothing from '2024-06-21 05:07 PM' (any afternoon hour but 12), only from morning
    times."""
    head = text.iloc[:_GUESS_ROWS]
    guesses = {guess_datetime_format(str(v)) for v in head.drop_duplicates().iloc[:_GUESSES]}
    formats = sorted(guess for guess in guesses if guess is not None)
    if len(formats) <= 1:
        return formats[0] if formats else None

    return max(formats, key=lambda spelling: int(_read_dates(head, spelling).notna().sum()))


def _written_dates(text: pd.Series) -> pd.Series:
    """Dates in a spelling ISO 8601 does not cover ('Nov 06, 2024 11:28', '2024-11-06 11:28 AM',
    '... UTC'), as UTC datetimes (NaT where unreadable).

    pandas' "mixed" parser reads each value on its own, about 38 µs a row (13 minutes for a
    20M-row export). A column is almost always written one way, so the format guessed from its
    first rows (`_guess_format`) reads the whole column at once; only the rows it cannot read
    (another spelling) go to the row-by-row parser, so the answers are the mixed parser's.
    """
    guessed = _guess_format(text)
    if guessed is None:
        return _read_dates(text, "mixed")
    parsed = _read_dates(text, guessed)
    unread = parsed.isna()
    return _with_retried(parsed, _read_dates(text[unread], "mixed")) if unread.any() else parsed


def _read_dates(text: pd.Series, spelling: str) -> pd.Series:
    """`text` read with the strptime format, "ISO8601" or "mixed" `spelling`, as UTC (NaT where
    unreadable). pandas' warnings (a %Z format read as UTC, "mixed" parsing one by one) are
    about choices made here on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return pd.to_datetime(text, format=spelling, errors="coerce", utc=True)


def _with_retried(parsed: pd.Series, retried: pd.Series) -> pd.Series:
    """`parsed` with the rows of `retried` (read again another way) put in at their index."""
    parsed = parsed.astype(retried.dtype) if len(retried) else parsed
    parsed.loc[retried.index] = retried
    return parsed


_UNIT_NAMES: Final = {"ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_UNIT_WORDS: Final = {"s": "seconds", **_UNIT_NAMES}


def _plausible_years() -> tuple[int, int]:
    """The years an interaction can have happened in: the Unix epoch (0 is a common "unknown")
    to the end of next year (clocks and time zones run a little ahead, never by years)."""
    return 1970, pd.Timestamp.now(tz="UTC").year + 1


def _plausible_seconds() -> tuple[float, float]:
    """`_plausible_years` as epoch seconds: [start of the first year, start of the year after)."""
    first, last = _plausible_years()
    start, end = (pd.Timestamp(year=y, month=1, day=1, tz="UTC") for y in (first, last + 1))
    return start.timestamp(), end.timestamp()


def _year(seconds: float) -> int:
    """The year of epoch `seconds`, also beyond pandas' datetimes (years 1677..2262)."""
    try:
        return pd.Timestamp(seconds, unit="s").year
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        return int(1970 + seconds // _SECONDS_PER_YEAR)


_SECONDS_PER_YEAR: Final = 31_556_952  # the Gregorian calendar's mean year


def _row_name(row: object) -> str:
    """A row as a refusal names it: the caller's index label is the 0-based data row."""
    return f"row {row + 1}" if isinstance(row, (int, np.integer)) else f"row {row}"


def _datetime_seconds(values: pd.Series) -> pd.Series:
    """Whole epoch seconds of a datetime series (naive values are UTC), NaN for NaT."""
    if values.dt.tz is None:
        values = values.dt.tz_localize("UTC")
    # The epoch in the values' own unit: in nanoseconds a Parquet date after 2262 overflows.
    seconds = (values - _EPOCH.as_unit(values.dt.unit)) // pd.Timedelta(seconds=1)
    return seconds.astype(np.float64)
