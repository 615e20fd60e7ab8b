"""The innermost guard: a body reaches BentoML only as UTF-8 JSON, uncompressed, within the
route's size limit, in time, and naming each field once (the reading: serving.body_reading)."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.body_reading import (
    BodyRefusal,
    charset_refusal,
    encoding_refusal,
    read_limited,
    repeated_json_key,
    too_large,
)
from serving.errors import reject
from serving.gateway_settings import body_timeout_s
from serving.settings import body_limit

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_MEDIA_TYPE = "application/json"


async def _refuse(scope: Scope, receive: Receive, send: Send, refusal: BodyRefusal) -> None:
    await reject(scope, receive, send, refusal.status, refusal.message, None, refusal.headers)


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == JSON_MEDIA_TYPE


def _content_coding(headers: Headers) -> str | None:
    """The body's content coding when it is not `identity` (shortened for the message)."""
    codings = [c.strip().lower() for c in ",".join(headers.getlist("content-encoding")).split(",")]
    applied = [c for c in codings if c and c != "identity"]
    return ", ".join(applied)[:40] if applied else None


class BodyGuard:
    """415 for a body that is not UTF-8 JSON; 413 past the route's limit, read no further than
    that; 408 for a body that takes longer than `timeout_s` to arrive (serving.body_reading)."""

    def __init__(self, app: ASGIApp, timeout_s: float | None = None) -> None:
        self.app = app
        self.timeout_s = timeout_s if timeout_s is not None else body_timeout_s()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        headers = Headers(scope=scope)
        limit = body_limit(path)
        declared = headers.get("content-length")
        chunked = "transfer-encoding" in headers
        try:
            length = int(declared) if declared is not None else None
        except ValueError:
            await reject(scope, receive, send, 400, "Content-Length is not a number")
            return
        has_body = chunked or bool(length)
        content_type = headers.get("content-type", "")
        if has_body and not _is_json(content_type):
            await reject(scope, receive, send, 415, f"{path} takes {JSON_MEDIA_TYPE} bodies only")
            return
        if has_body and (refusal := charset_refusal(path, content_type)) is not None:
            await _refuse(scope, receive, send, refusal)
            return
        if has_body and (coding := _content_coding(headers)) is not None:
            # Nothing below decodes a body: a gzip body reached the JSON parser as bytes and
            # came back "Invalid JSON: expected value at line 1 column 1", a deflate header on
            # plain JSON was taken as plain JSON. RFC 7694: 415, naming the coding accepted.
            await reject(
                scope,
                receive,
                send,
                415,
                f"{path} takes uncompressed bodies: send it without Content-Encoding "
                f"(this one is {coding!r})",
                headers={"Accept-Encoding": "identity"},
            )
            return
        if length is not None and length > limit:
            await _refuse(scope, receive, send, too_large(path, limit))
            return
        if not has_body:
            await self.app(scope, receive, send)
            return
        body = await read_limited(receive, path, limit, self.timeout_s)
        if body is None:  # the client went away
            return
        if isinstance(body, BodyRefusal):
            await _refuse(scope, receive, send, body)
            return
        if (refusal := encoding_refusal(path, body)) is not None:
            await _refuse(scope, receive, send, refusal)
            return
        if (duplicate := repeated_json_key(body)) is not None:
            await reject(
                scope,
                receive,
                send,
                400,
                f"the JSON body names the field {duplicate!r} twice in one object: send each "
                "field once",
            )
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the already-read body once, then the client's own messages."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
