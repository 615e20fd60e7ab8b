"""IdMap: stable two-way id <-> index translation with JSON round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.idmap import MISSING, IdMap, UnknownIdError


def test_from_values_is_sorted_and_independent_of_row_order() -> None:
    first = IdMap.from_values(["b", "a", "c", "a"])
    second = IdMap.from_values(["c", "c", "b", "a"])
    assert first.ids == ["a", "b", "c"]
    assert first == second


def test_lookups_both_ways() -> None:
    ids = IdMap(["u9", "u1", "u5"])
    assert ids.index("u1") == 1
    assert ids.id_of(2) == "u5"
    assert ids.ids_of([2, 0]) == ["u5", "u9"]
    assert "u9" in ids and "zz" not in ids
    np.testing.assert_array_equal(ids.lookup(["u5", "zz", "u9"]), [2, MISSING, 0])


def test_unknown_id_error_names_the_id() -> None:
    ids = IdMap(["a"])
    with pytest.raises(UnknownIdError, match="'nope'"):
        ids.index("nope")
    with pytest.raises(UnknownIdError, match="'x2'"):
        ids.indices(["a", "x2"])


def test_duplicates_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate id 'a'"):
        IdMap(["a", "b", "a"])


def test_extended_keeps_existing_indices() -> None:
    ids = IdMap(["m", "a"])
    grown = ids.extended(["z", "a", "b"])
    assert grown.ids == ["m", "a", "b", "z"]


def test_json_round_trip(tmp_path: Path) -> None:
    ids = IdMap(["ünï", "2", "10"])
    ids.save(tmp_path / "ids.json")
    assert IdMap.load(tmp_path / "ids.json") == ids
    with pytest.raises(ValueError, match="'ids' list"):
        IdMap.from_json('{"other": []}')


def test_encode_is_from_values_and_lookup_in_one_pass() -> None:
    column = pd.Series([3, "b", "a", 3, "3", "b", 10])  # 3 and "3" are one id, as strings
    id_map, codes = IdMap.encode(column)
    assert id_map == IdMap.from_values(column)
    np.testing.assert_array_equal(codes, id_map.lookup(column))
    assert [id_map.id_of(int(c)) for c in codes] == ["3", "b", "a", "3", "3", "b", "10"]


def test_encode_of_ids_read_as_sorted_categories_equals_that_of_their_text() -> None:
    """Ids read dictionary-encoded (`data.id_categories`) are mapped from their categories:
    categories that never occur stay out of the map, and the codes are the map's indices."""
    text = pd.Series(["u3", "u10", "u1", "u3", "é", "u1"])
    categorical = pd.Series(
        pd.Categorical(text, categories=sorted({*text, "never", "u0"}))  # unused categories
    )
    id_map, codes = IdMap.encode(categorical)
    expected_map, expected_codes = IdMap.encode(text)
    assert id_map == expected_map
    np.testing.assert_array_equal(codes, expected_codes)
    np.testing.assert_array_equal(id_map.lookup(categorical), expected_codes)


def test_encode_of_categories_with_a_missing_value_counts_it_as_an_id() -> None:
    column = pd.Series(pd.Categorical(["b", None, "a"], categories=["a", "b"]))
    id_map, codes = IdMap.encode(column)
    assert id_map.ids == ["a", "b", "nan"]
    assert [id_map.id_of(int(c)) for c in codes] == ["b", "nan", "a"]


def test_lookup_through_the_categories_the_map_was_encoded_from() -> None:
    """The held-out part of a split shares the training part's categories: it is looked up by
    its codes, and ids the map lacks (categories that never occurred in training) are MISSING,
    exactly as a lookup of their text."""
    categories = sorted({"a", "b", "c", "d", "ü"})
    train = pd.Series(pd.Categorical(["b", "a", "ü", "a"], categories=categories))
    id_map, _ = IdMap.encode(train)
    held_out = pd.Series(pd.Categorical(["c", "ü", "a", "d"], categories=train.cat.categories))
    assert held_out.cat.categories is train.cat.categories
    expected = IdMap(id_map.ids).lookup(held_out.astype(str))  # a map without the shortcut
    np.testing.assert_array_equal(expected, [MISSING, 2, 0, MISSING])
    np.testing.assert_array_equal(id_map.lookup(held_out), expected)
    with_missing = pd.Series(pd.Categorical(["b", None], categories=train.cat.categories))
    np.testing.assert_array_equal(id_map.lookup(with_missing), [1, MISSING])
