"""The OpenAPI document at `/docs.json`: BentoML's, corrected to say what the service answers.

BentoML's generated document flattens each body schema to its first `anyOf` branch (so an
optional field loses `null`), lists only its own three error bodies, and knows nothing of the
keys. This module keeps BentoML's paths and rewrites, for every route: the request and 200
schemas from the pydantic models themselves (OpenAPI 3.1, so JSON Schema as pydantic writes it),
the error statuses the route can answer with the one error schema (`serving.errors`), and the
key schemes with the open paths marked open.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
from typing import Any

from bentoml import Service
from pydantic import BaseModel, TypeAdapter
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from serving.analytics_routes import AnalyseRequest
from serving.answer_schemas import AnalysisRun, ComplaintSummary, DeskQueuePage
from serving.catalog_routes import RetiredItemsPage
from serving.complaint_summary import RELATIVE_SHAPE, SUMMARY_DIMENSIONS, TIME_SHAPE, ZONE_SHAPE
from serving.erasure_routes import ErasureAnswer
from serving.errors import CODES, error_response
from serving.profile_routes import UserProfile
from serving.schemas.fields import Identifier
from serving.schemas.idempotency import HEADER_KEYED_FIELDS
from serving.schemas.model_info import ModelInfo
from serving.schemas.triage import TRIAGE_KEY_RULE, TriageRequest
from serving.settings import OPEN_PATHS, ROUTE_ROLES, body_limit

logger = logging.getLogger(__name__)

DOCS_PATH = "/docs.json"
REF = "#/components/schemas/{model}"
ERROR_SCHEMA_NAME = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string", "enum": sorted(CODES)},
                "message": {"type": "string"},
                "resolution": {
                    "type": "object",
                    "description": "With code `already_resolved`: the case's latest "
                    "resolution, to send as `replaces` to replace it.",
                    "properties": {
                        "resolution_id": {"type": "string"},
                        "agent": {"type": "string"},
                        "outcome": {"type": "string"},
                        "created_at": {"type": "number"},
                    },
                },
            },
        }
    },
}
ERROR_DESCRIPTIONS = {
    400: "Invalid JSON or a field that fails validation (the message names it).",
    401: "No API key, or an unknown one.",
    403: "The key's role may not call this route.",
    404: "An id the service does not know (the message names it).",
    408: "The body did not arrive within AGORA_BODY_TIMEOUT_S (15 s by default).",
    409: "An id re-sent with different content; on /resolutions also a case already resolved "
    "(the message names who resolved it and when); on /recommend a recency filter the served "
    "model cannot apply (its items carry no publication time).",
    413: "The body is larger than the route's limit.",
    415: "The body is not application/json, is compressed (send it without Content-Encoding), "
    "or is not UTF-8 (a declared charset other than utf-8, or a UTF-16/32 body).",
    500: "A fault of the service (code `internal`); the message holds nothing of the request.",
    503: "No champion loaded for this route, or the worker is at its in-flight limit "
    "(code `overloaded`, with Retry-After).",
    504: "Not answered within the request timeout (60 s by default; code `unavailable`).",
}
# Statuses every keyed route can answer, and those only some routes add. 500 and 504 are rare
# but in the one shape: listed, a generated client parses them as `Error` instead of raising an
# "unexpected status" or handing back nothing.
KEYED_ERRORS = (401, 403, 500, 503, 504)
BODY_ERRORS = (400, 408, 413, 415)
ROUTE_ERRORS: dict[str, tuple[int, ...]] = {
    # A valid recency filter the served model cannot apply: the request is well formed (not a
    # 400), the model's state is what refuses it, and a retrain with publication times ends it.
    "/recommend": (409,),
    "/similar_items": (404,),
    "/triage": (409,),
    "/triage_batch": (),
    "/events": (409,),
    "/corrections": (404, 409),
    "/resolutions": (404, 409),
    "/admin/reload": (),
    "/items/retire": (),
    "/items/restore": (),
    "/items": (),
}
# Routes that read an `Idempotency-Key` header as a body field (serving.schemas.idempotency):
# declared as a header parameter, so a generated client has an argument for it and a gateway
# knows it counts.
HEADER_KEYED_ROUTES: dict[str, str] = {
    "/triage": "idempotency_key",
    "/corrections": "correction_id",
    "/resolutions": "resolution_id",
}
INFRA_ERRORS: dict[str, tuple[int, ...]] = {"/readyz": (503,), "/livez": (503,)}
# Routes of the FastAPI app mounted beside BentoML's (analytics, profiles, the desk): FastAPI
# documents them with its 422, which the service never answers (a bad query or body is a 400).
MOUNTED_ROUTE_ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("get", "/analytics/complaints"): (400,),
    ("get", "/users/{user_id}/profile"): (400, 404),
    ("delete", "/users/{user_id}"): (400,),  # an unknown user is a 200 with zeros
    ("get", "/desk/queue"): (400,),
    ("get", "/items/retired"): (400,),
    ("post", "/admin/analyse"): BODY_ERRORS,
}
# What their query parameters' values look like, for routes that parse them themselves (FastAPI
# sees plain strings): documented here, checked by the route, whose refusal is the 400.
MOUNTED_ROUTE_PARAMETERS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("get", "/analytics/complaints"): {
        "since": {"pattern": f"^({RELATIVE_SHAPE.pattern}|{TIME_SHAPE.pattern})$"},
        "until": {"pattern": f"^({TIME_SHAPE.pattern})$"},
        "by": {"enum": list(SUMMARY_DIMENSIONS)},
        "tz": {"pattern": f"^({ZONE_SHAPE.pattern})$"},
    },
    # The id rule of a body's user_id (the route checks it so): declared as a bare string, a
    # control character in it was a 400 the document allowed.
    ("get", "/users/{user_id}/profile"): {"user_id": TypeAdapter(Identifier).json_schema()},
    ("delete", "/users/{user_id}"): {"user_id": TypeAdapter(Identifier).json_schema()},
    # The desk's window takes the trends' forms (serving.desk_paging reads them alike).
    ("get", "/desk/queue"): {
        "since": {"pattern": f"^({RELATIVE_SHAPE.pattern}|{TIME_SHAPE.pattern})$"},
        "until": {"pattern": f"^({TIME_SHAPE.pattern})$"},
        "tz": {"pattern": f"^({ZONE_SHAPE.pattern})$"},
    },
}
# Their bodies, for routes that read them themselves (FastAPI cannot see the model): optional,
# since an empty body analyses the window ending now.
MOUNTED_ROUTE_BODIES: dict[str, type[BaseModel]] = {"/admin/analyse": AnalyseRequest}
# Their answers' models: FastAPI refers to them by name, and BentoML's document keeps the
# reference but not the schema (a client generator stops at the dangling $ref).
MOUNTED_ROUTE_ANSWERS: dict[tuple[str, str], type[BaseModel]] = {
    ("get", "/users/{user_id}/profile"): UserProfile,
    ("delete", "/users/{user_id}"): ErasureAnswer,
    ("get", "/items/retired"): RetiredItemsPage,
    # These three build dicts; the models say what is in them (serving.answer_schemas).
    ("get", "/desk/queue"): DeskQueuePage,
    ("get", "/analytics/complaints"): ComplaintSummary,
    ("post", "/admin/analyse"): AnalysisRun,
}
# Their operation ids, in BentoML's style for its own routes (`agora__recommend`): FastAPI's
# (`desk_queue_desk_queue_get`, `user_profile_users__user_id__profile_get`) became the names of
# the functions a client generator writes, under a tag of their own ("default").
MOUNTED_OPERATION_IDS: dict[tuple[str, str], str] = {
    ("get", "/desk/queue"): "desk_queue",
    ("get", "/analytics/complaints"): "complaints_analytics",
    ("post", "/admin/analyse"): "analyse",
    ("get", "/users/{user_id}/profile"): "user_profile",
    ("delete", "/users/{user_id}"): "erase_user",
    ("get", "/items/retired"): "retired_items",
    ("get", "/model_info"): "model_info",
}
SERVICE_TAG = "Service APIs"  # the tag BentoML gives its own routes
DESCRIPTION = """\
Feeds (recommendations, similar items, published and retired items), feedback triage and the
support desk's queue, corrections and resolutions.

