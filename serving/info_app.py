"""The plain GET routes beside the service's APIs, on one FastAPI app BentoML mounts at `/`:
`/model_info`, the desk, complaint analytics, user profiles (and their erasure) and the retired
items. They answer
from the running service once its `__init__` hands itself over (`serve_info_from`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from serving.analytics_routes import analytics_router
from serving.catalog_routes import install_catalog_routes
from serving.desk_routes import install_desk_routes
from serving.erasure_routes import install_erasure_route
from serving.errors import install_store_outage_handler
from serving.model_info import STARTING
from serving.profile_routes import install_profile_route
from serving.query_strictness import install_query_strictness
from serving.schemas.model_info import ModelInfo

if TYPE_CHECKING:
    from serving.service import Agora

info_app = FastAPI(title="Agora model info")
_instance: Agora | None = None  # the running service, for the plain GET routes below


def serve_info_from(service: Agora) -> None:
    """From now on the plain GET routes answer from `service` (until then: as starting)."""
    global _instance
    _instance = service


@info_app.exception_handler(RequestValidationError)
async def _bad_query(_request: Request, error: RequestValidationError) -> JSONResponse:
    """A GET route's bad query parameter is a 400 with the parameter named (not FastAPI's 422)."""
    return JSONResponse(status_code=400, content={"detail": _located(error.errors())})


def _located(problems: Any) -> list[dict[str, Any]]:
    # Only where and what: the rejected value is the client's input and is not echoed.
    return [{"loc": p.get("loc", ()), "msg": p.get("msg", "")} for p in problems]


install_desk_routes(info_app, lambda: _instance)
install_store_outage_handler(info_app)
install_query_strictness(info_app)
info_app.include_router(analytics_router(lambda: _instance.analytics if _instance else None))
install_profile_route(info_app, lambda: _instance)
install_erasure_route(info_app, lambda: _instance)
install_catalog_routes(info_app, lambda: _instance)


@info_app.get("/model_info")
def model_info() -> ModelInfo:
    """Which champion versions are served, from where (registry or local cache), and problems.

    Credentials in the tracking URI and in registry errors are masked.
    """
    if _instance is None:
        return STARTING
    return _instance.describe()
