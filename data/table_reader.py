"""Read a user's table (CSV, TSV or Parquet) a chunk at a time, only the columns an import keeps.

A public export can be several GB with millions of rows and dozens of columns (the CFPB complaint
database: 18 columns, most rows without a narrative) while an import keeps a few columns of some
rows. Reading only those columns (`usecols`), a chunk of rows at a time, bounds the import's
memory by what it keeps rather than by the file. Every field of a text file is read as text
(empty stays "", never NaN) so that validation, not the parser, decides what a value means.
Parquet number and boolean columns are given the same treatment (the text a CSV export of them
holds, "" where null), so an integer id or label column means what the same file as CSV means;
Parquet strings and datetimes keep their types.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from data.error_text import first_line
from data.file_encoding import DEFAULT_ENCODING, undecodable_message

logger = logging.getLogger(__name__)

# Rows per chunk: large enough that pandas' per-chunk overhead is negligible, small enough that
# one chunk of a wide export stays in the tens of MB.
CHUNK_ROWS = 100_000
SUFFIXES = (".csv", ".tsv", ".tab", ".parquet")


class TableReadError(ValueError):
    """The file cannot be read as a table; the message says why in one sentence."""


def _separator(path: Path) -> str | None:
    """The text separator for `path`, None for Parquet; refuses other file types."""
    if not path.is_file():
        raise TableReadError(f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return None
    if suffix in {".tsv", ".tab"}:
        return "\t"
    if suffix == ".csv":
        return _csv_separator(path)
    raise TableReadError(f"unsupported file type '{suffix}' (use .csv, .tsv or .parquet)")


def _csv_separator(path: Path) -> str:
    """',' unless the header line has none and has ';' (spreadsheets in locales whose decimal
    mark is a comma write such CSV) or tabs."""
    with path.open("rb") as handle:
        header = handle.readline(_HEADER_BYTES)
    if b"," not in header:
        for separator in (b";", b"\t"):
            if separator in header:
                return separator.decode()
    return ","


def separator_note(path: Path) -> str | None:
    """The note an import prints when a .csv file is read with another separator than ','
    (None otherwise): the choice is made from the header line, and is said, not silent."""
    separator = _separator(path)
    if separator is None or separator == "," or path.suffix.lower() != ".csv":
        return None
    name = "';'" if separator == ";" else "tab"
    shown = "';'" if separator == ";" else "tabs"
    return f"{path.name} read as {name}-separated: its header line has {shown} and no ','"


# How much of a CSV's first line is read to choose its separator.
_HEADER_BYTES = 1 << 16


def _text_options(separator: str, encoding: str) -> dict[str, object]:
    # The default, utf-8-sig: spreadsheet exports often start with a byte-order mark.
    return {"sep": separator, "dtype": str, "keep_default_na": False, "encoding": encoding}


def table_columns(path: Path, encoding: str = DEFAULT_ENCODING) -> list[str]:
    """The file's column names, from its header line (or Parquet schema) alone; a text file is
    decoded as `encoding` (a codec name from `data.file_encoding.checked_encoding`)."""
    separator = _separator(path)
    if separator is None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except pa.ArrowException as error:
            raise TableReadError(
                f"{path.name} cannot be read as Parquet: {first_line(error)}"
            ) from None
    try:
        header = pd.read_csv(path, nrows=0, **_text_options(separator, encoding))  # type: ignore[call-overload]
    except pd.errors.EmptyDataError:
        raise TableReadError(f"{path.name} is empty: not even a header line") from None
    except UnicodeDecodeError as error:
        raise TableReadError(undecodable_message(path, encoding, "", first_line(error))) from None
    except pd.errors.ParserError as error:
        raise TableReadError(f"{path.name} cannot be read as text: {first_line(error)}") from None
    return [str(column) for column in header.columns]


def names_as_written(columns: Sequence[str]) -> dict[str, str]:
    """Each column's name without outer spaces -> the name as the file writes it. A header typed
    or exported with stray spaces ('Message , Sentiment ') is then mapped by the names a user
    sees; were the spaces significant, `--map text=Message` found no 'Message' in a file whose
    columns were listed back as 'Message ,  Sentiment'. Names that collide once stripped are
    kept as written."""
    stripped = [column.strip() for column in columns]
    if len(set(stripped)) != len(stripped):
        return {column: column for column in columns}
    return dict(zip(stripped, columns, strict=True))


def read_chunks(
    path: Path,
    columns: Sequence[str],
    chunk_rows: int | None = None,
    encoding: str = DEFAULT_ENCODING,
) -> Iterator[pd.DataFrame]:
    """The file's rows in order, `chunk_rows` (default CHUNK_ROWS) at a time, with only
    `columns` (names from `table_columns`, read with the same `encoding`) read."""
    rows = chunk_rows or CHUNK_ROWS
    if rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {rows}")
    wanted = list(dict.fromkeys(columns))
    separator = _separator(path)
    if separator is None:
        yield from _parquet_chunks(path, wanted, rows)
        return
    options = _text_options(separator, encoding)
    reader = pd.read_csv(path, usecols=wanted, chunksize=rows, **options)  # type: ignore[call-overload]
    done = 0
    try:
        with reader:
            for chunk in reader:
                done += len(chunk)
                yield chunk[wanted]
    except UnicodeDecodeError as error:
        raise TableReadError(
            undecodable_message(path, encoding, f" after row {done}", first_line(error))
        ) from None
    except pd.errors.ParserError as error:
        raise TableReadError(
            f"{path.name} cannot be read after row {done}: {first_line(error)}"
        ) from None


def _parquet_chunks(path: Path, columns: list[str], rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=rows, columns=columns):
        frame = batch.to_pandas()
        for name, arrow_type in zip(batch.schema.names, batch.schema.types, strict=True):
            if _is_number(arrow_type):
                frame[name] = _as_csv_text(frame[name])
        yield frame


def _is_number(arrow_type: object) -> bool:
    import pyarrow as pa

    if isinstance(arrow_type, pa.DictionaryType):
        arrow_type = arrow_type.value_type
    return bool(
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type)
        or pa.types.is_boolean(arrow_type)
    )


def _as_csv_text(values: pd.Series) -> pd.Series:
    """Numbers as a CSV export writes them (`1`, `1.0` for an integer column with a gap, which
    pandas reads as floats) and "" for a null, as a text file's field is read."""
    text = values.astype(object).astype(str)
    return text.where(values.notna(), "")
