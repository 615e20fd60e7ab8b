"""Which route a path reaches: exact routes, and templates whose one id may hold `/`."""

from __future__ import annotations

import pytest

from serving.settings import ROUTE_ROLES, body_limit, roles_for, route_of

PROFILE = "/users/{user_id}/profile"
ERASE = "/users/{user_id}"


def test_every_template_has_exactly_one_parameter() -> None:
    # route_of matches a template by the text around its one parameter.
    for route in ROUTE_ROLES:
        assert route.count("{") == route.count("}") <= 1, route


@pytest.mark.parametrize(
    "path",
    ["/users/196/profile", "/users/a/b/profile", "/users///profile", "/users/x/profile/profile"],
)
def test_an_id_holding_slashes_reaches_its_route(path: str) -> None:
    """Regression: a user id `a/b` (sent as a%2Fb, decoded before routing) matched no route."""
    assert route_of(path) == PROFILE
    assert roles_for(path) == ROUTE_ROLES[PROFILE]


@pytest.mark.parametrize(
    "path",
    ["/users/", "/x/196/profile", "/user/196"],
)
def test_a_path_without_an_id_or_with_other_text_reaches_none(path: str) -> None:
    assert route_of(path) is None and roles_for(path) is None


@pytest.mark.parametrize(
    "path", ["/users/196", "/users/a/b", "/users//profile", "/users/profile", "/users/196/profile/"]
)
def test_any_other_id_reaches_the_erasure_route_which_takes_admin_keys_only(path: str) -> None:
    """`DELETE /users/{user_id}`: an id may be anything the store takes, `a/b` and `/profile`
    among them (a path ending in `/profile` stays the profile route's; its handler checks)."""
    assert route_of(path) == ERASE
    assert roles_for(path) == frozenset({"admin"})


def test_exact_routes_are_themselves() -> None:
    assert route_of("/recommend") == "/recommend"
    assert body_limit("/users/a/b/profile") == body_limit("/users/196/profile")
