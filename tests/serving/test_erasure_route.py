"""The erasure route's own role check, without a server: the key guard admits a path ending in
`/profile` by the profile route's roles, so the handler must refuse every role but admin (the
server test calls it through the guards)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from data.events import Event
from data.store import Store
from serving.auth import Principal
from serving.erasure_routes import install_erasure_route


def _client(store: Store, principal: Principal | None) -> TestClient:
    app = FastAPI()
    install_erasure_route(app, lambda: SimpleNamespace(store=store))

    def with_principal(inner: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if principal is not None:
                scope.setdefault("state", {})["principal"] = principal
            await inner(scope, receive, send)

        return guarded

    return TestClient(with_principal(app))  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.events.add([Event("e1", "a/profile", "i1", "view", 1)])
    return store


@pytest.mark.parametrize("role", ["read", "agent", "events", "triage"])
def test_only_an_admin_key_erases_even_through_a_profile_shaped_path(
    store: Store, role: str
) -> None:
    answer = _client(store, Principal(role, f"{role}-key")).delete("/users/a/profile")
    assert answer.status_code == 403 and "needs admin" in answer.json()["detail"]
    assert store.events.count() == 1
    assert _client(store, None).delete("/users/a/profile").status_code == 401


def test_an_admin_erases_the_user_whose_id_holds_a_slash(store: Store) -> None:
    answer = _client(store, Principal("admin", "ops")).delete("/users/a%2Fprofile")
    assert answer.status_code == 200
    assert answer.json() == {
        "user_id": "a/profile",
        "erased": {
            "events": 1,
            "triage_records": 0,
            "corrections": 0,
            "resolutions": 0,
            "user_segments": 0,
        },
    }
    assert [r.requested_by for r in store.erasures.erasures_of("a/profile")] == ["ops"]


def test_a_key_name_too_long_for_the_audit_row_is_a_400_not_a_500(store: Store) -> None:
    answer = _client(store, Principal("admin", "x" * 300)).delete("/users/someone")
    assert answer.status_code == 400 and "requested_by" in answer.json()["detail"]
