"""Id columns read as sorted categoricals give the same answers as plain strings, cheaper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data import schemas as S
from data.id_categories import (
    as_sorted_categorical,
    concat_id_frames,
    is_sorted_id_categorical,
    read_parquet_with_id_categories,
    with_sorted_categories,
)
from data.imported import import_file, parse_mapping
from data.loaders import load_interactions
from data.schemas import Kind, conform


def _frame(rows: int = 60, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    users = np.array(["u10", "u2", "ü", "u1", "Z", "a b"])  # not in sorted order, one non-ASCII
    items = np.array(["i9", "i10", "i1", "é", "x"])
    return pd.DataFrame(
        {
            S.USER_ID: users[rng.integers(0, len(users), rows)],
            S.ITEM_ID: items[rng.integers(0, len(items), rows)],
            S.RATING: rng.integers(1, 6, rows).astype(float),
            S.TIMESTAMP: np.arange(rows, dtype=np.int64),
        }
    )


def test_parquet_row_groups_read_as_one_sorted_categorical(tmp_path: Path) -> None:
    frame = _frame()
    path = tmp_path / "interactions.parquet"
    # Several row groups: each stores its own dictionary, in its own first-seen order.
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=7)
    read = read_parquet_with_id_categories(path)
    assert list(read.columns) == list(frame.columns)
    for column in (S.USER_ID, S.ITEM_ID):
        assert is_sorted_id_categorical(read[column])
        assert read[column].astype(str).tolist() == frame[column].tolist()
        assert read[column].cat.categories.tolist() == sorted(set(frame[column]))
    assert read[S.RATING].tolist() == frame[S.RATING].tolist()


def test_missing_ids_stay_missing_and_conform_fills_them_with_empty_text(tmp_path: Path) -> None:
    path = tmp_path / "interactions.parquet"
    table = pa.table({S.USER_ID: ["b", None, "a"], S.ITEM_ID: ["x", "y", None]})
    pq.write_table(table, path)
    read = read_parquet_with_id_categories(path)
    assert read[S.USER_ID].isna().tolist() == [False, True, False]
    conformed = with_sorted_categories(conform(read, Kind.INTERACTIONS))
    assert conformed[S.USER_ID].astype(str).tolist() == ["b", "", "a"]
    assert conformed[S.ITEM_ID].astype(str).tolist() == ["x", "y", ""]
    assert is_sorted_id_categorical(conformed[S.USER_ID])


def test_numbers_and_unsorted_categories_become_sorted_text() -> None:
    numbers = as_sorted_categorical(pd.Series([10, 2, 10], name=S.USER_ID))
    assert numbers.astype(str).tolist() == ["10", "2", "10"]
    assert numbers.cat.categories.tolist() == ["10", "2"]  # sorted as text, not as numbers
    unsorted = pd.Series(pd.Categorical(["b", "a"], categories=["b", "a"]), name=S.USER_ID)
    assert not is_sorted_id_categorical(unsorted)
    assert as_sorted_categorical(unsorted).cat.categories.tolist() == ["a", "b"]


def test_concatenating_a_categorical_split_with_plain_events_keeps_it_categorical() -> None:
    train = with_sorted_categories(_frame(10))
    events = pd.DataFrame(
        {S.USER_ID: ["new-user", "u1"], S.ITEM_ID: ["i1", "new-item"], S.RATING: [1.0, 2.0]}
    )
    joined = concat_id_frames(train, events)
    for column in (S.USER_ID, S.ITEM_ID):
        assert is_sorted_id_categorical(joined[column])
        expected = [*train[column].astype(str), *events[column]]
        assert joined[column].astype(str).tolist() == expected


def test_an_imported_dataset_loads_the_same_ids_either_way(tmp_path: Path) -> None:
    path = tmp_path / "ratings.csv"
    path.write_text("user,item,score\n7,b,1\n10,a,2\n7,a,3\n", encoding="utf-8")
    import_file(
        path, Kind.INTERACTIONS, parse_mapping("user_id=user,item_id=item,rating=score"), "r"
    )
    plain = load_interactions("r")
    coded = load_interactions("r", id_categories=True)
    assert is_sorted_id_categorical(coded[S.USER_ID])
    pd.testing.assert_frame_equal(coded.astype({S.USER_ID: str, S.ITEM_ID: str}), plain)
