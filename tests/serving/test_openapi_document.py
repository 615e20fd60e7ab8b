"""The API document a client team generates its client from: names and typed answers.

Built in-process from the service class (no models are loaded: the document needs only the
routes and their schemas).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    metrics_dir = tmp_path_factory.mktemp("prometheus")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
        from serving.openapi import build_openapi
        from serving.service import Agora

        return build_openapi(Agora)


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
    ]


def test_every_keyed_route_has_one_naming_scheme_and_tag(document: dict[str, Any]) -> None:
    """Regression (a client trial): the routes FastAPI serves were named
    `desk_queue_desk_queue_get`, `user_profile_users__user_id__profile_get`, ... (a generated
    client's function names) under the tag "default", beside BentoML's `agora__recommend`."""
    keyed = [(m, p, op) for m, p, op in _operations(document) if op.get("security") != []]
    assert len(keyed) >= 17
    ids = [op["operationId"] for _, _, op in keyed]
    assert len(set(ids)) == len(ids)
    for method, path, operation in keyed:
        prefix, _, name = operation["operationId"].partition("__")
        assert prefix == "agora" and IDENTIFIER.match(name), (method, path)
        assert not name.endswith(("_get", "_post")), (method, path)
        assert operation["tags"] == ["Service APIs"], (method, path)


def test_the_document_says_which_service_and_version(document: dict[str, Any]) -> None:
    """Regression: info.version was the string "None" and the description BentoML's own."""
    info = document["info"]
    assert info["title"] == "Agora"
    assert info["version"] not in ("None", "")
    assert "Slack" not in info["description"] and "X-API-Key" in info["description"]


@pytest.mark.parametrize("path", ["/desk/queue", "/analytics/complaints", "/admin/analyse"])
def test_the_answers_built_as_dicts_are_typed(document: dict[str, Any], path: str) -> None:
    """Regression: these three answered "any object" / no schema (a generated client: Any)."""
    (operation,) = document["paths"][path].values()
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    assert document["components"]["schemas"][name]["properties"]


def test_every_keyed_route_documents_its_server_errors_in_the_error_shape(
    document: dict[str, Any],
) -> None:
    """Regression (a client trial): 500 and 504 were not declared, so the generated client
    raised UnexpectedStatus (or returned None) for an answer that has the `Error` shape."""
    for method, path, operation in _operations(document):
        if operation.get("security") == []:
            continue
        for status in ("500", "504"):
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def _declared(schema: dict[str, Any], value: str) -> bool:
    """Whether `value` is a string `schema` (type, lengths, pattern) admits."""
    return (
        schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value))
        and re.search(schema["pattern"], value) is not None
    )


def test_the_declared_language_admits_exactly_the_languages_triage_reads(
    document: dict[str, Any],
) -> None:
    """Regression (a contract fuzz): `language` was declared as any two letters, so the
    schema-valid "eq" (or "cn") was a 400 a client could learn only from the refusal."""
    from pydantic import ValidationError

    from serving.schemas.triage import TriageRequest

    (declared, _null) = document["components"]["schemas"]["TriageRequest"]["properties"][
        "language"
    ]["anyOf"]
    letters = "abcdefghijklmnopqrstuvwxyz"
    codes = [a + b for a in letters for b in letters]
    values = [*codes, "EN", "Zh", "zH-cn", "zh_Hans_CN", "Eq-Z2", "cmn", "xyz-1", "e", "en-", "ab1"]
    for value in values:
        try:
            TriageRequest(text="my bag was lost", language=value)
            accepted = True
        except ValidationError:
            accepted = False
        assert _declared(declared, value) == accepted, value


def test_the_profile_path_declares_the_user_id_rule(document: dict[str, Any]) -> None:
    """Regression (a contract fuzz): `user_id` was declared as any string, so an id with a
    control character was a 400 the document allowed."""
    from data.events import ENTITY_ID_LENGTH, InvalidFieldError, check_identifier

    (parameter,) = document["paths"]["/users/{user_id}/profile"]["get"]["parameters"]
    for value in ["196", "é 7", " 196", "196 ", "1\x139", "\x7f", "", "x" * 256, "x" * 257]:
        try:
            check_identifier("user_id", value, ENTITY_ID_LENGTH)
            accepted = True
        except InvalidFieldError:
            accepted = False
        assert _declared(parameter["schema"], value) == accepted, repr(value)


def _admitted_roles(path: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The roles whose key the service's key guard lets through to `path`."""
    from serving.api_key_guard import ApiKeyGuard
    from serving.settings import ROLES

    keys = {role: f"{role}-key-0123456789abcdef" for role in ROLES}
    monkeypatch.setenv("AGORA_API_KEYS", ",".join(f"{r}:{r}:{k}" for r, k in keys.items()))
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["state"]["principal"].role)

    async def send(message: Any) -> None:
        pass

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    guard = ApiKeyGuard(app)
    for key in keys.values():
        scope = {"type": "http", "path": path, "headers": [(b"x-api-key", key.encode())]}
        asyncio.run(guard(scope, receive, send))
    return sorted(reached)


def test_every_keyed_route_names_the_roles_whose_keys_it_takes(
    document: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (a contract fuzz): the document said a key was needed but not whose, so a
    client holding several keys learnt a route's role from its 403."""
    for method, path, operation in _operations(document):
        if operation.get("security") == []:
            continue
        roles = _admitted_roles(path.replace("{user_id}", "196"), monkeypatch)
        assert operation["x-agora-roles"] == roles, (method, path)
        named = ", ".join(f"`{role}`" for role in roles)
        assert operation["description"].endswith(f"Key roles: {named}."), (method, path)
        assert named in operation["responses"]["403"]["description"], (method, path)


def test_every_answer_declares_the_headers_it_carries(document: dict[str, Any]) -> None:
    """Regression (a contract fuzz): the request id, 401's WWW-Authenticate and 503's
    Retry-After were in the description's prose only, so generated clients did not expose
    them."""
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            headers = response["headers"]
            assert headers["X-BentoML-Request-ID"]["required"] is True, (method, path, status)
            if status == "401":
                assert headers["WWW-Authenticate"]["required"] is True, (method, path)
            if status == "503":
                assert "Retry-After" in headers, (method, path)
