"""Importing a user's own files: mapping, validation, rejection counts, loading by name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data import schemas as S
from data.imported import DataImportError, import_file, list_imported, parse_mapping
from data.loaders import load_interactions
from data.schemas import Kind


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_parse_mapping() -> None:
    assert parse_mapping("user_id=userId, item_id=movieId") == {
        S.USER_ID: "userId",
        S.ITEM_ID: "movieId",
    }
    with pytest.raises(DataImportError, match="canonical=source"):
        parse_mapping("user_id")


def test_import_counts_every_rejected_row_with_its_reason(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "ratings.csv",
        "userId,movieId,score,when\n"
        "1,10,4,100\n"
        "1,,3,200\n"  # empty item id
        "2,11,abc,300\n"  # rating not a number
        "3,12,5,2024-01-01\n"  # a date, converted to epoch seconds
        "4,13,2,not-a-date\n",  # bad timestamp
    )
    mapping = parse_mapping("user_id=userId,item_id=movieId,rating=score,timestamp=when")
    report = import_file(path, Kind.INTERACTIONS, mapping, "my-ratings")
    assert (report.rows_read, report.rows_kept, report.rows_rejected) == (5, 2, 3)
    assert report.rejected == {
        "empty item_id": 1,
        "rating is not a number": 1,
        "timestamp is neither epoch seconds nor a date": 1,
    }
    frame = load_interactions("my-ratings")
    assert frame[S.ITEM_ID].tolist() == ["10", "12"]
    assert frame[S.TIMESTAMP].tolist() == [100, 1_704_067_200]
    assert list_imported()["my-ratings"]["kinds"] == ["interactions"]


def test_missing_mapped_column_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", "a,b\n1,2\n")
    with pytest.raises(DataImportError, match="'userId'"):
        import_file(path, Kind.INTERACTIONS, {S.USER_ID: "userId", S.ITEM_ID: "b"}, "x")


def test_unmapped_required_column_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.tsv", "user_id\tother\n1\t2\n")
    with pytest.raises(DataImportError, match="'item_id'"):
        import_file(path, Kind.INTERACTIONS, {}, "x")


def test_parquet_and_labelled_text(tmp_path: Path) -> None:
    path = tmp_path / "texts.parquet"
    pd.DataFrame(
        {"body": ["great app", "  ", "slow delivery"], "y": ["positive", "positive", "negative"]}
    ).to_parquet(path)
    report = import_file(path, Kind.LABELLED_TEXT, {S.TEXT: "body", S.LABEL: "y"}, "texts")
    assert report.rows_kept == 2 and report.rejected == {"empty text": 1}


def test_catalog_names_and_bad_names_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", "user_id,item_id\n1,2\n")
    with pytest.raises(DataImportError, match="catalog"):
        import_file(path, Kind.INTERACTIONS, {}, "movielens-100k")
    with pytest.raises(DataImportError, match="name"):
        import_file(path, Kind.INTERACTIONS, {}, "Bad Name!")