Every route but the health checks, `/metrics` and these docs needs a key of the route's role,
sent as `X-API-Key` or `Authorization: Bearer`. Request bodies are flat JSON objects
(`Content-Type: application/json`, uncompressed). Every answer that is not a 2xx has the
`Error` shape; branch on its `code`, the message is for people. Every answer carries
`X-BentoML-Request-ID`, the id the service's log lines give the request: quote it in tickets."""


def _service_version() -> str:
    try:
        return importlib.metadata.version("agora")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree not installed
        return "unknown"


def _error_responses(statuses: tuple[int, ...]) -> dict[str, Any]:
    ref = {"$ref": REF.format(model=ERROR_SCHEMA_NAME)}
    return {
        str(status): {
            "description": ERROR_DESCRIPTIONS.get(status, "Error"),
            "content": {"application/json": {"schema": ref}},
        }
        for status in sorted(statuses)
    }


# Headers the answers carry, declared so a generated client exposes them (they were in the
# description's prose only): status (None: every answer) -> header -> its declaration.
RESPONSE_HEADERS: dict[str | None, dict[str, dict[str, Any]]] = {
    None: {
        "X-BentoML-Request-ID": {
            "description": "The id of the service's log lines for this request: quote it in "
            "a support ticket.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    "401": {
        "WWW-Authenticate": {
            "description": "`Bearer`: send a key as X-API-Key or Authorization: Bearer.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    "503": {
        "Retry-After": {
            "description": "Seconds to wait before sending the same request again (an "
            "overloaded worker, the store unavailable).",
            "required": False,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}


def _declare_headers(operation: dict[str, Any]) -> None:
    for status, response in operation.get("responses", {}).items():
        headers = response.setdefault("headers", {})
        headers.update(RESPONSE_HEADERS[None])
        headers.update(RESPONSE_HEADERS.get(status, {}))


def _idempotency_header(field: str) -> dict[str, Any]:
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": f"The body's `{field}`, sent as a header (a retry with the same key "
        "is answered as the first request; other content under it is a 409). Read only when "
        f"the body has no `{field}`.",
        "schema": HEADER_KEYED_FIELDS[field].json_schema(),
    }


def _name_the_roles(path: str, operation: dict[str, Any]) -> None:
    """Say in `operation` which key roles it takes: the document said only that a key was
    needed, so a client holding several keys learnt which one a route takes from its 403."""
    roles = sorted(ROUTE_ROLES[path])
    named = ", ".join(f"`{role}`" for role in roles)
    # Docstrings reach BentoML's document with their indentation; a client's docs show it.
    text = inspect.cleandoc(operation.get("description") or "")
    operation["description"] = f"{text}\n\nKey roles: {named}.".lstrip()
    operation["x-agora-roles"] = roles
    if "403" in operation.get("responses", {}):
        operation["responses"]["403"]["description"] = (
            f"The key's role may not call this route (it takes {named} keys)."
        )


def _model_name(model: type[BaseModel]) -> str:
    return model.__name__.removesuffix("IODescriptor")


def _component(schemas: dict[str, Any], model: type[BaseModel], mode: str) -> dict[str, str]:
    """Add `model`'s JSON schema (and its nested models) to `schemas`; return its reference."""
    schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    schemas.update(schema.pop("$defs", {}))
    name = _model_name(model)
    schema["title"] = name
    schemas[name] = schema
    return {"$ref": REF.format(model=name)}


def build_openapi(service: Service) -> dict[str, Any]:  # type: ignore[type-arg]
    """The corrected OpenAPI 3.1 document of `service`."""
    spec: dict[str, Any] = service.openapi_spec.asdict()
    spec["openapi"] = "3.1.0"
    # BentoML's info says version "None" and describes BentoML (its Slack, its docs).
    spec["info"] = {"title": "Agora", "version": _service_version(), "description": DESCRIPTION}
    schemas: dict[str, Any] = {ERROR_SCHEMA_NAME: ERROR_SCHEMA}
    paths: dict[str, Any] = spec["paths"]
    for api in service.apis.values():
        operation = paths[api.route]["post"]
        limit = body_limit(api.route)
        operation["requestBody"] = {
            "required": api.route != "/admin/reload",  # reload takes an empty body too
            "description": f"A flat JSON object of at most {limit:,} bytes.",
            "content": {
                "application/json": {"schema": _component(schemas, api.input_spec, "validation")}
            },
        }
        if (field := HEADER_KEYED_ROUTES.get(api.route)) is not None:
            operation["parameters"] = [_idempotency_header(field)]
        statuses = KEYED_ERRORS + BODY_ERRORS + ROUTE_ERRORS.get(api.route, ())
        operation["responses"] = {
            "200": {
                "description": "Successful Response",
                "content": {
                    "application/json": {
                        "schema": _component(schemas, api.output_spec, "serialization")
                    }
                },
            },
            **_error_responses(statuses),
        }
    info = paths["/model_info"]["get"]
    info["responses"] = {
        "200": {
            "description": "Successful Response",
            "content": {
                "application/json": {"schema": _component(schemas, ModelInfo, "serialization")}
            },
        },
        **_error_responses(KEYED_ERRORS),
    }
    for (method, path), name in MOUNTED_OPERATION_IDS.items():
        if (operation := paths.get(path, {}).get(method)) is not None:
            operation["operationId"] = f"{service.name}__{name}"
            operation["tags"] = [SERVICE_TAG]
    for (method, path), statuses in MOUNTED_ROUTE_ERRORS.items():
        operation = paths.get(path, {}).get(method)
        if operation is None:
            continue
        responses = operation.setdefault("responses", {})
        responses.pop("422", None)
        responses.update(_error_responses(KEYED_ERRORS + statuses))
        if (answer := MOUNTED_ROUTE_ANSWERS.get((method, path))) is not None:
            responses["200"] = {
                "description": "Successful Response",
                "content": {
                    "application/json": {"schema": _component(schemas, answer, "serialization")}
                },
            }
        formats = MOUNTED_ROUTE_PARAMETERS.get((method, path), {})
        for parameter in operation.get("parameters", []):
            parameter.setdefault("schema", {}).update(formats.get(parameter["name"], {}))
        if (body := MOUNTED_ROUTE_BODIES.get(path)) is not None:
            operation["requestBody"] = {
                "required": False,
                "description": f"A JSON object of at most {body_limit(path):,} bytes.",
                "content": {
                    "application/json": {"schema": _component(schemas, body, "validation")}
                },
            }
    if TriageRequest.__name__ in schemas:
        schemas[TriageRequest.__name__].update(TRIAGE_KEY_RULE)
    for path, statuses in INFRA_ERRORS.items():
        if path in paths:
            paths[path]["get"]["responses"].update(_error_responses(statuses))
    for path, item in paths.items():
        for operation in item.values():
            if isinstance(operation, dict):
                _declare_headers(operation)
                if path in ROUTE_ROLES:
                    _name_the_roles(path, operation)
        if path in OPEN_PATHS:
            for operation in item.values():
                if isinstance(operation, dict):
                    operation["security"] = []  # open: no key needed
    spec["components"] = {
        "schemas": schemas,
        "securitySchemes": {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "Bearer": {"type": "http", "scheme": "bearer"},
        },
    }
    spec["security"] = [{"ApiKey": []}, {"Bearer": []}]
    return spec


class OpenApiDocs:
    """Answer `GET /docs.json` with `build_openapi`'s document; every other request passes
    through. The document is built once per worker and never changes while it runs: clients
    generate code from it once."""

    def __init__(self, app: ASGIApp, service: Service) -> None:  # type: ignore[type-arg]
        self.app = app
        self.service = service
        self._spec: dict[str, Any] | None = None

    def _document(self) -> dict[str, Any]:
        if self._spec is None:
            self._spec = build_openapi(self.service)
        return self._spec

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == DOCS_PATH and scope["method"] == "GET":
            try:
                response = JSONResponse(self._document())
            except Exception:
                logger.exception("the OpenAPI document could not be built")
                response = error_response(500, "the OpenAPI document could not be built")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
