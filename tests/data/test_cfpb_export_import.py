"""Importing the full CFPB export: only the mapped columns read, in chunks, rows without a
narrative rejected and counted, the same dataset whatever the chunk size."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

import data.imported as imported_module
import data.table_reader as table_reader
from data import schemas as S
from data.imported import DataImportError, import_file
from data.labelled_import import LabelledTextOptions
from data.loaders import load_labelled_texts
from data.schemas import Kind
from data.table_reader import TableReadError, read_chunks, table_columns

# The column layout of complaints.csv as consumerfinance.gov publishes it.
EXPORT_COLUMNS = [
    "Date received",
    "Product",
    "Sub-product",
    "Issue",
    "Sub-issue",
    "Consumer complaint narrative",
    "Company public response",
    "Company",
    "State",
    "ZIP code",
    "Tags",
    "Consumer consent provided?",
    "Submitted via",
    "Date sent to company",
    "Company response to consumer",
    "Timely response?",
    "Consumer disputed?",
    "Complaint ID",
]
PRODUCTS = [
    (
        "Credit reporting, credit repair services, or other personal consumer reports",
        "Incorrect information on your report",
    ),
    ("Debt collection", "Attempts to collect debt not owed"),
    ("Mortgage", "Struggling to pay mortgage"),
    ("Checking or savings account", "Managing an account"),
]
ROWS = 300
CHUNK = 64  # 300 rows: four full chunks and a partial one
CFPB_MAP = {
    S.TEXT: "Consumer complaint narrative",
    S.CATEGORY: "Product",
    S.REASON: "Issue",
}


def _narrative(i: int) -> str:
    """Every third row has none (as most of the export); some carry commas, quotes, newlines."""
    if i % 3 == 0:
        return ""
    if i % 7 == 1:
        return f'complaint {i}: they said "paid in full",\nthen reported it late again'
    return f"complaint {i} about XXXX account reported wrongly"


def write_export(path: Path, rows: int = ROWS) -> list[dict[str, str]]:
    records = []
    for i in range(rows):
        product, issue = PRODUCTS[i % len(PRODUCTS)]
        record = dict.fromkeys(EXPORT_COLUMNS, "")
        record.update(
            {
                "Date received": "2023-05-01",
                "Product": product,
                "Issue": issue,
                "Consumer complaint narrative": _narrative(i),
                "Company": "EXAMPLE BANK, N.A.",
                "State": "FL",
                "Complaint ID": str(1000 + i),
            }
        )
        records.append(record)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(records)
    return records


def _import(path: Path, name: str = "cfpb-full") -> imported_module.ImportReport:
    options = LabelledTextOptions(task="category", language="en")
    return import_file(path, Kind.LABELLED_TEXT, dict(CFPB_MAP), name, options)


def test_export_import_keeps_narrative_rows_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "complaints.csv"
    records = write_export(path)
    monkeypatch.setattr(table_reader, "CHUNK_ROWS", CHUNK)
    read_columns: list[list[str]] = []
    real_read_chunks = imported_module.read_chunks

    def spy(
        file: Path, columns: list[str], chunk_rows: int | None = None, encoding: str = "utf-8-sig"
    ) -> object:
        read_columns.append(list(columns))
        return real_read_chunks(file, columns, chunk_rows, encoding)

    monkeypatch.setattr(imported_module, "read_chunks", spy)

    report = _import(path)

    expected = [r for r in records if r["Consumer complaint narrative"]]
    assert report.rows_read == ROWS
    assert report.rows_kept == len(expected) == 200
    assert dict(report.rejected) == {"empty text": 100}
    # Only the three mapped columns are read (label is Product again, not a fourth column).
    assert len(read_columns) == 1
    assert sorted(set(read_columns[0])) == sorted(CFPB_MAP.values())
    frame = load_labelled_texts("cfpb-full")
    assert frame[S.TEXT].tolist() == [r["Consumer complaint narrative"] for r in expected]
    assert frame[S.CATEGORY].tolist() == [r["Product"] for r in expected]
    assert frame[S.LABEL].tolist() == frame[S.CATEGORY].tolist()
    assert frame[S.REASON].tolist() == [r["Issue"] for r in expected]
    assert set(frame[S.LANGUAGE]) == {"en"}
    assert report.labelled is not None and report.labelled.task == "category"


def test_chunk_size_does_not_change_the_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "complaints.csv"
    write_export(path)
    _import(path, "whole")
    monkeypatch.setattr(table_reader, "CHUNK_ROWS", 7)
    _import(path, "chunked")
    pd.testing.assert_frame_equal(load_labelled_texts("whole"), load_labelled_texts("chunked"))


def test_read_chunks_yields_only_the_asked_columns_in_order(tmp_path: Path) -> None:
    path = tmp_path / "complaints.csv"
    write_export(path)
    chunks = list(read_chunks(path, ["Issue", "Product"], chunk_rows=CHUNK))
    assert [len(c) for c in chunks] == [64, 64, 64, 64, 44]
    assert all(list(c.columns) == ["Issue", "Product"] for c in chunks)
    assert chunks[1]["Product"].iloc[0] == PRODUCTS[64 % len(PRODUCTS)][0]
    assert table_columns(path) == EXPORT_COLUMNS


def test_parquet_is_read_in_chunks_of_the_asked_columns(tmp_path: Path) -> None:
    path = tmp_path / "complaints.parquet"
    pd.DataFrame({"a": [str(i) for i in range(10)], "b": ["x"] * 10}).to_parquet(path)
    chunks = list(read_chunks(path, ["a"], chunk_rows=4))
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert list(pd.concat(chunks)["a"]) == [str(i) for i in range(10)]
    assert table_columns(path) == ["a", "b"]


def test_a_malformed_row_deep_in_the_file_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "complaints.csv"
    write_export(path, rows=100)
    with path.open("a", encoding="utf-8") as handle:
        handle.write('2023-05-01,Mortgage,,"a narrative whose quote never closes\n')
    monkeypatch.setattr(table_reader, "CHUNK_ROWS", 32)
    with pytest.raises(
        DataImportError, match=r"complaints\.csv cannot be read after row 96: .*EOF"
    ):
        _import(path)


def test_an_empty_file_is_refused_in_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataImportError, match=r"empty\.csv is empty"):
        _import(path)
    sheet = tmp_path / "sheet.xlsx"
    sheet.write_text("")
    with pytest.raises(TableReadError, match=r"unsupported file type '\.xlsx'"):
        table_columns(sheet)


def test_a_file_that_is_not_parquet_is_refused_in_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "complaints.parquet"
    path.write_text("Date received,Product\n")
    with pytest.raises(DataImportError, match=r"complaints\.parquet cannot be read as Parquet"):
        _import(path)
