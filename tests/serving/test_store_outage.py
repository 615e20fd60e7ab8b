"""A store whose database is down answers 503 `unavailable` with Retry-After, never a 500.

Regression: with PostgreSQL stopped, /events, /recommend, /triage, /corrections, the desk, the
profiles and the analytics answered 500 "An unexpected error has occurred" with a traceback per
request; a client could not tell an outage (retry later) from a bug.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.testclient import TestClient

from data.store import StoreUnavailableError, is_store_outage, open_engine
from serving.errors import (
    STORE_RETRY_AFTER_S,
    STORE_UNAVAILABLE,
    answers_errors,
    install_store_outage_handler,
)


def _outage() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("connection refused"))


def test_a_database_that_does_not_answer_is_an_outage_and_a_refusal_is_not() -> None:
    assert is_store_outage(_outage())
    assert is_store_outage(StoreUnavailableError("down"))
    assert not is_store_outage(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not is_store_outage(ValueError("bad field"))


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_handler_hit_by_an_outage_answers_503_with_retry_after(asynchronous: bool) -> None:
    def fails() -> Any:
        raise _outage()

    async def fails_async() -> Any:
        raise _outage()

    if asynchronous:
        response = asyncio.run(answers_errors()(fails_async)())
    else:
        response = answers_errors()(fails)()
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(STORE_RETRY_AFTER_S)
    assert json.loads(response.body) == {
        "error": {"status": 503, "code": "unavailable", "message": STORE_UNAVAILABLE}
    }


def test_the_plain_routes_answer_an_outage_with_503_and_a_bug_with_a_shaped_500() -> None:
    app = FastAPI()
    install_store_outage_handler(app)

    @app.get("/users/{user_id}/profile")
    def profile(user_id: str) -> dict[str, str]:
        raise _outage()

    @app.get("/bug")
    def bug() -> dict[str, str]:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    client = TestClient(app, raise_server_exceptions=False)
    answer = client.get("/users/u-17/profile")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert answer.json()["error"]["code"] == "unavailable"
    assert client.get("/bug").status_code == 500


def test_store_errors_never_carry_a_statements_parameters(tmp_path: Any) -> None:
    # A store error is logged with its traceback: a customer's text must not be in it.
    engine = open_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with pytest.raises(Exception) as failed, engine.begin() as connection:
            connection.execute(text("INSERT INTO no_such_table VALUES (:t)"), {"t": "my IBAN"})
        assert "my IBAN" not in str(failed.value)
    finally:
        engine.dispose()


def _unavailable_count(operation: str) -> float:
    """agora_store_unavailable_total{operation=...} as this process counted it."""
    from serving import ops_metrics

    (family,) = ops_metrics._store_unavailable().collect()
    return sum(
        sample.value
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels == {"operation": operation}
    )


def test_each_answer_an_outage_gives_is_counted_by_operation_never_by_path() -> None:
    # /metrics tells an operator how many requests the store failed, per handler or route
    # template: a user's id in the path is never a label.
    def events() -> Any:
        raise _outage()

    before = _unavailable_count("events")
    assert answers_errors()(events)().status_code == 503
    assert _unavailable_count("events") == before + 1

    app = FastAPI()
    install_store_outage_handler(app)

    @app.get("/users/{user_id}/profile")
    def profile(user_id: str) -> dict[str, str]:
        raise _outage()

    template = "/users/{user_id}/profile"
    before = _unavailable_count(template)
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/users/u-secret-17/profile").status_code == 503
    assert _unavailable_count(template) == before + 1
    assert _unavailable_count("/users/u-secret-17/profile") == 0
