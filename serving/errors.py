"""The one shape of every non-2xx answer of the service, and the one place that builds it.

`{"error": {"status": 413, "code": "payload_too_large", "message": "..."}}`: clients branch on
`code` (stable) and show `message` (a sentence). Three paths lead here:

- handlers raise `ApiError` (or a domain error their route maps to a status) and
  `answers_errors` turns it into the shape, with the handler's own message (BentoML's exception
  path would replace a 5xx message by a generic sentence);
- middlewares (auth, limits, shedding) call `error_response` directly;
- `ErrorShapeMiddleware` rewrites whatever BentoML and Starlette answer in their own dialects
  (request validation, unknown routes, unexpected exceptions) into the shape.

Request validation answers 400 `bad_request` (BentoML's choice, kept), never 422.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, ParamSpec, TypeVar

from fastapi import FastAPI, Request
from sqlalchemy.exc import DBAPIError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from data.store import StoreUnavailableError, is_store_outage
from serving import ops_metrics

logger = logging.getLogger(__name__)

# Status -> stable code. A status not listed gets the code of its class (4xx or 5xx).
ERROR_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "overloaded",
    500: "internal",
    503: "unavailable",
    504: "unavailable",
}
# A code more specific than its status's, for a refusal a client acts on differently: a 409 of
# POST /resolutions whose case is already resolved; the body's `resolution` says by whom and when.
ALREADY_RESOLVED = "already_resolved"
CODES = frozenset({*ERROR_CODES.values(), ALREADY_RESOLVED})
MAX_MESSAGE_CHARS = 1_000  # a rewritten message is cut here: error bodies stay small

P = ParamSpec("P")
R = TypeVar("R")


def error_code(status: int) -> str:
    """The stable code of an HTTP status (`bad_request` / `internal` for unlisted 4xx / 5xx)."""
    if status in ERROR_CODES:
        return ERROR_CODES[status]
    return "internal" if status >= 500 else "bad_request"


def error_body(
    status: int, message: str, code: str | None = None, details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The error body of a non-2xx answer; `code` defaults to the status's code. `details`
    (fields a specific code documents, never a customer's text) go beside the message."""
    shaped = {"status": status, "code": code or error_code(status), "message": message}
    return {"error": {**(details or {}), **shaped}}


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    details: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """A JSON response carrying `error_body` (for middlewares, routes and handlers)."""
    body = error_body(status, message, code, details)
    return JSONResponse(body, status_code=status, headers=headers)


