from __future__ import annotations

import pandas as pd
import pytest

from data import schemas as S
from data.schemas import Kind, SchemaError, conform, split_tags


def test_conform_fills_defaults_orders_columns_and_keeps_extras() -> None:
    frame = pd.DataFrame({"extra": [1], S.ITEM_ID: [7], S.USER_ID: ["u1"]})
    out = conform(frame, Kind.INTERACTIONS)
    assert list(out.columns) == [S.USER_ID, S.ITEM_ID, S.RATING, S.TIMESTAMP, "extra"]
    assert out.loc[0, S.ITEM_ID] == "7"  # ids become strings
    assert out.loc[0, S.RATING] == 1.0 and out.loc[0, S.TIMESTAMP] == 0


def test_conform_shares_no_writes_with_its_input_and_numbers_rows_from_zero() -> None:
    frame = pd.DataFrame(
        {
            S.USER_ID: ["u1", "u2"],
            S.ITEM_ID: ["i1", "i2"],
            S.RATING: [4.0, 5.0],
            S.TIMESTAMP: [1, 2],
        },
        index=[10, 20],
    )
    out = conform(frame, Kind.INTERACTIONS)
    assert list(out.index) == [0, 1]
    out.loc[0, S.RATING] = 0.0
    out[S.TIMESTAMP] = 9
    assert frame[S.RATING].tolist() == [4.0, 5.0] and frame[S.TIMESTAMP].tolist() == [1, 2]
    again = conform(out, Kind.INTERACTIONS)  # already conformed: nothing to reorder or renumber
    again.loc[1, S.RATING] = -1.0
    assert out[S.RATING].tolist() == [0.0, 5.0]


def test_conform_names_the_missing_required_column() -> None:
    with pytest.raises(SchemaError, match="'label'"):
        conform(pd.DataFrame({S.TEXT: ["hi"]}), Kind.LABELLED_TEXT)


def test_conform_names_an_uncastable_column() -> None:
    frame = pd.DataFrame({S.USER_ID: ["u"], S.ITEM_ID: ["i"], S.RATING: ["five"]})
    with pytest.raises(SchemaError, match="rating"):
        conform(frame, Kind.INTERACTIONS)


def test_split_tags_ignores_empty_parts() -> None:
    assert split_tags("Action||Sci-Fi") == ["Action", "Sci-Fi"]
    assert split_tags("") == []
