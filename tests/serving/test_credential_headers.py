"""Every credential header of the service's kinds must hold a key: an empty one is refused even
beside a good key, another `Authorization` scheme is refused unless an `X-API-Key` carries the
key, and a refusal never repeats what the header held."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from serving.api_key_guard import ApiKeyGuard
from serving.auth import CredentialError, presented_keys

KEY = "rdKEY0123456789abcdef"


def test_keys_are_read_from_either_header_and_counted_once() -> None:
    assert presented_keys([KEY], []) == {KEY}
    assert presented_keys([], [f"Bearer {KEY}"]) == {KEY}
    assert presented_keys([f" {KEY} "], [f"bearer  {KEY}", f"BEARER {KEY}"]) == {KEY}
    assert presented_keys([], []) == set()
    # A gateway's own credential beside the service's key is not read as a key.
    assert presented_keys([KEY], ["Basic dXNlcjpwYXNz"]) == {KEY}


@pytest.mark.parametrize(
    ("api_keys", "authorizations", "header"),
    [
        ([""], [f"Bearer {KEY}"], "X-API-Key"),
        (["   "], [f"Bearer {KEY}"], "X-API-Key"),
        ([KEY], ["Bearer "], "Authorization"),
        ([], ["Basic dXNlcjpwYXNz"], "Authorization"),
        ([], [KEY], "Authorization"),  # a bare key, no scheme: refused without echoing it
        ([], [f"Bearer\t{KEY}"], "Authorization"),  # RFC 7235: one space after the scheme
    ],
)
def test_a_credential_header_without_a_key_is_refused(
    api_keys: list[str], authorizations: list[str], header: str
) -> None:
    with pytest.raises(CredentialError) as refused:
        presented_keys(api_keys, authorizations)
    assert str(refused.value).startswith(header)
    assert KEY not in str(refused.value)


async def _answer(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def test_an_empty_api_key_header_beside_a_valid_bearer_key_is_a_401(monkeypatch: Any) -> None:
    """Regression: `X-API-Key: ` beside a valid `Authorization: Bearer` key was answered 200."""
    monkeypatch.setenv("AGORA_API_KEYS", f"read:rd:{KEY}")
    client = TestClient(ApiKeyGuard(Starlette(routes=[Route("/model_info", _answer)])))
    bearer = {"Authorization": f"Bearer {KEY}"}
    assert client.get("/model_info", headers=bearer).status_code == 200
    refused = client.get("/model_info", headers={**bearer, "X-API-Key": ""})
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] == "unauthorized"
    assert "X-API-Key is empty" in refused.json()["error"]["message"]
    assert refused.headers["www-authenticate"] == "Bearer"
    empty_bearer = client.get("/model_info", headers={"X-API-Key": KEY, "Authorization": "Bearer "})
    assert empty_bearer.status_code == 401 and "holds no key" in empty_bearer.text
    basic = client.get("/model_info", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401 and "Authorization is not" in basic.text
    gateway = client.get("/model_info", headers={"X-API-Key": KEY, "Authorization": "Basic eDp5"})
    assert gateway.status_code == 200, gateway.text


def test_a_refusal_names_a_long_path_shortened(monkeypatch: Any) -> None:
    """Regression: a 401 repeated a 5,000-character path whole."""
    monkeypatch.setenv("AGORA_API_KEYS", f"read:rd:{KEY}")
    client = TestClient(ApiKeyGuard(Starlette(routes=[])))
    answer = client.get(f"/users/{'u' * 5000}/profile")
    assert answer.status_code == 401
    message = answer.json()["error"]["message"]
    assert message.startswith(f"/users/{'u' * 50}") and len(message) < 300
    assert (
        client.get("/users/u1/profile")
        .json()["error"]["message"]
        .startswith("/users/u1/profile needs an API key")
    )
