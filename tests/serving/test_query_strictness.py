"""Unknown query parameters are a 400 naming them, on API routes (included routers too); pages
keep their query for the browser."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from starlette.responses import HTMLResponse
from starlette.testclient import TestClient

from serving.query_strictness import install_query_strictness


def _app() -> FastAPI:
    app = FastAPI()
    router = APIRouter()

    @router.get("/counts")
    def counts(since: str = "7d", by: str = "reason") -> dict[str, str]:
        return {"since": since, "by": by}

    @router.get("/tagged")
    def tagged(tag: Annotated[list[str], Query()]) -> dict[str, list[str]]:
        return {"tag": tag}

    @app.get("/users/{user_id}")
    def user(user_id: str) -> dict[str, str]:
        return {"user_id": user_id}

    app.add_api_route("/page", lambda: HTMLResponse("<p>hi</p>"), include_in_schema=False)
    app.include_router(router)
    install_query_strictness(app)
    return app


def test_a_misspelt_parameter_is_refused_with_the_known_ones_named() -> None:
    client = TestClient(_app())
    answer = client.get("/counts?sinse=30d")
    assert answer.status_code == 400
    message = answer.json()["error"]["message"]
    assert "'sinse'" in message and "by, since" in message
    assert client.get("/counts?since=30d&by=item").json() == {"since": "30d", "by": "item"}
    assert client.get("/users/u1?verbose=1").status_code == 400
    assert client.get("/users/u1").status_code == 200


def test_pages_and_unknown_paths_are_left_alone() -> None:
    client = TestClient(_app())
    assert client.get("/page?lang=zh").status_code == 200  # the page's script reads it
    assert client.get("/nowhere?x=1").status_code == 404


def test_many_or_long_unknown_names_are_shown_shortened() -> None:
    client = TestClient(_app())
    names = "&".join(f"{'n' * 300}{i}=1" for i in range(9))
    message = client.get(f"/counts?{names}").json()["error"]["message"]
    assert "and 4 more" in message and len(message) < 400


def test_a_parameter_sent_twice_is_refused_unless_the_route_takes_a_list() -> None:
    """Regression: `/analytics/complaints?since=7d&since=8d` was answered with the last one."""
    client = TestClient(_app())
    answer = client.get("/counts?since=7d&by=item&since=30d")
    assert answer.status_code == 400
    assert "'since' more than once" in answer.json()["error"]["message"]
    assert client.get("/tagged?tag=a&tag=b").json() == {"tag": ["a", "b"]}


def test_a_value_with_a_control_character_is_refused_naming_its_parameter() -> None:
    """Regression: `/desk/queue?queue=%00` was matched against nothing on SQLite and reached
    PostgreSQL, which refuses a NUL in a text parameter, as a 500."""
    client = TestClient(_app())
    for value in ("%00", "billing%0A", "a%7Fb", "%C2%85"):
        answer = client.get(f"/counts?by={value}")
        assert answer.status_code == 400, value
        assert "'by' holds a control character" in answer.json()["error"]["message"]
    assert client.get("/counts?by=%E9%80%80%E6%AC%BE%20x").json()["by"] == "退款 x"
