"""User and item id columns as pandas categoricals whose categories are the ids, sorted.

Training a recommender hashes the id columns of a large interaction frame in several places (the
split, the id maps, the matrix, the evaluation fingerprint, the held-out pairs kept as seen).
Parquet stores those columns dictionary-encoded, so reading them as categoricals gets every row's
code without hashing a string, and each later step factorises small integers instead of text
(20M synthetic interactions: `agora train recommender` without its evaluation went from 38-45 s
to 31-36 s, peak memory from 2.9 GB to 2.2-2.5 GB, in runs alternating with the code before).

The categories are sorted as the ids sort as strings (code point order, which is also Python's
and Arrow's), so every "sorted" use of a column (a sort, a sorted groupby, a sorted factorisation)
gives the order the same column of plain strings would give; `with_sorted_categories` is the one
place that ordering is established, and `is_sorted_id_categorical` lets a step check it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data import schemas as S

ID_COLUMNS = (S.USER_ID, S.ITEM_ID)


def read_parquet_with_id_categories(path: Path) -> pd.DataFrame:
    """The parquet frame at `path`, its string id columns read as sorted categoricals."""
    schema = pq.read_schema(path)
    textual = [
        column
        for column in ID_COLUMNS
        if column in schema.names
        and (
            pa.types.is_string(schema.field(column).type)
            or pa.types.is_large_string(schema.field(column).type)
        )
    ]
    # Whole row groups (one chunk and one dictionary each): unifying the dictionaries of the
    # smaller batches `pq.read_table` makes cost more than the reading saved.
    table = pq.ParquetFile(path, read_dictionary=textual).read()
    if not textual:
        return with_sorted_categories(table.to_pandas())
    # One dictionary per column for every row group, sorted here: pandas' own conversion and
    # reordering of the categories cost 3.9 s at 20M rows, unifying and sorting here about 2 s.
    table = table.unify_dictionaries()
    frame = table.drop_columns(textual).to_pandas()
    for column in textual:
        frame[column] = _sorted_categorical(table.column(column), len(table))
    return frame[schema.names]


def _sorted_categorical(column: pa.ChunkedArray, rows: int) -> pd.Categorical:
    """A dictionary column whose chunks share one dictionary, as a categorical of sorted
    categories (nulls become missing values)."""
    if column.num_chunks == 0 or rows == 0:
        return pd.Categorical([], categories=pd.Index([], dtype=str))
    dictionary = column.chunk(0).dictionary
    order = pc.sort_indices(dictionary).to_numpy()
    rank = np.empty(len(order) + 1, dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    rank[-1] = -1  # where a null's index, filled with -1, lands: a missing value
    nulls = column.null_count > 0
    indices = np.concatenate(
        [
            (chunk.indices.fill_null(-1) if nulls else chunk.indices).to_numpy(zero_copy_only=False)
            for chunk in column.chunks
        ]
    )
    codes = rank[indices]
    categories = pd.Index(dictionary.take(pa.array(order)).to_pandas(), dtype=str)
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories))


def with_sorted_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its id columns as categoricals of sorted string categories (a copy when any
    column changes); columns that are already such categoricals are kept as they are."""
    changed = {
        column: as_sorted_categorical(frame[column])
        for column in ID_COLUMNS
        if column in frame.columns and not is_sorted_id_categorical(frame[column])
    }
    return frame.assign(**changed) if changed else frame


def as_sorted_categorical(column: pd.Series) -> pd.Series:
    """`column` as a categorical of sorted string categories, holding the same ids as text."""
    if isinstance(column.dtype, pd.CategoricalDtype) and _string_categories(column):
        if column.isna().any():
            raise ValueError(f"column '{column.name}' holds missing ids")
        categories = column.cat.categories
        return column.cat.reorder_categories(categories.sort_values())
    # Anything else (plain strings, numbers, categories of numbers) is compared as its text.
    text = column.astype(str)
    return pd.Series(
        pd.Categorical(text, categories=pd.Index(text.unique()).sort_values()),
        index=column.index,
        name=column.name,
    )


def is_sorted_id_categorical(column: pd.Series) -> bool:
    """Whether `column` is a categorical of string categories in sorted order."""
    return (
        isinstance(column.dtype, pd.CategoricalDtype)
        and _string_categories(column)
        and column.cat.categories.is_monotonic_increasing
    )


def concat_id_frames(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """`first` then `second` (same columns), keeping sorted categorical id columns categorical.

    pandas turns a categorical concatenated with anything but the same categories into plain
    objects; here both sides take the union of their ids as categories first, so a training
    split extended with stored events keeps its cheap id columns.
    """
    changed_first, changed_second = {}, {}
    for column in ID_COLUMNS:
        if column not in first.columns or not is_sorted_id_categorical(first[column]):
            continue
        if column not in second.columns:
            continue
        extra = second[column].astype(str)
        categories = first[column].cat.categories.union(pd.Index(extra.unique())).sort_values()
        changed_first[column] = first[column].cat.set_categories(categories)
        changed_second[column] = pd.Series(
            pd.Categorical(extra, categories=categories), index=second.index, name=column
        )
    return pd.concat(
        [first.assign(**changed_first), second.assign(**changed_second)], ignore_index=True
    )


def _string_categories(column: pd.Series) -> bool:
    return pd.api.types.infer_dtype(column.cat.categories, skipna=False) == "string"