async def reject(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    message: str,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer a request with `error_response` from an ASGI middleware (the guards' refusals)."""
    await error_response(status, message, code, headers)(scope, receive, send)


class ApiError(Exception):
    """A refusal a handler raises: its status, message and (optionally) a specific code and
    the details that code documents."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.details = details


Refusals = Sequence[tuple[type[Exception], int]]


def answers_errors(refusals: Refusals = ()) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a handler so `ApiError` and the listed domain errors answer in the shape.

    The handler returns the error response (BentoML passes a returned response through)
    instead of raising: BentoML's own exception path replaces a 5xx message by a generic one.

    `refusals` maps domain exception types to statuses, first match wins (list subclasses
    first). The domain error's message is the answer's message; it names ids, never a text.
    Only the status and the exception type are logged, so no request content reaches a log.
    """

    def decorate(handler: Callable[P, R]) -> Callable[P, R]:
        def refused(error: Exception, kwargs: dict[str, Any]) -> Any:
            """The error's answer, or the error raised again when it is no refusal."""
            details = None
            if isinstance(error, ApiError):
                status, message, code = error.status, error.message, error.code
                details = error.details
            elif is_store_outage(error):
                return store_unavailable(handler.__name__, error, kwargs.get("ctx"))
            else:
                status = next((s for kind, s in refusals if isinstance(error, kind)), 0)
                if not status:
                    raise error
                message, code = str(error), None
            logger.info("%s refused with %d (%s)", handler.__name__, status, type(error).__name__)
            if (ctx := kwargs.get("ctx")) is not None:
                # BentoML sets a returned response's status from the context when the handler
                # takes one: the context must carry the refusal's status too.
                ctx.response.status_code = status
            return error_response(status, message, code, details=details)

        if inspect.iscoroutinefunction(handler):

            @functools.wraps(handler)
            async def answer_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                try:
                    return await handler(*args, **kwargs)  # type: ignore[misc]
                except Exception as error:
                    return refused(error, kwargs)

            return answer_async  # type: ignore[return-value]

        @functools.wraps(handler)
        def answer(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return handler(*args, **kwargs)
            except Exception as error:
                return refused(error, kwargs)  # type: ignore[no-any-return]

        return answer

    return decorate


# What a client is told while the store's database is down: the request was not applied
# (an event not acknowledged is not stored), and the same request sent again later is safe.
STORE_UNAVAILABLE = (
    "the store is unavailable right now (its database does not answer); nothing was changed: "
    "send the same request again shortly"
)
STORE_RETRY_AFTER_S = 5


def store_unavailable(where: str, error: BaseException, ctx: Any = None) -> JSONResponse:
    """The 503 of a request the store's database failed (`data.store.is_store_outage`).

    It was a 500 "unexpected error" with a traceback per request. The log line carries the
    driver's first line (host and port, never a password or a statement's parameters)."""
    cause = getattr(error, "orig", None) or error
    first = (str(cause).strip().splitlines() or [type(error).__name__])[0][:300]
    logger.warning("%s: the store is unavailable (%s: %s)", where, type(error).__name__, first)
    ops_metrics.store_unavailable(where)
    if ctx is not None:
        ctx.response.status_code = 503
    return error_response(503, STORE_UNAVAILABLE, headers={"Retry-After": str(STORE_RETRY_AFTER_S)})


def install_store_outage_handler(app: FastAPI) -> None:
    """Answer a store outage in `app`'s routes (the desk, profiles, analytics) with the 503."""

    async def answer(request: Request, error: Exception) -> JSONResponse:
        # The route's template, not the path: a path carries a user's id.
        route = getattr(request.scope.get("route"), "path", "a route")
        if is_store_outage(error):
            return store_unavailable(route, error)
        logger.error("unhandled error answering %s", route, exc_info=error)
        return error_response(500, "internal error: the service logged it")

    app.add_exception_handler(DBAPIError, answer)
    app.add_exception_handler(StoreUnavailableError, answer)


_NOT_JSON = object()  # what `_parsed` gives for a body that is not JSON


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return _NOT_JSON


# pydantic starts the message of an error a validator raised with this; a client reads the
# sentence after it ("correct_label: must not be blank ...").
_VALIDATOR_PREFIX = "Value error, "


def validation_text(message: str) -> str:
    """A pydantic error message as a client reads it: without pydantic's own prefix."""
    return message.removeprefix(_VALIDATOR_PREFIX)


def _message_of(status: int, raw: bytes, data: Any) -> str:
    """The sentence inside one of BentoML's or Starlette's error bodies (`data`: parsed `raw`)."""
    fallback = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if data is _NOT_JSON:
        return raw.decode("utf-8", errors="replace").strip()[:MAX_MESSAGE_CHARS] or fallback
    if isinstance(data, list) and data:  # BentoML's 4xx exception body is a one-item list
        data = data[0]
    if not isinstance(data, dict):
        return fallback
    if isinstance(data.get("detail"), list):  # a pydantic validation error, input hidden
        parts = []
        for problem in data["detail"]:
            location = ".".join(str(p) for p in problem.get("loc", ()))
            text = validation_text(str(problem.get("msg", "")))
            parts.append(f"{location}: {text}" if location else text)
        message = "; ".join(str(p) for p in parts)
    else:
        message = data.get("error") or data.get("detail") or data.get("message") or ""
    return str(message)[:MAX_MESSAGE_CHARS] or fallback


def _is_shaped(data: Any) -> bool:
    inner = data.get("error") if isinstance(data, dict) else None
    return isinstance(inner, dict) and {"status", "code", "message"} <= inner.keys()


class ErrorShapeMiddleware:
    """Rewrite every non-2xx body that is not already in the shape into it.

    Pure ASGI: a 2xx answer streams through untouched; an error answer (small) is buffered,
    rewritten and sent with a fresh content-length.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        answered = False  # a response start has gone to the client

        async def reshape(message: Message) -> None:
            nonlocal start, answered
            if message["type"] == "http.response.start":
                if message["status"] < 400:
                    answered = True
                    await send(message)
                else:
                    start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            answered = True
            await _send_shaped(send, start, b"".join(chunks))

        try:
            await self.app(scope, receive, reshape)
        except Exception:
            # A handler's unexpected error: logged here once, with its traceback. Re-raised, it
            # would be logged again by the server, which then closes the client's keep-alive
            # connection, so the client's next request on it fails as well.
            logger.exception("unhandled error answering %s %s", scope.get("method"), scope["path"])
            if answered:
                return  # the client has its answer (Starlette sends a 500 before re-raising)
            internal = {"type": "http.response.start", "status": 500, "headers": []}
            await _send_shaped(send, internal, b"internal error: the service logged it")


async def _send_shaped(send: Send, start: Message, raw: bytes) -> None:
    status = int(start["status"])
    data = _parsed(raw)
    if not _is_shaped(data):
        raw = json.dumps(error_body(status, _message_of(status, raw, data))).encode()
    headers = [
        (name, value)
        for name, value in start.get("headers", [])
        if name.lower() not in (b"content-length", b"content-type")
    ]
    headers += [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": raw, "more_body": False})
