"""Unknown query parameters are refused on the routes of the mounted FastAPI app.

Bodies refuse keys their schema does not know; a query was read leniently, so a typo
(`/analytics/complaints?sinse=30d`, `/desk/queue?limt=200`) was answered as if the parameter
had not been sent, with the default window or page, and nothing told the client. The routes'
own declarations (FastAPI's dependant) say which names each one takes; any other is a 400 that
names the unknown parameters and the known ones.

A parameter sent twice (`?since=7d&since=30d`) is a 400 too, unless the route takes a list
of it: FastAPI answered with the last one, while a proxy or a cache in front may read the
first, as with a JSON object naming a field twice (serving.body_reading).

A value holding a control character (`/desk/queue?queue=%00`) is a 400 naming the parameter:
no label, id, time or cursor holds one, SQLite matched it against nothing (an empty page that
looked like "no such queue"), and PostgreSQL refuses a NUL in a text parameter outright, which
reached the client as a 500.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.dependencies.utils import field_annotation_is_sequence
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from serving.errors import error_response

# Names are the client's text: each is shown shortened, and only a few of them.
_SHOWN_NAMES = 5
_SHOWN_CHARACTERS = 40


def install_query_strictness(app: FastAPI) -> None:
    """Refuse, on every API route of `app`, the query parameters it does not declare."""

    @app.middleware("http")
    async def refuse_unknown_query_parameters(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.query_params:
            declared = _declared_query(app, request)
            if declared is not None:
                allowed = declared.names
                unknown = sorted(set(request.query_params) - allowed)
                if unknown:
                    return error_response(400, _message(unknown, allowed))
                sent = Counter(name for name, _ in request.query_params.multi_items())
                repeated = sorted(n for n, c in sent.items() if c > 1 and n not in declared.lists)
                if repeated:
                    return error_response(
                        400,
                        f"the query names {repeated[0][:_SHOWN_CHARACTERS]!r} more than once: "
                        "send each parameter once",
                    )
                controlled = _first_with_control_character(request.query_params.multi_items())
                if controlled is not None:
                    return error_response(
                        400,
                        f"the query parameter {controlled[:_SHOWN_CHARACTERS]!r} holds a control "
                        "character: send printable text",
                    )
        return await call_next(request)


@dataclass(frozen=True)
class _Declared:
    names: frozenset[str]  # every query parameter the route takes
    lists: frozenset[str]  # those it takes as a list (sent once per value)


def _declared_query(app: FastAPI, request: Request) -> _Declared | None:
    """The query parameters of the route `request` reaches (None: no such route)."""
    return _declared_in(app.router.routes, request)


def _declared_in(routes: Sequence[BaseRoute], request: Request) -> _Declared | None:
    for route in routes:
        # A router included with `include_router` sits in the list as one entry holding it
        # (FastAPI's `_IncludedRouter`, `original_router`): its routes are searched in turn.
        included = getattr(route, "original_router", None)
        if included is not None:
            found = _declared_in(included.routes, request)
            if found is not None:
                return found
            continue
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            dependant = getattr(route, "dependant", None)
            # Pages (the desk's HTML, out of the schema) read their query in the browser:
            # `/desk?lang=zh` is for the page's script, not the route.
            if dependant is None or not getattr(route, "include_in_schema", False):
                return None
            params = dependant.query_params
            return _Declared(
                frozenset(param.alias for param in params),
                frozenset(
                    p.alias for p in params if field_annotation_is_sequence(p.field_info.annotation)
                ),
            )
    return None


def _first_with_control_character(items: Sequence[tuple[str, str]]) -> str | None:
    """The name of the first parameter whose value holds a control character (category Cc;
    the query's own size limit bounds this scan), None when none does."""
    for name, value in items:
        if any(unicodedata.category(char) == "Cc" for char in value):
            return name
    return None


def _message(unknown: list[str], allowed: frozenset[str]) -> str:
    shown = ", ".join(repr(name[:_SHOWN_CHARACTERS]) for name in unknown[:_SHOWN_NAMES])
    more = f" and {len(unknown) - _SHOWN_NAMES} more" if len(unknown) > _SHOWN_NAMES else ""
    takes = ", ".join(sorted(allowed)) or "no query parameters"
    return f"unknown query parameter {shown}{more}; this route takes {takes}"
