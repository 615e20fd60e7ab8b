"""The test-pairs fingerprint never changes value: registered versions carry it and the
promotion gate compares it, so the fast Arrow path must give pandas' digest for any ids."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from data.id_categories import with_sorted_categories
from data.schemas import ITEM_ID, USER_ID
from training.recommender.steps import pairs_fingerprint


def pandas_fingerprint(dataset: str, frame: pd.DataFrame) -> str:
    """The digest as first defined: sorted string pairs written by pandas' to_csv."""
    pairs = frame[[USER_ID, ITEM_ID]].astype(str).sort_values([USER_ID, ITEM_ID])
    digest = hashlib.sha256(dataset.encode())
    digest.update(pairs.to_csv(index=False).encode())
    return digest.hexdigest()


IDS = {
    "plain": ["u1", "u10", "u2", "Z", "a b", ""],
    "unicode": ["é", "ü", "日本", "😀", "\uffff", "e"],
    "needs quoting": ["a,b", 'say "hi"', "line\nbreak", "p"],
}


@pytest.mark.parametrize("ids", IDS.values(), ids=IDS.keys())
@pytest.mark.parametrize("dtype", [object, "string", "string[pyarrow]", "sorted categories"])
def test_fast_fingerprint_equals_the_pandas_digest(ids: list[str], dtype: object) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({USER_ID: rng.choice(ids, 400), ITEM_ID: rng.choice(ids, 400)})
    expected = pandas_fingerprint("d", frame)
    # "sorted categories": ids read dictionary-encoded (`data.id_categories`)
    sorted_categories = dtype == "sorted categories"
    frame = with_sorted_categories(frame) if sorted_categories else frame.astype(dtype)  # type: ignore[arg-type]
    assert pairs_fingerprint("d", frame) == expected


def test_categories_in_any_order_give_the_digest_of_their_text() -> None:
    """Codes of unsorted categories do not follow the ids' order: they must not be used as is."""
    frame = pd.DataFrame({USER_ID: ["b", "a", "c"], ITEM_ID: ["x", "x", "y"]})
    expected = pandas_fingerprint("d", frame)
    unsorted = frame.astype({USER_ID: pd.CategoricalDtype(["c", "b", "a"])})
    assert pairs_fingerprint("d", unsorted) == expected


def test_numeric_ids_and_order_of_rows_do_not_matter_to_the_digest() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({USER_ID: rng.integers(0, 50, 300), ITEM_ID: rng.integers(0, 50, 300)})
    assert pairs_fingerprint("d", frame) == pandas_fingerprint("d", frame)
    shuffled = frame.sample(frac=1.0, random_state=3)
    assert pairs_fingerprint("d", shuffled) == pairs_fingerprint("d", frame)
    assert pairs_fingerprint("other", frame) != pairs_fingerprint("d", frame)


def test_digest_of_pairs_sorted_in_runs_on_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Millions of test pairs are sorted in runs, one per core: the digest stays pandas'."""
    from features import parallel_sort

    monkeypatch.setattr(parallel_sort, "MIN_PARALLEL", 500)
    monkeypatch.setattr(parallel_sort, "available_cores", lambda: 4)
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {USER_ID: rng.integers(0, 300, 5_000).astype(str), ITEM_ID: rng.integers(0, 90, 5_000)}
    )
    expected = pandas_fingerprint("d", frame)
    assert pairs_fingerprint("d", with_sorted_categories(frame)) == expected
