"""A worker's retired items (serving.retired_items): read whole at start, then only changes;
a new set object only when something changed; refused (503) before the first read."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.store import Store, StoreUnavailableError
from serving.retired_items import RetirementSettings, ServedRetirements


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'store.db'}")


def test_a_worker_reads_what_was_retired_before_it_started_and_what_follows(
    store: Store,
) -> None:
    store.retirements.retire(["a", "b"], "platform")
    other_worker = ServedRetirements(store.retirements, RetirementSettings())
    with pytest.raises(StoreUnavailableError):
        other_worker.current()
    assert other_worker.catch_up() == 2
    first = other_worker.current()
    assert first.ids == {"a", "b"}
    assert other_worker.catch_up() == 0
    assert other_worker.current() is first  # nothing changed: the same set (its mask is kept)
    store.retirements.restore(["a"], "platform")
    store.retirements.retire(["c"], "platform")
    assert other_worker.catch_up() == 2
    assert other_worker.current().ids == {"b", "c"}


def test_a_change_read_back_twice_is_applied_once(store: Store) -> None:
    served = ServedRetirements(store.retirements, RetirementSettings())
    served.catch_up()
    store.retirements.retire(["x"], "platform")
    store.retirements.restore(["x"], "platform")
    store.retirements.retire(["x"], "platform")
    assert served.catch_up() == 1
    assert served.current().ids == {"x"}


def test_a_read_that_fails_half_way_serves_what_it_applied(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = ServedRetirements(store.retirements, RetirementSettings())
    served.catch_up()
    store.retirements.retire(["x"], "platform")
    follower = served._follower
    drain = follower.drain

    def fail_after_applying(apply):  # type: ignore[no-untyped-def]
        drain(apply)
        raise StoreUnavailableError("the store went away")

    monkeypatch.setattr(follower, "drain", fail_after_applying)
    with pytest.raises(StoreUnavailableError):
        served.catch_up()
    assert served.current().ids == {"x"}


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon", "3601"])
def test_a_bad_refresh_interval_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="AGORA_RETIRED_REFRESH_S"):
        RetirementSettings.from_env({"AGORA_RETIRED_REFRESH_S": value})
    assert RetirementSettings.from_env({}).refresh_s == 1.0


def test_each_new_set_is_handed_to_the_recommender_once(store: Store) -> None:
    seen = []
    served = ServedRetirements(store.retirements, RetirementSettings(), seen.append)
    served.catch_up()
    store.retirements.retire(["a"], "platform")
    served.catch_up()
    served.catch_up()
    assert [set(retired.ids) for retired in seen] == [{"a"}]
    assert seen[0] is served.current()
