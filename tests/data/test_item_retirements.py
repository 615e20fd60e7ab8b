"""The item retirement log: changes stored once, states by the latest row, followed by seq.

Runs against SQLite, and PostgreSQL too when AGORA_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import pytest

from data.store import InvalidRetirementError, Store
from data.store.item_retirements import MAX_ITEMS_PER_CHANGE


def test_retire_and_restore_change_only_what_differs(store: Store) -> None:
    log = store.retirements
    first = log.retire(["a", "b", "a"], "platform", reason="takedown")
    assert first.changed == ("a", "b") and first.unchanged == ()
    again = log.retire(["b", "c"], "platform")
    assert again.changed == ("c",) and again.unchanged == ("b",)
    assert log.retired_ids() == {"a", "b", "c"}
    restored = log.restore(["b", "never-retired"], "ops")
    assert restored.changed == ("b",) and restored.unchanged == ("never-retired",)
    assert log.retired_ids() == {"a", "c"}
    assert log.states(["a", "b", "zzz"]) == {"a": True, "b": False, "zzz": False}


def test_listing_pages_the_retired_items_with_who_and_why(store: Store) -> None:
    log = store.retirements
    log.retire(["x", "y", "z"], "moderator", reason="spam")
    log.restore(["y"], "moderator")
    page = log.listing(limit=1)
    assert [(r.item_id, r.reason, r.changed_by) for r in page] == [("x", "spam", "moderator")]
    rest = log.listing(after=page[-1].seq)
    assert [r.item_id for r in rest] == ["z"]


def test_a_follower_reads_each_change_as_the_items_latest_state(store: Store) -> None:
    log = store.retirements
    follower = log.follower()
    log.retire(["a", "b"], "platform")
    log.restore(["a"], "platform")
    states: dict[str, bool] = {}
    follower.drain(lambda seqs: states.update(log.changed_at(seqs)))
    assert states == {"a": False, "b": True}
    log.retire(["a"], "platform")
    follower.drain(lambda seqs: states.update(log.changed_at(seqs)))
    assert states == {"a": True, "b": True}


@pytest.mark.parametrize(
    ("item_ids", "reason", "message"),
    [
        ([], None, "empty"),
        (["ok"] * (MAX_ITEMS_PER_CHANGE + 1), None, "at most 1,000"),
        ([" padded"], None, "starts or ends with spaces"),
        (["x" * 257], None, "at most 256"),
        (["ok"], "r" * 201, "at most 200"),
        (["ok"], "  ", "non-empty"),
    ],
)
def test_bad_changes_are_refused_with_the_reason(
    store: Store, item_ids: list[str], reason: str | None, message: str
) -> None:
    with pytest.raises(InvalidRetirementError, match=message):
        store.retirements.retire(item_ids, "platform", reason=reason)
    assert store.retirements.retired_ids() == frozenset()
