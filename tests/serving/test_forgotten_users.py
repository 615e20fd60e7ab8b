"""An erased user is a stranger to a model that has not read the events log past the erasure."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from data.events import Event
from data.store import Store
from serving.forgotten_users import FORGOTTEN_USER, fitted_user_id


def _model(events_through: int) -> Any:
    return SimpleNamespace(catalog=SimpleNamespace(events_through=events_through))


def test_an_erased_user_is_looked_up_under_an_id_no_user_has(tmp_path: Path) -> None:
    """Regression: after `DELETE /users/u1` the champion kept personalising u1's feed."""
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.events.add([Event(f"e{i}", "u1", f"i{i}", "view", i) for i in range(3)])
    assert fitted_user_id(store, _model(0), "u1") == "u1"
    store.erasures.erase_user("u1", "dpo")
    assert fitted_user_id(store, _model(0), "u1") == FORGOTTEN_USER  # a dataset's model
    assert fitted_user_id(store, _model(3), "u1") == FORGOTTEN_USER  # read up to the erasure
    store.events.add([Event("e-late", "u2", "i1", "view", 9)])
    assert fitted_user_id(store, _model(4), "u1") == "u1"  # retrained after it
    assert fitted_user_id(store, _model(0), "u2") == "u2"
    assert fitted_user_id(store, None, "u1") == "u1"
    store.engine.dispose()
