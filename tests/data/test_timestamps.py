"""Timestamp columns refused rather than read centuries away: mixed epoch units and times
outside 1970 .. the end of next year, on tiny files and series the tests build."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from data import schemas as S
from data.imported import DataImportError, import_file, list_imported
from data.loaders import load_interactions
from data.schemas import Kind
from data.timestamps import EpochSeconds, TimestampFormatError

SECONDS = 1_700_000_000  # 2023-11-14


def _interactions(tmp_path: Path, name: str, stamps: list[object]) -> Path:
    path = tmp_path / f"{name}.csv"
    frame = pd.DataFrame({"user_id": [f"u{i}" for i in range(len(stamps))], "item_id": "i"})
    frame.assign(timestamp=stamps).to_csv(path, index=False)
    return path


def test_mixed_epoch_seconds_and_milliseconds_are_refused_with_their_counts(
    tmp_path: Path,
) -> None:
    """Regression: 90 rows in epoch seconds and 10 in milliseconds were all read as seconds
    (the 10 landed in the year 54256) with no note and exit 0."""
    stamps = [SECONDS + i for i in range(90)] + [SECONDS * 1000 + i for i in range(10)]
    path = _interactions(tmp_path, "mixed-units", stamps)
    result = CliRunner().invoke(app, ["data", "import", str(path), "--kind", "interactions"])
    assert result.exit_code == 2, result.output
    assert "timestamp numbers mix units: 90 are sized as epoch seconds (row 1: " in result.output
    assert "10 are sized as epoch milliseconds (row 91: 1700000000000" in result.output
    assert "mixed-units" not in list_imported()


def test_mixed_units_are_found_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("data.table_reader.CHUNK_ROWS", 4)  # the first chunk is all seconds
    stamps = [SECONDS + i for i in range(8)] + [SECONDS * 1000]
    with pytest.raises(DataImportError, match=r"1 are sized as epoch milliseconds \(row 9: "):
        import_file(_interactions(tmp_path, "late", stamps), Kind.INTERACTIONS, {}, "late")


def test_times_outside_1970_to_next_year_are_refused_naming_the_rows(tmp_path: Path) -> None:
    """Regression: a column read in one unit could land rows centuries away silently."""
    next_year = pd.Timestamp.now(tz="UTC").year + 1
    stamps = [SECONDS, 9_000_000_000, f"{next_year + 1}-01-01", -5]
    with pytest.raises(DataImportError) as caught:
        import_file(_interactions(tmp_path, "far", stamps), Kind.INTERACTIONS, {}, "far")
    message = str(caught.value)
    assert message.startswith(f"3 timestamps fall outside 1970..{next_year} (row 2: ")
    assert f"row 3: '{next_year + 1}-01-01' read as the year {next_year + 1}" in message
    assert "row 4: '-5' read as the year 1969" in message


def test_the_epoch_itself_and_next_year_are_kept(tmp_path: Path) -> None:
    next_year = pd.Timestamp.now(tz="UTC").year + 1
    late = f"{next_year}-12-31"
    # 0 is a common "unknown"; it is the epoch in every unit, so it mixes with none.
    path = _interactions(tmp_path, "edges", [0, SECONDS * 1000, late])
    import_file(path, Kind.INTERACTIONS, {}, "edges")
    expected = [0, SECONDS, int(pd.Timestamp(late, tz="UTC").timestamp())]
    assert load_interactions("edges")[S.TIMESTAMP].tolist() == expected


def test_parquet_datetimes_are_range_checked_too() -> None:
    """Regression: a Parquet datetime after 2262 crashed the reading (nanosecond overflow)."""
    reading = EpochSeconds()
    reading(pd.Series(pd.to_datetime(["2022-07-04", "2300-01-01"]).astype("datetime64[s]")))
    with pytest.raises(TimestampFormatError, match="row 2: '2300-01-01 00:00:00'"):
        reading.check()


def test_a_zone_by_name_and_a_12_hour_clock_are_read() -> None:
    """Regression: '2025-03-01 10:00:00 UTC' (BigQuery's export) and '3/1/2025 10:00 PM' (a US
    spreadsheet's) were rejected as no date, so whole files of them were refused."""
    reading = EpochSeconds()
    seconds = reading(
        pd.Series(["2025-03-01 10:00:00 UTC", "2025-03-01T10:00:00+08:00", "2025-03-01"])
    )
    assert seconds.tolist() == [1740823200, 1740794400, 1740787200]
    us = EpochSeconds()
    assert us(pd.Series(["3/1/2025 10:00 PM", "12/31/2025 11:59 AM"])).tolist() == [
        1740866400,
        1767182340,
    ]
    assert us.day_first is False


def test_small_numbers_are_kept_with_a_note_naming_spreadsheet_serial_dates() -> None:
    """Regression: Excel serial dates (45717 = 2025-03-01) were read as epoch seconds, times on
    1970-01-01, without a word."""
    reading = EpochSeconds()
    assert reading(pd.Series(["45717.5", "45718"])).tolist() == [45717.5, 45718.0]
    assert len(reading.notes) == 1 and "serial dates" in reading.notes[0]
    plain = EpochSeconds()
    plain(pd.Series([str(SECONDS), "0"]))
    assert plain.notes == []


def test_a_chinese_spreadsheet_s_long_date_is_read() -> None:
    """Regression: '2025年3月1日 10:00' (Excel's long date on Chinese Windows) was rejected as no
    date, refusing a whole Chinese export."""
    reading = EpochSeconds()
    seconds = reading(pd.Series(["2025年3月1日 10:00", "2025年12月31日", "2025 年 3 月 1 号"]))
    assert seconds.tolist() == [1740823200, 1767139200, 1740787200]


@pytest.mark.parametrize(
    "spelling",
    ["%b %d, %Y %H:%M", "%Y-%m-%d %H:%M:%S UTC", "%a, %d %b %Y %H:%M:%S GMT", "%m/%d/%Y %I:%M %p"],
)
def test_a_column_in_one_spelling_reads_as_the_row_by_row_parser_does(spelling: str) -> None:
    """The guessed-format path (one pass for the column; before, 38 µs a row, 13 minutes for a
    20M-row export) gives the row-by-row parser's answers, a mixed-in spelling included."""
    stamps = pd.date_range("2024-01-01 00:07", periods=300, freq="37h")
    values = [stamp.strftime(spelling) for stamp in stamps]
    values[150] = "November 6, 2024 3:04 PM"  # another spelling in the middle of the column
    values[151] = "no date at all"
    seconds = EpochSeconds()(pd.Series(values))
    expected = [stamp.timestamp() for stamp in stamps.tz_localize("UTC")]
    expected[150], expected[151] = 1730905440, float("nan")
    pd.testing.assert_series_equal(seconds, pd.Series(expected), check_names=False)


def test_the_format_is_guessed_from_several_values_not_the_first_alone() -> None:
    """pandas guesses no format from an afternoon time ('05:07 PM'): a column opening with one
    was parsed row by row (38 µs a row) although its morning rows name the format."""
    from data.timestamps import _guess_format

    column = pd.Series(["2024-06-21 05:07 PM", "2024-06-21 11:40 PM", "2024-06-22 09:15 AM"])
    assert _guess_format(column) == "%Y-%m-%d %I:%M %p"
    assert _guess_format(pd.Series(["no date", "at all"])) is None
