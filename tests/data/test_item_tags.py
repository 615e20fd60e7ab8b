"""An items file's tags read as Agora's '|'-joined string, however the export wrote the list."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data import schemas as S
from data.imported import import_file
from data.item_tags import read_tags
from data.loaders import load_items
from data.schemas import Kind


def test_a_parquet_list_column_of_tags_imports_as_tags(tmp_path: Path) -> None:
    """Regression: a Parquet list of tags imported as numpy's text "['finance' 'music']"."""
    path = tmp_path / "items.parquet"
    pd.DataFrame(
        {"post_id": ["p1", "p2", "p3"], "tags": [["finance", "music"], ["美食"], []]}
    ).to_parquet(path, index=False)
    report = import_file(path, Kind.ITEMS, {"item_id": "post_id", "genres": "tags"}, "listed")
    assert load_items("listed")[S.GENRES].tolist() == ["finance|music", "美食", ""]
    assert "genres read from a list column (3 rows)" in report.notes


def test_lists_written_as_json_or_by_python_are_read_as_their_tags() -> None:
    """Regression: '["finance", "music"]' in a CSV was one tag, brackets and quotes included."""
    values = pd.Series(['["finance", "music"]', "['a', ' b ', 'a']", "[broken", "plain"])
    tags, notes = read_tags(values)
    assert tags.tolist() == ["finance|music", "a|b", "[broken", "plain"]
    assert len(notes) == 1 and "written as lists" in notes[0] and "(2 rows)" in notes[0]


def test_a_column_without_bars_is_split_at_its_separator_and_said_so() -> None:
    tags, notes = read_tags(pd.Series(["travel, 美食", "tech", ""]))
    assert tags.tolist() == ["travel|美食", "tech", ""]
    assert "separated by ','" in notes[0]
    chinese, notes = read_tags(pd.Series(["旅行、美食", "科技"]))
    assert chinese.tolist() == ["旅行|美食", "科技"] and "'、'" in notes[0]


def test_bar_joined_tags_are_agoras_own_and_need_no_note() -> None:
    # A comma inside a tag of a '|'-joined column is part of the tag.
    tags, notes = read_tags(pd.Series(["Action| Sci-Fi", "Rock, Paper|Games", np.nan]))
    assert tags.tolist() == ["Action|Sci-Fi", "Rock, Paper|Games", ""]
    assert notes == []
